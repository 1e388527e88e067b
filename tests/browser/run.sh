#!/usr/bin/env bash
# Runs the browser tests: the demo app (official 100ms web SDK) in headless
# Chromium against a fresh `caucus serve`, all inside a loopback-only network
# namespace.
#
#   tests/browser/run.sh [SERVER_BINARY] [TEST_FILE…]
#
# Installs npm packages with `npm ci` from the committed lockfile (outside the
# namespace: the registry is unreachable inside it), checks the committed
# bundle at api/assets/demo/ is built from the current sources, then runs
# `node --test` one file at a time inside `unshare -n`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$here/../../target}/debug/caucus}
shift || true
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
node build.mjs --check
export CAUCUS_BIN=$(realpath "$bin")
export CAUCUS_SDK_PEER=${CAUCUS_SDK_PEER:-$(dirname "$CAUCUS_BIN")/sdk_peer}
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(test/*.test.mjs)
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -E "$@"; fi; }
# Loopback only: the browser cannot reach anything but 127.0.0.1.
as_root unshare -n bash -c 'ip link set lo up && exec "$@"' ns \
  node --test --test-concurrency=1 "${files[@]}"
