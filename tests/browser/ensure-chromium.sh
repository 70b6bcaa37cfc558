#!/bin/sh
# Browser tests drive Debian's Chromium (never a downloaded browser). Installs it with apt when
# /usr/bin/chromium is missing, with a colour emoji font so hug icons render in screenshots.
set -eu
need=""
[ -x /usr/bin/chromium ] || need="chromium"
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need="$need fonts-noto-color-emoji"
need="${need# }"
[ -z "$need" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing $need with apt-get (for the browser tests)"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
$sudo apt-get install -y --no-install-recommends $need >/dev/null \
  || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends $need >/dev/null; }
