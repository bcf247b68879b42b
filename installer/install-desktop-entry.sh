#!/bin/sh
# Add FieldACS to this user's application menu (no root needed), or take it out again:
#   ./install-desktop-entry.sh             install the menu entry and icons for this folder
#   ./install-desktop-entry.sh --uninstall remove them
# The menu entry points at the fieldacs program beside this script; run it again after
# moving the folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
apps=$data/applications
icons=$data/icons/hicolor

if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$apps/fieldacs.desktop"
  for f in "$icons"/*/apps/fieldacs.png "$icons"/scalable/apps/fieldacs.svg; do rm -f "$f"; done
  echo "FieldACS menu entry removed (your devices database is kept)."
  exit 0
fi

mkdir -p "$apps"
for png in "$here"/icons/fieldacs-*.png; do
  size=${png##*/fieldacs-}; size=${size%.png}
  mkdir -p "$icons/${size}x${size}/apps"
  cp "$png" "$icons/${size}x${size}/apps/fieldacs.png"
done
mkdir -p "$icons/scalable/apps"
cp "$here/icons/fieldacs.svg" "$icons/scalable/apps/fieldacs.svg"
sed -e "s|^Exec=.*|Exec=\"$here/fieldacs\"|" -e "s|^TryExec=.*|TryExec=$here/fieldacs|" \
  "$here/fieldacs.desktop" > "$apps/fieldacs.desktop"
chmod 644 "$apps/fieldacs.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$icons" || true
echo "FieldACS added to the application menu ($apps/fieldacs.desktop)."
