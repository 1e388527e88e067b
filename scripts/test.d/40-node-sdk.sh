#!/usr/bin/env bash
# The official 100ms Node server SDK, unchanged, against the built binary
# (tests/node: npm ci from the committed lockfile, then node --test).
set -euo pipefail
cd "${ROOT:?}"
# Node.js and npm: scripts/setup.d/10-node.sh.
tests/node/run.sh "${CAUCUS_BIN:?}"
