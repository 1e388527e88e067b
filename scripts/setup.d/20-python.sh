#!/usr/bin/env bash
# Python for the webhook tests: a venv with the Standard Webhooks reference
# library, which verifies Caucus's signatures in a receiver on 127.0.0.1.
# Prints CAUCUS_PYTHON=<venv>/bin/python on stdout (scripts/test exports it);
# everything else goes to stderr.
set -euo pipefail
venv="${CAUCUS_VENV:-$HOME/.cache/caucus/venv}"
# Pinned: the version the webhook tests were written against.
packages=("standardwebhooks==1.1.0")

if ! command -v python3 >/dev/null 2>&1; then
  echo "installing python3" >&2
  as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3 python3-venv >&2
fi
if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv" >&2
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" >&2
"$venv/bin/python" -c 'import standardwebhooks' >&2
echo "CAUCUS_PYTHON=$venv/bin/python"
