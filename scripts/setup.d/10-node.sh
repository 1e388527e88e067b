#!/usr/bin/env bash
# Node.js and npm for the suites that drive the built binary from Node
# (tests/node: the 100ms server SDK; tests/browser: the web SDK in Chromium):
# Debian's packages, installed when either command is missing. Prints nothing
# on stdout (scripts/test would export KEY=VALUE lines); progress goes to stderr.
set -euo pipefail
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing nodejs and npm" >&2
  as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >&2
fi
node --version >&2
