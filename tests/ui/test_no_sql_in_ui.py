"""The UI runs no query itself (issue 19): it calls engines through the task runner. import-linter cannot see
a cursor handed in through an OpenHome, so the source is read."""

from __future__ import annotations

import re
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "app" / "ui"


def test_no_module_of_the_ui_opens_a_cursor_or_executes_sql() -> None:
    found = [f"{path.relative_to(UI)}:{number}: {line.strip()}"
             for path in sorted(UI.rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r"\.cursor\(\)|\.execute\(", line)]
    assert found == []
