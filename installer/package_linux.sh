#!/usr/bin/env bash
# After PyInstaller built dist/FieldACS/: add the Linux desktop integration and make the
# tarball dist/FieldACS-<version>-linux-<arch>.tar.gz (one folder, FieldACS/, inside).
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=dist/FieldACS
test -x "$bundle/fieldacs" && test -x "$bundle/fieldacs-engine" || {
  echo "package_linux.sh: $bundle is not built (run make dist)" >&2; exit 1; }

version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' acs_engine/__init__.py)
arch=$(uname -m)

install -m 644 installer/fieldacs.desktop "$bundle/fieldacs.desktop"
install -m 755 installer/install-desktop-entry.sh "$bundle/install-desktop-entry.sh"
install -m 644 installer/README-linux.txt "$bundle/README.txt"
mkdir -p "$bundle/icons"
install -m 644 installer/icons/fieldacs-*.png installer/icons/fieldacs.svg "$bundle/icons/"

tarball=dist/FieldACS-$version-linux-$arch.tar.gz
rm -f "$tarball"
tar -C dist --owner=0 --group=0 -cf - FieldACS | gzip -6 > "$tarball"
echo "bundle:  $bundle ($(du -sh "$bundle" | cut -f1))"
echo "tarball: $tarball ($(du -h "$tarball" | cut -f1))"
