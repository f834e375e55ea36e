"""The builder in the main window: opening audiences as tabs, Edit and File menus, drafts offered back on start."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.builder import editing
from app.models.services.autosave import find_autosaves, write_autosave
from app.engines.editing_session import Draft
from app.engines.home import OpenHome
from app.ui.audiences.model import Column
from app.ui.editor.editor import AudienceEditor
from tests.ui.editor_homes import fill_home, multi_group_document

TIMEOUT_MS = 30_000
NAME = "Engaged valuable shoppers"


def open_audience_with_enter(qtbot, window, name: str) -> AudienceEditor:
    pane = window.pane("audiences").list
    row = next(r for r in range(pane.proxy.rowCount()) if pane.proxy.index(r, Column.NAME).data() == name)
    pane.table.setFocus()
    pane.table.setCurrentIndex(pane.proxy.index(row, Column.NAME))
    qtbot.keyClick(pane.table, Qt.Key.Key_Return)
    editor = window.pane("audiences").editors.current_editor()
    assert editor is not None
    editor.ask = lambda _editor: "discard"  # never a modal box in tests
    qtbot.waitUntil(editor.is_loaded, timeout=TIMEOUT_MS)
    return editor


def test_enter_on_an_audience_opens_it_in_a_tab_and_the_edit_menu_follows_it(qtbot, open_window, home_dir):
    fill_home(home_dir, audiences={NAME: multi_group_document()})
    window = open_window(home_dir)
    assert not window.pane("audiences").save_action.isEnabled() and not window.pane("audiences").undo_action.isEnabled()

    editor = open_audience_with_enter(qtbot, window, NAME)

    tabs = window.pane("audiences").editors
    assert tabs.count() == 2 and tabs.tabText(1) == NAME
    assert window.pane("audiences").save_action.isEnabled()
    editor.edits.run_command("remove", "london")
    assert tabs.tabText(1) == f"{NAME} •"
    assert window.pane("audiences").undo_action.isEnabled() and "Remove" in window.pane("audiences").undo_action.text()

    window.pane("audiences").undo_action.trigger()
    assert "london" in editing.node_ids(editor.document)
    window.pane("audiences").redo_action.trigger()
    assert "london" not in editing.node_ids(editor.document)

    with qtbot.waitSignal(editor.saved, timeout=TIMEOUT_MS):
        window.pane("audiences").save_action.trigger()
    assert tabs.tabText(1) == NAME
    stored = window.connection.open_home.audiences.get(editor.audience_id)
    assert "london" not in editing.node_ids(stored.criteria)

    tabs.setCurrentIndex(0)
    assert not window.pane("audiences").save_action.isEnabled()
    assert tabs.open_audience(editor.audience_id) is editor  # opening it again shows the same tab
    assert tabs.count() == 2


def test_edit_delete_removes_the_selected_criterion(qtbot, open_window, home_dir):
    fill_home(home_dir, audiences={NAME: multi_group_document()})
    window = open_window(home_dir)
    editor = open_audience_with_enter(qtbot, window, NAME)
    editor.canvas.focus_node("gold")

    window.pane("audiences").delete_action.trigger()

    assert "gold" not in editing.node_ids(editor.document)


def test_closing_a_tab_with_unsaved_changes_asks_first(qtbot, open_window, home_dir):
    fill_home(home_dir, audiences={NAME: multi_group_document()})
    window = open_window(home_dir)
    editor = open_audience_with_enter(qtbot, window, NAME)
    editor.edits.run_command("remove", "london")
    answers = ["cancel", "discard"]
    editor.ask = lambda _editor: answers.pop(0)

    window.pane("audiences").close_audience_action.trigger()
    assert window.pane("audiences").editors.count() == 2
    window.pane("audiences").editors.tabCloseRequested.emit(1)
    assert window.pane("audiences").editors.count() == 1
    assert window.pane("audiences").editors.current_editor() is None


def test_drafts_left_by_a_crash_are_offered_back_on_start(qtbot, open_window, home_dir):
    ids = fill_home(home_dir, audiences={NAME: multi_group_document()})
    with OpenHome.open(home_dir) as opened:
        audience = opened.audiences.get(ids[NAME])
    draft = Draft.of(audience)
    changed = Draft(draft.name + " v2", "", draft.input_ids, draft.tags,
                    editing.remove(draft.criteria, "london"))
    write_autosave(home_dir, audience.id, audience.name, changed)

    window = open_window(home_dir)
    qtbot.waitUntil(lambda: window.pane("audiences").editors.recovery_dialog is not None, timeout=TIMEOUT_MS)
    dialog = window.pane("audiences").editors.recovery_dialog
    assert dialog.list.count() == 1
    assert f"{NAME} v2 (was “{NAME}”)" in dialog.list.item(0).text()

    dialog.restore_button.click()

    editor = window.pane("audiences").editors.current_editor()
    editor.ask = lambda _editor: "discard"
    qtbot.waitUntil(editor.is_loaded, timeout=TIMEOUT_MS)
    assert editor.is_dirty()
    assert editor.model.draft.name == f"{NAME} v2"
    assert "london" not in editing.node_ids(editor.document)


def test_discarding_an_offered_draft_removes_it(qtbot, open_window, home_dir):
    ids = fill_home(home_dir, audiences={NAME: multi_group_document()})
    with OpenHome.open(home_dir) as opened:
        audience = opened.audiences.get(ids[NAME])
    write_autosave(home_dir, audience.id, audience.name, Draft.of(audience))

    window = open_window(home_dir)
    qtbot.waitUntil(lambda: window.pane("audiences").editors.recovery_dialog is not None, timeout=TIMEOUT_MS)
    window.pane("audiences").editors.recovery_dialog.discard_button.click()

    qtbot.waitUntil(lambda: not find_autosaves(home_dir), timeout=TIMEOUT_MS)
    assert window.pane("audiences").editors.count() == 1


def test_the_window_stays_open_when_an_editor_keeps_its_changes(qtbot, open_window, home_dir):
    fill_home(home_dir, audiences={NAME: multi_group_document()})
    window = open_window(home_dir)
    editor = open_audience_with_enter(qtbot, window, NAME)
    editor.edits.run_command("remove", "london")
    editor.ask = lambda _editor: "cancel"

    assert not window.close()
    assert window.isVisible()
    editor.ask = lambda _editor: "discard"
