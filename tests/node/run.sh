#!/usr/bin/env bash
# Runs the official 100ms Node server SDK suite (sdk.test.mjs) against a fresh
# server on a free loopback port, with a fresh data directory.
#
#   tests/node/run.sh [SERVER_BINARY]
#
# SERVER_BINARY is started as `SERVER_BINARY serve --data DIR --http ADDR`
# (default: $CARGO_TARGET_DIR/debug/caucus). Installs the SDK with `npm ci`
# from the committed lockfile.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$here/../../target}/debug/caucus}
cd "$here"
npm ci --no-audit --no-fund --loglevel=error

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
export CAUCUS_ACCESS_KEY="node-sdk-$(date +%s)"
export CAUCUS_SECRET="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export CAUCUS_URL="http://127.0.0.1:$port"
"$bin" serve --data "$data" --http "127.0.0.1:$port" >"$data/server.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fsS "$CAUCUS_URL/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$data/server.log"; echo "server exited" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$CAUCUS_URL/readyz" >/dev/null || { cat "$data/server.log"; echo "server not ready" >&2; exit 1; }
node --test
