#!/usr/bin/env bash
# Headless Chromium for the site's browser test (tests/test_docs_site.py): Debian's chromium package, installed when
# missing (as root, with apt-get). Exits 0 when chromium is on PATH afterwards; `make test` runs it before the tests.
set -euo pipefail
command -v chromium >/dev/null && exit 0
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
  || { echo "ensure_chromium.sh: chromium is not installed and this is not a root Debian machine: install your distribution's chromium" >&2; exit 1; }
log=$(mktemp -t chromium-apt.XXXXXX.log)
echo "installing Debian's chromium for the site's browser test (about a minute)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >"$log" 2>&1 \
  || { apt-get update -q >>"$log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >>"$log" 2>&1; } \
  || { tail -20 "$log" >&2; echo "ensure_chromium.sh: apt-get install chromium failed (log: $log)" >&2; exit 1; }
command -v chromium >/dev/null
