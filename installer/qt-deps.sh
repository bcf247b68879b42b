#!/usr/bin/env bash
# `make run`'s first step on Debian/Ubuntu: install the system libraries Qt needs (the
# offscreen set, plus the xcb set for a real X display), the same list the console prints
# when it cannot open a window (app/bootstrap.py). As root it installs them; otherwise it
# asks before using sudo; without a terminal or sudo it prints the apt-get line and lets the
# console start (which says the same if it cannot open a window).
#
# Usage: installer/qt-deps.sh PYTHON     (FIELDACS_DEPS_DRY_RUN=1: say, do not install)
set -uo pipefail
py=${1:-python3}
command -v dpkg-query >/dev/null 2>&1 || exit 0     # not Debian/Ubuntu: nothing to do
[ "$(uname -s)" = Linux ] || exit 0

if ! pkgs=$("$py" -c 'from app.bootstrap import DEBIAN_QT_PACKAGES as a, DEBIAN_X11_PACKAGES as b; print(*a, *b)'); then
  echo "qt-deps: could not read the package list from app/bootstrap.py" >&2
  exit 0
fi
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y ${missing[*]}"
echo "FieldACS needs these system libraries for Qt: ${missing[*]}"
if [ -n "${FIELDACS_DEPS_DRY_RUN:-}" ]; then
  echo "qt-deps: would run: $line"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" && exit 0
elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
  read -r -p "Install them now with sudo apt-get? [Y/n] " answer
  case "${answer:-y}" in
    [Yy]*) sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}" && exit 0 ;;
  esac
fi
echo "Not installed. To install them yourself:"
echo "  sudo $line"
exit 0
