"""What a frozen bundle holds: its size by part, and any test code in it (for installers/smoke_test.sh
and the size table in docs/installers.md).

    .venv/bin/python installers/bundle_contents.py BUNDLE_DIR [--tests]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PyInstaller.archive.readers import CArchiveReader, ZlibArchiveReader


#: Test suites ("tests"/"test" packages and folders) and test tools; "testing" helpers are library code.
TEST_PARTS = frozenset({"tests", "test", "pytest", "_pytest", "pytestqt", "hypothesis", "schemathesis"})


def _is_test(name: str) -> bool:
    parts = name.replace("\\", "/").replace(".", "/").split("/")
    return any(part in TEST_PARTS for part in parts)


def modules(bundle: Path) -> list[str]:
    """The Python modules frozen into the bundle's archive."""
    executable = bundle / "audience-studio"
    archive = CArchiveReader(str(executable))
    names: list[str] = []
    for name in archive.toc:
        if name.endswith("PYZ.pyz") or name == "PYZ-00.pyz" or name.startswith("PYZ"):
            pyz = ZlibArchiveReader(str(bundle / "_internal" / name)) if (bundle / "_internal" / name).exists() else None
            if pyz is not None:
                names.extend(pyz.toc)
    if not names:  # PyInstaller 6 keeps the PYZ inside the executable
        for name in archive.toc:
            if "PYZ" in name:
                pyz = archive.open_embedded_archive(name)
                names.extend(pyz.toc)
    return names


def test_code(bundle: Path) -> list[str]:
    found = [f"module {name}" for name in modules(bundle) if _is_test(name)]
    internal = bundle / "_internal"
    found += [f"file {path.relative_to(bundle)}" for path in internal.rglob("*")
              if _is_test(str(path.relative_to(internal).parent)) and path.is_file()]
    return found


def sizes(bundle: Path) -> list[tuple[str, int]]:
    internal = bundle / "_internal"
    parts: dict[str, int] = {}
    for path in internal.rglob("*"):
        if path.is_file() and not path.is_symlink():  # a symlinked library is stored once
            top = path.relative_to(internal).parts[0]
            parts[top] = parts.get(top, 0) + path.stat().st_size
    return sorted(parts.items(), key=lambda item: -item[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--tests", action="store_true", help="list test code found in the bundle (nothing when clean)")
    args = parser.parse_args()
    if args.tests:
        for line in test_code(args.bundle):
            print(line)
        return 0
    total = sum(p.stat().st_size for p in args.bundle.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"total {total / 1e6:,.0f} MB")
    for name, size in sizes(args.bundle)[:15]:
        print(f"{size / 1e6:8.1f} MB  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
