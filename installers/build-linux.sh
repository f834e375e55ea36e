#!/usr/bin/env bash
# Builds the Linux bundle: dist/AudienceStudio-<version>-linux-<arch>.tar.gz, holding the frozen app
# (PyInstaller, one folder), the .desktop entry, AppStream metadata, the icons and install.sh.
# Usage: installers/build-linux.sh            (sets up .venv with the 'installers' extra first)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup
.venv/bin/python -m pip install --quiet -e '.[installers]'

version=$(.venv/bin/python -c 'import app; print(app.__version__)')
arch=$(uname -m)
name="AudienceStudio-$version-linux-$arch"
work=build/installers
out="$work/$name"
rm -rf "$out" "$work/pyinstaller" "$work/dist"
mkdir -p dist "$work"

.venv/bin/pyside6-rcc --binary resources/audience_studio.qrc -o resources/audience_studio.rcc
.venv/bin/pyinstaller --noconfirm --log-level WARN --distpath "$work/dist" --workpath "$work/pyinstaller" \
    installers/audience-studio.spec

mkdir -p "$out/share/applications" "$out/share/metainfo"
mv "$work/dist/AudienceStudio" "$out/AudienceStudio"
cp installers/linux/audience-studio.desktop "$out/share/applications/"
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$(date -u +%Y-%m-%d)/" \
    installers/linux/io.audiencestudio.AudienceStudio.metainfo.xml \
    > "$out/share/metainfo/io.audiencestudio.AudienceStudio.metainfo.xml"
for size in 16 24 32 48 64 128 256 512; do
    mkdir -p "$out/share/icons/hicolor/${size}x${size}/apps"
    cp "resources/icons/audience-studio-$size.png" "$out/share/icons/hicolor/${size}x${size}/apps/audience-studio.png"
done
mkdir -p "$out/share/icons/hicolor/scalable/apps"
cp resources/icons/audience-studio.svg "$out/share/icons/hicolor/scalable/apps/audience-studio.svg"
cp installers/linux/install.sh "$out/install.sh"

tar -C "$work" -czf "dist/$name.tar.gz" "$name"
echo "Built dist/$name.tar.gz: $(du -sh "dist/$name.tar.gz" | cut -f1) packed, $(du -sh "$out" | cut -f1) unpacked"
echo "Unpacked bundle: $out"
