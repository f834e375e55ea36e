"""The editor's History… button: it opens the audience's edit history, and a version chosen there loads into the
editor's draft as one step of the editor's undo stack (Undo takes it back); saving keeps it as a new version."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.editor.support import NAME, TIMEOUT_MS


def test_a_version_loads_into_the_draft_undoably_and_saving_keeps_it(qtbot, open_editor):
    home = open_editor.connection.open_home
    audience_id = open_editor.ids[NAME]
    first = home.audiences.get(audience_id)
    home.audiences.rename(audience_id, "Renamed elsewhere")  # version 2, saved outside this editor
    editor = open_editor()
    assert editor.model.draft.name == "Renamed elsewhere"

    editor.content.history_button.click()
    qtbot.waitUntil(lambda: getattr(editor, "history_window", None) is not None, timeout=TIMEOUT_MS)
    window = editor.history_window
    try:
        tab = window.history
        assert window.tabs.currentWidget() is tab
        qtbot.waitUntil(lambda: tab.versions.topLevelItemCount() == 2, timeout=TIMEOUT_MS)
        tab.versions.setCurrentItem(tab.versions.topLevelItem(1))  # version 1
        tab.restore_button.click()
        qtbot.waitUntil(lambda: editor.model.draft.name == first.name, timeout=TIMEOUT_MS)
        assert editor.undo_stack.count() == 1 and editor.undo_stack.text(0) == "Restore version 1"
        assert editor.is_dirty()
        editor.undo_stack.undo()
        assert editor.model.draft.name == "Renamed elsewhere"
        editor.undo_stack.redo()
        with qtbot.waitSignal(editor.saved, timeout=TIMEOUT_MS):
            editor.save()
        versions = home.versions.history(audience_id).versions
        assert len(versions) == 3 and versions[2].document == versions[0].document
    finally:
        window.close()


def test_the_history_window_closes_with_its_editor(qtbot, open_editor):
    editor = open_editor()
    editor.content.history_button.click()
    qtbot.waitUntil(lambda: getattr(editor, "history_window", None) is not None, timeout=TIMEOUT_MS)
    window = editor.history_window
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)  # kept, to look at it after
    assert window.isVisible()
    assert editor.close_editor()
    assert not window.isVisible()  # nothing can load a version into a closed editor
