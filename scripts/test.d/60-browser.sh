#!/usr/bin/env bash
# The official 100ms web SDK, unchanged, in headless Chromium against the
# built binary (tests/browser: npm ci from the committed lockfile, a check
# that the bundle embedded at /demo is built from the current sources, then
# node --test inside a loopback-only network namespace).
set -euo pipefail
cd "${ROOT:?}"
# Node.js and npm: scripts/setup.d/10-node.sh.
bin=${CAUCUS_BIN:?}
# The Rust SDK peer the mixed test runs (built by `cargo build --all-targets`).
[[ -x "$(dirname "$bin")/sdk_peer" ]] || cargo build --locked -p caucus-tests --bin sdk_peer
tests/browser/run.sh "$bin"
