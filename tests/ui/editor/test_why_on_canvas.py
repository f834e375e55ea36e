"""Why / why not on the editor's canvas: a profile looked up from the editor marks every card and group of the
draft (saved or not) as matching or failing it, with the engine's own verdicts and evidence; editing the
draft explains the same profile again; Insights… opens the Insights window on the draft."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.builder.editing import walk
from app.engines.insights.subjects import Subject
from app.engines.insights.why import explain, find_profile
from tests.ui.editor.support import TIMEOUT_MS


def engine_verdicts(editor, email: str) -> tuple[bool, dict[str, tuple[bool, str]]]:
    """What the engine says, outside the editor, of the profile against the editor's draft as it is now."""
    home = editor.home
    subject = Subject.draft(editor.document, editor.context.workspace_ids, editor.model.draft.input_ids)
    result = explain(home, subject, find_profile(home, subject, "email", email))
    return result.in_audience, {n.node_id: (n.matches, n.evidence) for n in result.nodes}


def shown(editor) -> dict[str, tuple[bool, str] | None]:
    return {node["id"]: editor.canvas.frames[node["id"]].verdict for _path, node in walk(editor.document["root"])}


def test_a_profile_is_explained_on_the_cards_of_the_unsaved_draft(qtbot, open_editor):
    editor = open_editor()
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow)
    editor.canvas.setFocus()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert editor.why.isVisible() and QApplication.focusWidget() is editor.why.value
    with qtbot.waitSignal(editor.why.explained, timeout=TIMEOUT_MS) as said:
        qtbot.keyClicks(editor.why.value, "USER4@example.com")  # an email is looked up ignoring case
        qtbot.keyClick(editor.why.value, Qt.Key.Key_Return)
    in_audience, expected = engine_verdicts(editor, "user4@example.com")
    assert said.args[0].in_audience == in_audience and said.args[0].mpid == 4
    assert shown(editor) == expected
    assert {True, False} <= {matches for matches, _evidence in expected.values()}  # both kinds of mark are checked
    for node_id, (matches, evidence) in expected.items():
        label = editor.canvas.frames[node_id].verdict_label
        assert label.isVisible() and ("✓ matches" if matches else "✗ fails") in label.text()
        assert evidence in label.toolTip()
    assert ("is in the audience" if in_audience else "is not in the audience") in editor.why.headline.text()

    # An edit, not saved: the same profile is explained against the new draft.
    saved = editor.home.audiences.get(editor.audience_id).criteria
    before = expected["gold"][0]
    with qtbot.waitSignal(editor.why.explained, timeout=TIMEOUT_MS):
        editor.canvas.node_edited.emit("gold", {"exclude": True}, "")
    assert editor.is_dirty() and editor.home.audiences.get(editor.audience_id).criteria == saved
    in_audience, expected = engine_verdicts(editor, "user4@example.com")
    assert shown(editor) == expected and expected["gold"][0] is (not before)

    # Closing the bar clears the marks.
    qtbot.keyClick(editor.why.value, Qt.Key.Key_Escape)
    assert not editor.why.isVisible()
    assert set(shown(editor).values()) == {None}
    assert not any(frame.verdict_label.isVisible() for frame in editor.canvas.frames.values())


def test_an_unknown_profile_is_said_and_leaves_no_marks(qtbot, open_editor):
    editor = open_editor()
    editor.why.open_bar()
    with qtbot.waitSignal(editor.why.said, timeout=TIMEOUT_MS,
                          check_params_cb=lambda text: text.startswith("No profile")) as said:
        editor.why.look_up("customer_id", "C-404")
    assert said.args == ["No profile in the cache has customer id 'C-404'."]
    assert set(shown(editor).values()) == {None}


def test_insights_opens_on_the_draft_as_edited(qtbot, open_editor):
    editor = open_editor()
    editor.canvas.node_edited.emit("gold", {"exclude": True}, "")
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow)
    editor.canvas.setFocus()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    window = editor.insights_window
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)  # kept, to look at it after
    try:
        assert window.subject.audience is None and window.subject.document == editor.document
        assert window.subject.name == f"{editor.model.draft.name} (draft)"
        assert window.subject.workspace_ids == editor.context.workspace_ids
        assert window.isVisible()
    finally:
        assert editor.close_editor()
    assert not window.isVisible()  # it explained this editor's draft: it goes with the editor
