"""The Breakdown tab on a real home: the engine's rows shown for an attribute and a device field, CSV export
in a worker, and an empty audience's refusal as a sentence."""

from __future__ import annotations

import csv

from PySide6.QtGui import QImage

from app.engines.insights.breakdown import breakdown
from app.engines.insights.subjects import subject
from tests.ui.insights.conftest import TIMEOUT_MS, engine_home


def test_rows_for_an_attribute_and_a_device_field_and_csv(qtbot, connection, open_insights, tmp_path):
    tab = open_insights("Active").breakdown
    qtbot.waitUntil(lambda: tab.result is not None, timeout=TIMEOUT_MS)  # the first attribute, once offered
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS) as said:
        tab.choose("attribute", "tier")
    home = engine_home(connection)
    expected = breakdown(home, subject(home, "Active"), "attribute:tier")
    assert said.args[0] == expected
    shown = [[tab.table.item(r, c).text() for c in range(5)] for r in range(tab.table.rowCount())]
    assert shown == [[r.value, f"{r.audience:,}", f"{100 * r.audience_share:.1f} %", f"{100 * r.workspace_share:.1f} %",
                      "–" if r.index is None else f"{r.index:.0f}"] for r in expected.rows]
    target = tmp_path / "tiers.csv"
    with qtbot.waitSignal(tab.export_finished, timeout=TIMEOUT_MS) as done:
        tab.export_to(target)
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert done.args == [f"Wrote {len(expected.rows)} values to tiers.csv"]
    assert [(r["value"], int(r["members"])) for r in rows] == [(r.value, r.audience) for r in expected.rows]
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS) as said:
        tab.choose("device", "os_version")
    assert said.args[0] == breakdown(home, subject(home, "Active"), "device:os_version")
    assert not tab.field.isHidden()
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS):
        tab.choose("os")
    assert tab.field.isHidden() and tab.table.rowCount() > 0


def test_an_audience_with_no_members_says_so(qtbot, open_insights):
    tab = open_insights("Nobody").breakdown
    qtbot.waitUntil(lambda: not tab.error.isHidden(), timeout=TIMEOUT_MS)
    assert tab.error.text() == '"Nobody" has no members now, so there is nothing to break down'
    assert tab.table.rowCount() == 0 and not tab.export_button.isEnabled()


def test_the_breakdown_exports_as_a_png_picture(qtbot, open_insights, tmp_path):
    tab = open_insights("Active").breakdown
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS):
        tab.choose("os")
    assert tab.png_button.isEnabled()
    qtbot.waitExposed(tab.table)
    target = tmp_path / "by os.png"
    with qtbot.waitSignal(tab.export_finished, timeout=TIMEOUT_MS) as done:
        tab.export_to(target)
    assert done.args == ["Saved the breakdown to by os.png"]
    picture = QImage(str(target))
    assert (picture.width(), picture.height()) == (tab.table.width(), tab.table.height())
    assert len({picture.pixel(x, picture.height() // 4) for x in range(0, picture.width(), 4)}) > 2  # not blank
