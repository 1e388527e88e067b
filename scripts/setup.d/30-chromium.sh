#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests/browser): Debian's `chromium`
# package, installed when /usr/bin/chromium is missing. Never a browser
# download through npm/playwright. Prints CAUCUS_CHROMIUM=/usr/bin/chromium on
# stdout (scripts/test exports it); everything else goes to stderr.
set -euo pipefail
if [[ ! -x /usr/bin/chromium ]]; then
  echo "installing chromium" >&2
  as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >&2
fi
/usr/bin/chromium --version >&2 2>/dev/null || true
command -v unshare >/dev/null || { echo "unshare (util-linux) is required" >&2; exit 1; }
echo "CAUCUS_CHROMIUM=/usr/bin/chromium"
