#!/usr/bin/env bash
# The installers' smoke test: builds the Linux bundle, then runs the FROZEN app headless (offscreen Qt):
# builds a small demo workspace with the bundle's command line, opens it in the bundle's desktop app,
# computes one estimate in the builder and checks it exits 0. Also checks that no test code was bundled.
# Usage: installers/smoke_test.sh [--no-build]   (--no-build: test the bundle built last time)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-build" ]; then
    installers/build-linux.sh
fi
bundle=$(ls -d build/installers/AudienceStudio-*-linux-*/AudienceStudio | head -n 1)
[ -x "$bundle/audience-studio" ] || { echo "No bundle under build/installers; run without --no-build." >&2; exit 1; }

# Test code must stay out: no test packages among the bundled modules or files.
found=$(.venv/bin/python installers/bundle_contents.py "$bundle" --tests)
if [ -n "$found" ]; then
    echo "The bundle holds test code:" >&2
    echo "$found" >&2
    exit 1
fi

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export QT_QPA_PLATFORM=offscreen
"$bundle/audience-studio" --home "$home" demo --profiles 2000 --days 14
# The self-test passes on its count alone; a traceback on the way (a module the bundle left out, say
# the one pyqtgraph needs to draw the estimate's chart) fails the smoke test too.
"$bundle/audience-studio" --home "$home" --self-test 2>&1 | tee "$home/self-test.log"
if grep -q "Traceback" "$home/self-test.log"; then
    echo "The frozen app printed a traceback during its self-test (above)." >&2
    exit 1
fi
echo "Smoke test passed: $bundle ($(du -sh "$bundle" | cut -f1))"
