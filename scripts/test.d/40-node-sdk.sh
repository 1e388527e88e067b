#!/usr/bin/env bash
# The official 100ms Node server SDK, unchanged, against the built binary
# (tests/node: npm ci from the committed lockfile, then node --test).
set -euo pipefail
cd "${ROOT:?}"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing nodejs and npm"
  as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null
fi
tests/node/run.sh "${CAUCUS_BIN:?}"
