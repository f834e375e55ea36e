"""Clicking a criterion card's title, summary or body selects it, so that its keys work on it.

A press on a card used to travel on to the groups around it (the card left it unaccepted), so the
root group took the focus and Delete, Ctrl+↑/↓ and Ctrl+E went to the root, which ignores them.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from app.builder import editing


def _active(qtbot, editor) -> None:
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow)


def _press_keys(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Keys go where a user's would: to the widget that has the focus."""
    qtbot.keyClick(QApplication.focusWidget(), key, modifier)


def test_clicking_a_cards_title_selects_it_and_delete_removes_it(qtbot, open_editor):
    editor = open_editor()
    _active(qtbot, editor)
    card = editor.canvas.frames["gold"]

    qtbot.mouseClick(card.title, Qt.MouseButton.LeftButton)

    assert editor.canvas.current_id == "gold"
    assert QApplication.focusWidget() is card
    _press_keys(qtbot, Qt.Key.Key_Delete)
    assert "gold" not in editing.node_ids(editor.document)


def test_clicking_a_cards_summary_selects_it_and_ctrl_e_excludes_it(qtbot, open_editor):
    editor = open_editor()
    _active(qtbot, editor)
    card = editor.canvas.frames["london"]

    qtbot.mouseClick(card.summary, Qt.MouseButton.LeftButton)

    assert editor.canvas.current_id == "london"
    _press_keys(qtbot, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert editing.find(editor.document, "london")["exclude"] is False  # it was excluded: now included again


def test_clicking_a_cards_body_selects_it_and_ctrl_up_moves_it(qtbot, open_editor):
    editor = open_editor()
    _active(qtbot, editor)
    card = editor.canvas.frames["ios"]
    parent_id, index = editing.parent_of(editor.document, "ios")
    assert index > 0

    qtbot.mouseClick(card, Qt.MouseButton.LeftButton, pos=QPoint(card.width() // 2, card.height() - 3))

    assert editor.canvas.current_id == "ios"
    _press_keys(qtbot, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert editing.parent_of(editor.document, "ios") == (parent_id, index - 1)


def test_clicking_a_groups_header_selects_the_group_not_the_root(qtbot, open_editor):
    editor = open_editor()
    _active(qtbot, editor)
    group = editor.canvas.frames["valuable"]

    qtbot.mouseClick(group.lead, Qt.MouseButton.LeftButton)

    assert editor.canvas.current_id == "valuable"
