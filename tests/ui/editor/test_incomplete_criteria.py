"""The live estimate never drops to 0 because of an unfinished edit.

Unfinished parts (a condition with no value yet, an attribute being typed) are marked on their
cards, left out of the count and said so under the total; the rest is counted, and the audience
cannot be activated until they are finished.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.builder import editing
from app.builder.unfinished import without
from tests.ui.editor.support import TIMEOUT_MS, engine_count, shown_exact, wait_estimate


def _choose(field, data) -> None:
    """Choose an entry of a ChoiceField as a user does (activated fires only on a user's choice)."""
    index = field.findData(data)
    field.setCurrentIndex(index)
    field.activated.emit(index)


def test_fewer_than_in_how_often_starts_at_three_not_zero(qtbot, open_editor):
    editor = open_editor()
    buyers = editor.canvas.frames["buyers"].editor
    assert editing.find(editor.document, "buyers").get("frequency") is None  # "at least once"

    estimate = wait_estimate(qtbot, editor, lambda: _choose(buyers.frequency.operator, "lt"))

    assert editing.find(editor.document, "buyers")["frequency"] == {"operator": "lt", "value": 3}
    assert estimate.nodes["buyers"] == engine_count(editor).nodes["buyers"] > 0


def test_fewer_than_after_a_zero_count_starts_at_three(qtbot, open_editor):
    editor = open_editor()
    sessions = editor.canvas.frames["sessions"].editor
    _choose(sessions.frequency.operator, "ge")
    sessions.frequency.low.setValue(0)

    _choose(sessions.frequency.operator, "lt")

    assert editing.find(editor.document, "sessions")["frequency"] == {"operator": "lt", "value": 3}


def test_a_new_empty_condition_is_left_out_and_said_so_not_counted_as_nobody(qtbot, open_editor):
    editor = open_editor()
    before = shown_exact(editor)
    card = editor.canvas.frames["sessions"]

    estimate = wait_estimate(qtbot, editor, lambda: qtbot.mouseClick(card.editor.add_condition, Qt.MouseButton.LeftButton))

    assert len(editing.find(editor.document, "sessions")["conditions"]) == 1
    assert estimate.count == before.count  # the unfinished condition changes nothing yet
    assert estimate.nodes["sessions"] == before.nodes["sessions"]
    assert card.problem_label.isVisibleTo(card)
    assert "has no value yet" in card.problem_text.text()
    assert editor.estimate.left_out.isVisibleTo(editor.estimate)
    assert editor.estimate.left_out.text().startswith("⚠ 1 incomplete condition left out")
    assert not editor.activate_button.isEnabled()


def test_one_incomplete_card_leaves_the_total_and_the_other_counts_standing(qtbot, open_editor):
    editor = open_editor()
    attribute = editor.canvas.frames["gold"].editor.attribute

    def type_an_unknown_attribute() -> None:
        attribute.setEditText("shoe_si")
        attribute.lineEdit().editingFinished.emit()

    estimate = wait_estimate(qtbot, editor, type_an_unknown_attribute)

    rest = engine_count(editor, without(editor.document, {"gold"}))
    assert estimate.count == rest.count
    assert editor.estimate.count.text() == f"{rest.count:,}"
    assert editor.canvas.frames["ios"].count.text() == f"{rest.nodes['ios']:,} users"
    assert editor.canvas.frames["sessions"].count.text() == f"{rest.nodes['sessions']:,} users"
    gold = editor.canvas.frames["gold"]
    assert gold.count.text() == "left out"
    assert "No user attribute 'shoe_si'" in gold.problem_text.text()
    assert "1 incomplete condition left out" in editor.estimate.left_out.text()
    assert not editor.activate_button.isEnabled()


def test_finishing_the_condition_counts_it_and_clears_the_note(qtbot, open_editor):
    editor = open_editor()
    card = editor.canvas.frames["sessions"]
    wait_estimate(qtbot, editor, lambda: _choose(card.editor.event_type, "custom_event"))
    wait_estimate(qtbot, editor, lambda: _choose(card.editor.event_name, "Search"))
    wait_estimate(qtbot, editor, lambda: qtbot.mouseClick(card.editor.add_condition, Qt.MouseButton.LeftButton))
    assert editing.find(editor.document, "sessions")["conditions"] == [{"attribute": "query", "operator": "equals",
                                                                         "value": ""}]
    assert editor.estimate.left_out.isVisibleTo(editor.estimate)

    value = card.editor._condition_rows[0].condition._value_widget
    estimate = wait_estimate(qtbot, editor, lambda: qtbot.keyClicks(value, "tent"))

    assert editing.find(editor.document, "sessions")["conditions"][0]["value"] == "tent"
    assert not estimate.left_out
    assert not editor.estimate.left_out.isVisibleTo(editor.estimate)
    assert not card.problem_label.isVisibleTo(card)
    assert estimate.count == engine_count(editor).count
    assert editor.activate_button.isEnabled()


def test_an_audience_whose_only_card_is_unfinished_shows_no_count_rather_than_zero(qtbot, open_editor):
    editor = open_editor("Empty draft", wait_estimate=False)
    editor.canvas.add_requested.emit("user_attribute", "root", 0)
    [node_id] = [i for i in editing.node_ids(editor.document) if i != "root"]
    card = editor.canvas.frames[node_id]
    card.editor.attribute.setEditText("tier")
    card.editor.attribute.lineEdit().editingFinished.emit()
    assert editing.find(editor.document, node_id)["attribute"] == "tier"

    with qtbot.waitSignal(editor.live.problems_shown, timeout=TIMEOUT_MS):
        _choose(card.editor.condition.operator, "equals")  # "is …", the value still to be typed

    assert editing.find(editor.document, node_id)["value"] == ""
    assert "Type a value to compare with" in card.problem_text.text()
    assert card.problem_label.isVisibleTo(card)
    assert editor.estimate.count.text() == "—"  # not 0: nothing is finished enough to count
    assert not editor.activate_button.isEnabled()
