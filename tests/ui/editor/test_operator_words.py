"""The cards say operators in words, and suggest values for event attributes and lists as they do for places."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.builder import editing
from tests.ui.editor.support import TIMEOUT_MS, wait_estimate


def _choose(field, data) -> None:
    index = field.findData(data)
    field.setCurrentIndex(index)
    field.activated.emit(index)


def _texts(field) -> list[str]:
    return [field.itemText(i) for i in range(field.count())]


def test_how_often_and_amounts_offer_words_not_symbols(qtbot, open_editor):
    editor = open_editor()
    sessions = editor.canvas.frames["sessions"].editor

    assert _texts(sessions.frequency.operator) == ["at least once", "exactly", "not exactly", "fewer than", "at most",
                                                   "more than", "at least", "between"]
    assert sessions.frequency.operator.currentText() == "at least"
    assert "at least" in _texts(sessions.aggregate.operator) and "less than" in _texts(sessions.aggregate.operator)
    assert "not equal to" in _texts(sessions.aggregate.operator)
    summary = editor.canvas.frames["sessions"].summary.text()
    assert summary.startswith("at least once")
    for field in (sessions.frequency.operator, sessions.aggregate.operator):
        assert not any(symbol in text for text in _texts(field) for symbol in "≥≤≠<>=")


def test_an_event_attributes_values_are_suggested(qtbot, open_editor):
    editor = open_editor()
    card = editor.canvas.frames["sessions"]
    wait_estimate(qtbot, editor, lambda: _choose(card.editor.event_type, "custom_event"))
    wait_estimate(qtbot, editor, lambda: _choose(card.editor.event_name, "Search"))
    wait_estimate(qtbot, editor, lambda: qtbot.mouseClick(card.editor.add_condition, Qt.MouseButton.LeftButton))
    value = card.editor._condition_rows[0].condition._value_widget
    value.setFocus()

    qtbot.keyClicks(value, "t")

    qtbot.waitUntil(lambda: value.suggestions() == ["tent"], timeout=TIMEOUT_MS)


def test_a_list_suggests_the_value_being_typed_and_keeps_the_others(qtbot, open_editor):
    editor = open_editor()
    gold = editor.canvas.frames["gold"].editor
    _choose(gold.condition.operator, "in")
    values = gold.condition._value_widget
    assert editing.find(editor.document, "gold")["value"] == ["gold"]
    values.setFocus()
    values.end(False)

    qtbot.keyClicks(values, ", si")

    qtbot.waitUntil(lambda: values.suggestions() == ["silver"], timeout=TIMEOUT_MS)
    values.completer().activated.emit("silver")  # the user picks the suggestion
    assert editing.find(editor.document, "gold")["value"] == ["gold", "silver"]
    assert values.text() == "gold, silver, "
