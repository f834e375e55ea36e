"""The History tab on a real home: versions listed newest first with who saved them, what changed between
two in words, a restore saved as a new version and undone and redone, a version loaded into an editor's
draft instead when the tab was opened from the editor, and a draft that has no history yet."""

from __future__ import annotations

from app.engines.insights.subjects import Subject
from tests.ui.insights.conftest import TIMEOUT_MS, engine_home


def rows(tree) -> list[list[str]]:
    return [[tree.topLevelItem(i).text(c) for c in range(tree.columnCount())] for i in range(tree.topLevelItemCount())]


def changes(tab) -> list[str]:
    return [row[1] for row in rows(tab.changes)]


def shown_versions(tab) -> int:
    return tab.versions.topLevelItemCount()


def edited_gold(connection) -> int:
    home = engine_home(connection)
    gold = home.audiences.get("Gold")
    home.audiences.update(gold.id, tags=["vip"])
    home.audiences.rename(gold.id, "Gold members")
    return gold.id


def test_versions_and_what_changed(qtbot, connection, open_insights):
    edited_gold(connection)
    tab = open_insights("Gold members").history
    qtbot.waitUntil(lambda: shown_versions(tab) == 3, timeout=TIMEOUT_MS)
    listed = rows(tab.versions)
    assert [row[0] for row in listed] == ["3", "2", "1"]  # newest first, chosen
    assert tab.versions.currentItem().text(0) == "3"
    qtbot.waitUntil(lambda: changes(tab) == ["Name: “Gold” → “Gold members”"], timeout=TIMEOUT_MS)
    tab.versions.setCurrentItem(tab.versions.topLevelItem(1))  # version 2: the tag
    qtbot.waitUntil(lambda: changes(tab) == ["Tag added: vip", "Tag removed: test"], timeout=TIMEOUT_MS)
    assert rows(tab.changes)[0][0] == "+"  # the mark says it without colour
    tab.old.setCurrentIndex(tab.old.findData(1))
    tab.new.setCurrentIndex(tab.new.findData(3))
    qtbot.waitUntil(lambda: changes(tab) == ["Name: “Gold” → “Gold members”", "Tag added: vip", "Tag removed: test"],
                    timeout=TIMEOUT_MS)
    tab.read()  # read again (the audience changed elsewhere): the versions compared stay compared
    qtbot.waitUntil(lambda: not tab.requests.is_busy() and not tab.comparisons.is_busy(), timeout=TIMEOUT_MS)
    assert (tab.old.currentData(), tab.new.currentData()) == (1, 3)
    assert changes(tab) == ["Name: “Gold” → “Gold members”", "Tag added: vip", "Tag removed: test"]


def test_restore_is_a_new_version_and_can_be_undone_and_redone(qtbot, connection, open_insights):
    audience_id = edited_gold(connection)
    home = engine_home(connection)
    tab = open_insights("Gold members").history
    qtbot.waitUntil(lambda: shown_versions(tab) == 3, timeout=TIMEOUT_MS)
    assert not tab.restore_button.isEnabled()  # the newest version is what the audience says
    tab.versions.setCurrentItem(tab.versions.topLevelItem(2))  # version 1
    assert tab.restore_button.isEnabled()
    tab.restore_button.click()
    qtbot.waitUntil(lambda: shown_versions(tab) == 4, timeout=TIMEOUT_MS)
    assert home.audiences.get(audience_id).name == "Gold" and home.audiences.get(audience_id).tags == ("test",)
    assert rows(tab.versions)[0][3] == "restored version 1"
    assert tab.note.text() == "Restored version 1, saved as version 4."
    assert tab.undo_button.isEnabled() and "Restore version 1" in tab.undo_button.toolTip()

    tab.undo_button.click()  # the version that was newest before comes back, as version 5
    qtbot.waitUntil(lambda: shown_versions(tab) == 5, timeout=TIMEOUT_MS)
    assert home.audiences.get(audience_id).name == "Gold members"
    assert rows(tab.versions)[0][3] == "restored version 3"
    tab.redo_button.click()
    qtbot.waitUntil(lambda: shown_versions(tab) == 6, timeout=TIMEOUT_MS)
    assert home.audiences.get(audience_id).name == "Gold"
    history = home.versions.history(audience_id).versions
    assert [v.document for v in history[3:]] == [history[0].document, history[2].document, history[0].document]


def test_opened_from_an_editor_a_version_loads_into_its_draft(qtbot, connection, open_insights):
    from app.ui.insights.window import InsightsWindow

    edited_gold(connection)
    conn, tasks = connection
    home = engine_home(connection)
    loaded = []
    window = InsightsWindow(conn, tasks, Subject.of(home.audiences.get("Gold members")),
                            editor_restore=lambda draft, text: loaded.append((draft, text)))
    try:
        tab = window.history
        qtbot.waitUntil(lambda: shown_versions(tab) == 3, timeout=TIMEOUT_MS)
        assert tab.restore_button.text() == "&Load Into the Editor" and not tab.undo_button.isVisibleTo(window)
        tab.versions.setCurrentItem(tab.versions.topLevelItem(2))
        tab.restore_button.click()
        qtbot.waitUntil(lambda: bool(loaded), timeout=TIMEOUT_MS)
        draft, text = loaded[0]
        assert (draft.name, draft.tags, text) == ("Gold", ("test",), "Restore version 1")
        assert draft.criteria == home.versions.history("Gold members").versions[0].document["criteria"]
        assert len(home.versions.history("Gold members").versions) == 3  # nothing saved: the editor saves
    finally:
        window.close()
        tasks.wait()


def test_a_draft_has_no_history_yet(qtbot, connection, open_insights):
    home = engine_home(connection)
    gold = home.audiences.get("Gold")
    tab = open_insights(Subject.draft(gold.criteria, gold.workspace_ids)).history
    assert tab.headline.text().startswith("A draft has no saved versions yet")
    assert not tab.restore_button.isEnabled()
