#!/usr/bin/env bash
# A CJK font for headless Chromium (`make test` and scripts/screenshots.py): without one, every Chinese
# character on a page is drawn as an empty box ("tofu"). Debian's fonts-wqy-zenhei (one 16 MB file covering
# simplified and traditional Chinese) is installed with apt-get when we are root (fonts-noto-cjk, larger, serves
# as well); otherwise the run fails saying so. Never a silent skip: the Chinese pages are checked for tofu.
set -uo pipefail

fail() { echo "CJK font: $*" >&2; exit 2; }

has_cjk_font() { [ -n "$(fc-list :lang=zh-cn family 2>/dev/null)" ]; }

command -v fc-list >/dev/null 2>&1 || fail "fontconfig (fc-list) is missing: apt-get install fontconfig, then rerun."
if ! has_cjk_font; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's fonts-wqy-zenhei so Chromium draws Chinese characters..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null) \
      || fail "could not install fonts-wqy-zenhei with apt-get; install it (or fonts-noto-cjk) and rerun."
    fc-cache -f >/dev/null 2>&1 || true
  else
    fail "no font covers Chinese: run 'sudo apt-get install fonts-wqy-zenhei' (or fonts-noto-cjk) and rerun."
  fi
fi
has_cjk_font || fail "a CJK font was installed but fontconfig does not list it for Chinese (fc-list :lang=zh-cn)."
