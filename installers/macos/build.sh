#!/usr/bin/env bash
# Builds the macOS app and disk image: dist/AudienceStudio-<version>-macos-<arch>.dmg holding
# "Audience Studio.app". Cannot run on Linux (PyInstaller freezes for the OS it runs on). On macOS 11+
# with Python 3.11+ (python.org installer or Homebrew):
#
#   installers/macos/build.sh
#
# Signing and notarisation need the team's Apple Developer ID; with it set as CODESIGN_IDENTITY,
# the app is signed before the image is made (notarise the .dmg with `xcrun notarytool submit`).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[installers]'
version=$(.venv/bin/python -c 'import app; print(app.__version__)')
arch=$(uname -m)

.venv/bin/pyside6-rcc --binary resources/audience_studio.qrc -o resources/audience_studio.rcc
.venv/bin/pyinstaller --noconfirm --log-level WARN --distpath build/installers/dist \
    --workpath build/installers/pyinstaller installers/audience-studio.spec
app="build/installers/dist/Audience Studio.app"
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --deep --force --options runtime --sign "$CODESIGN_IDENTITY" "$app"
fi
mkdir -p dist
hdiutil create -volname "Audience Studio" -srcfolder "$app" -ov -format UDZO \
    "dist/AudienceStudio-$version-macos-$arch.dmg"
echo "Built dist/AudienceStudio-$version-macos-$arch.dmg"

# The same smoke test as on Linux, on the frozen app:
home=$(mktemp -d)
QT_QPA_PLATFORM=offscreen "$app/Contents/MacOS/audience-studio" --home "$home" demo --profiles 2000 --days 14
QT_QPA_PLATFORM=offscreen "$app/Contents/MacOS/audience-studio" --home "$home" --self-test
