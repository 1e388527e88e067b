#!/usr/bin/env bash
# Fuzzes the API from its own OpenAPI document with schemathesis (PyPI): no
# 5xx, every response matches the document, on a fresh server.
#
#   tests/schemathesis/run.sh [SERVER_BINARY]
#
# SERVER_BINARY is started as `SERVER_BINARY serve --data DIR --http ADDR`
# (default: $CARGO_TARGET_DIR/debug/caucus) with CAUCUS_ACCESS_KEY/CAUCUS_SECRET
# set, and mint.py signs a management token with them. schemathesis is
# installed (pinned, requirements.txt) into a venv: $CAUCUS_FUZZ_VENV, default
# ~/.cache/caucus/venv-schemathesis.
# Its scratch files stay in the temporary data directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$root/target}/debug/caucus}
venv=${CAUCUS_FUZZ_VENV:-$HOME/.cache/caucus/venv-schemathesis}
[[ -x "$venv/bin/python" ]] || { mkdir -p "$(dirname "$venv")"; python3 -m venv "$venv"; }
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
export CAUCUS_ACCESS_KEY="fuzz-$(date +%s)"
export CAUCUS_SECRET="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
url="http://127.0.0.1:$port"
"$bin" serve --data "$data" --http "127.0.0.1:$port" >"$data/server.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$data/server.log"; echo "server exited" >&2; exit 1; }
  sleep 0.1
done
token=$(python3 "$here/mint.py" "$CAUCUS_ACCESS_KEY" "$CAUCUS_SECRET")
cd "$data"
"$venv/bin/schemathesis" run "$url/v2/openapi.json" \
  --url "$url" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "${CAUCUS_FUZZ_EXAMPLES:-50}" \
  --seed 1 \
  --generation-database none \
  --no-color
