"""The estimate chart's y-axis counts users: whole numbers only, however close the sizes of a session are."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from tests.ui.editor.support import TIMEOUT_MS, wait_estimate


def _shown_ticks(panel) -> list[float]:
    QApplication.processEvents()
    axis = panel.axes["left"]
    low, high = panel.view.viewRange()[1]
    return [value for _spacing, values in axis.tickValues(low, high, max(axis.geometry().height(), 100))
            for value in values]


def test_the_size_axis_shows_whole_users_only(qtbot, open_editor):
    editor = open_editor()
    panel = editor.estimate
    qtbot.waitUntil(lambda: panel.chart is not None and panel.curve.getData()[1] is not None, timeout=TIMEOUT_MS)

    ticks = _shown_ticks(panel)  # one size so far: the view spans less than one user around it
    assert ticks and all(value == int(value) for value in ticks)

    value = editor.canvas.frames["gold"].editor.condition._value_widget
    value.selectAll()
    wait_estimate(qtbot, editor, lambda: qtbot.keyClicks(value, "silver"))
    ticks = _shown_ticks(panel)
    assert ticks and all(value == int(value) for value in ticks)
    labels = panel.axes["left"].tickStrings(ticks, 1, 1)
    assert not any("." in label for label in labels)


def test_tick_spacings_are_whole_and_round():
    from app.ui.editor.estimate_panel import whole_step

    assert [whole_step(span) for span in (0, 3, 12, 40, 1234, 2_000_000)] == [1, 1, 5, 20, 500, 1_000_000]
