"""The Overlap tab on a real home: the audiences offered, the matrix and the regions the engine counts, a
region's members on click, and unchecking everything."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.engines.insights.overlap import overlap, region_members
from app.engines.insights.subjects import subject
from tests.ui.insights.conftest import TIMEOUT_MS, engine_home


def offered(qtbot, tab) -> list[str]:
    qtbot.waitUntil(lambda: tab.choices.count() > 0, timeout=TIMEOUT_MS)
    return [tab.choices.item(r).text() for r in range(tab.choices.count())]


def test_matrix_regions_and_a_regions_members(qtbot, connection, open_insights):
    window = open_insights("Gold")
    tab = window.overlap
    assert offered(qtbot, tab) == ["Active", "iPhone users", "Nobody"]
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS) as said:
        tab.check("Active", "iPhone users")
    home = engine_home(connection)
    expected = overlap(home, [subject(home, n) for n in ("Gold", "Active", "iPhone users")])
    assert said.args[0] == expected
    assert [[tab.matrix.item(i, j).text() for j in range(3)] for i in range(3)] == \
        [[f"{v:,}" for v in row] for row in expected.matrix()]
    shown = {tab.regions.item(r, 0).text(): tab.regions.item(r, 1).text() for r in range(tab.regions.rowCount())}
    assert shown == {expected.in_words(m): f"{n:,}" for m, n in expected.regions.items() if n}
    sizes = [int(tab.regions.item(r, 1).text()) for r in range(tab.regions.rowCount())]
    assert sizes == sorted(sizes, reverse=True)  # the largest region first, as an UpSet bar list
    with qtbot.waitSignal(tab.members.loaded, timeout=TIMEOUT_MS):
        tab.regions.selectRow(0)
    mask = tab.regions.item(0, 0).data(Qt.ItemDataRole.UserRole)
    subjects = [subject(home, n) for n in ("Gold", "Active", "iPhone users")]
    assert [int(tab.members.index(r, 0).data()) for r in range(tab.members.rowCount())] == \
        region_members(home, subjects, mask, limit=1000)


def test_unchecking_every_audience_clears_the_answer(qtbot, connection, open_insights):
    tab = open_insights("Gold").overlap
    offered(qtbot, tab)
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS):
        tab.check("Active")
    tab.check()
    qtbot.waitUntil(lambda: not tab.choice_timer.isActive(), timeout=TIMEOUT_MS)
    assert tab.regions.rowCount() == 0 and tab.region_title.text() == "Check at least one audience to compare."
