#!/usr/bin/env bash
# schemathesis (PyPI, pinned in tests/schemathesis/requirements.txt) fuzzes the
# built binary from its own /v2/openapi.json: no 5xx, responses match the document.
set -euo pipefail
cd "${ROOT:?}"
tests/schemathesis/run.sh "${CAUCUS_BIN:?}"
