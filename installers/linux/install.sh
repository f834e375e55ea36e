#!/usr/bin/env sh
# Installs Audience Studio from this unpacked tarball for the current user (no root needed):
# the program to ~/.local/lib/audience-studio, commands to ~/.local/bin, and the menu entry,
# icons and AppStream metadata to ~/.local/share. Run it again to update; --uninstall removes it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix="${PREFIX:-$HOME/.local}"
lib="$prefix/lib/audience-studio"
if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$lib" "$prefix/bin/audience-studio" "$prefix/bin/audience-studio-desktop" \
        "$prefix/share/applications/audience-studio.desktop" \
        "$prefix/share/metainfo/io.audiencestudio.AudienceStudio.metainfo.xml"
    find "$prefix/share/icons/hicolor" -name 'audience-studio.png' -delete 2>/dev/null || true
    echo "Audience Studio removed (your homes, data and logs are kept)."
    exit 0
fi
rm -rf "$lib"
mkdir -p "$lib" "$prefix/bin" "$prefix/share/applications" "$prefix/share/metainfo"
cp -R "$here/AudienceStudio/." "$lib/"
ln -sf "$lib/audience-studio" "$prefix/bin/audience-studio"
ln -sf "$lib/Audience Studio" "$prefix/bin/audience-studio-desktop"
cp "$here/share/applications/audience-studio.desktop" "$prefix/share/applications/"
cp "$here/share/metainfo/io.audiencestudio.AudienceStudio.metainfo.xml" "$prefix/share/metainfo/"
cp -R "$here/share/icons" "$prefix/share/"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$prefix/share/applications" || true
echo "Audience Studio installed: start it from the applications menu, or run audience-studio-desktop."
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "Add $prefix/bin to your PATH for the audience-studio command." ;; esac
