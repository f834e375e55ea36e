"""The editor's Segment tab on a real home: the CPM field disabled with the reason for a private segment and enabled
for a public one, a wrong price explained and nothing saved, a valid save stored, making a priced segment private,
the categories used so far offered, and the tab in the audience editor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from app.builder import editing
from app.engines.home import OpenHome
from app.models.services.segments import (
    PRIVATE_PRICE_REASON,
    SegmentInfo,
    SegmentSettingsService,
)
from app.ui.editor.editor import AudienceEditor
from app.ui.editor.segment import SegmentTab
from app.ui.home import HomeConnection
from app.ui.workers import Tasks

TIMEOUT_MS = 30_000


@pytest.fixture
def world(retail_connection: tuple[HomeConnection, Tasks]) -> tuple[HomeConnection, Tasks]:
    return retail_connection


def service(connection: HomeConnection) -> SegmentSettingsService:
    home: OpenHome = connection.open_home
    return SegmentSettingsService(home.store, "maria")


def audience_id(connection: HomeConnection, name: str = "Lapsed buyers") -> int:
    return connection.open_home.audiences.get(name).id


@pytest.fixture
def open_tab(qtbot, world) -> Iterator[Callable[..., SegmentTab]]:
    connection, tasks = world
    tabs: list[SegmentTab] = []

    def open_(name: str = "Lapsed buyers") -> SegmentTab:
        tab = SegmentTab(connection, tasks, audience_id(connection, name))
        tab.resize(720, 560)
        qtbot.addWidget(tab)
        tabs.append(tab)
        with qtbot.waitSignal(tab.loaded, timeout=TIMEOUT_MS):
            tab.show()
        return tab

    yield open_
    for tab in tabs:
        tab.shutdown()


def save(qtbot, tab: SegmentTab) -> SegmentInfo:
    with qtbot.waitSignal(tab.saved, timeout=TIMEOUT_MS) as blocker:
        tab.save_button.click()
    return blocker.args[0]


def test_a_private_segment_has_its_price_disabled_with_the_reason(open_tab):
    tab = open_tab()
    assert tab.private.isChecked() and tab.never.isChecked()
    assert not tab.cpm.isEnabled() and not tab.days.isEnabled()
    assert PRIVATE_PRICE_REASON[1:] in tab.price_note.text() and PRIVATE_PRICE_REASON[1:] in tab.cpm.toolTip()
    assert tab.price_note.isVisible()
    assert not tab.save_button.isEnabled()  # nothing changed yet


def test_a_public_segment_can_be_priced(open_tab):
    tab = open_tab()
    tab.public.setChecked(True)
    assert tab.cpm.isEnabled() and "per thousand users" in tab.price_note.text()
    tab.cpm.setText("2.5")
    assert tab.save_button.isEnabled() and not tab.price_error.isVisible()


def test_a_wrong_price_is_explained_and_nothing_is_saved(qtbot, open_tab, world):
    connection, tasks = world
    tab = open_tab()
    tab.public.setChecked(True)
    tab.cpm.setText("2.505")
    assert tab.price_error.isVisible() and "more than 2 decimals" in tab.price_error.text()
    tab.cpm.setText("-3")
    assert "CPM price: -3 is negative" in tab.price_error.text()
    assert tab.save() is False
    assert tab.message.isVisible() and tab.message.text() == "Nothing was saved: correct the price above."
    tab.cpm.setText("3")
    assert not tab.message.isVisible() and not tab.price_error.isVisible()
    tasks.wait()
    assert service(connection).get(tab.audience_id) == SegmentInfo(tab.audience_id)


def test_a_valid_save_is_stored(qtbot, open_tab, world):
    connection, _ = world
    tab = open_tab()
    tab.after.setChecked(True)
    tab.days.setValue(30)
    tab.public.setChecked(True)
    tab.cpm.setText("1.75")
    tab.category.setEditText("Retail>Outdoor")
    shown = save(qtbot, tab)
    stored = service(connection).get(tab.audience_id)
    assert stored == shown
    assert (stored.expiration_days, stored.visibility, stored.cpm, stored.category) == (
        30, "public", Decimal("1.75"), "Retail > Outdoor")
    assert tab.category.currentText() == "Retail > Outdoor" and tab.status.text().startswith("Last saved by ")
    assert not tab.save_button.isEnabled()


def test_making_a_priced_segment_private_says_the_price_goes(qtbot, open_tab, world):
    connection, _ = world
    tab = open_tab()
    tab.public.setChecked(True)
    tab.cpm.setText("4.00")
    save(qtbot, tab)
    tab.private.setChecked(True)
    assert not tab.cpm.isEnabled()
    assert tab.price_note.text().startswith("Saving clears the price of 4.00 USD.")
    save(qtbot, tab)
    stored = service(connection).get(tab.audience_id)
    assert (stored.visibility, stored.cpm) == ("private", None)
    assert tab.cpm.text() == ""


def test_a_refused_save_shows_the_services_message(qtbot, open_tab, world):
    """The service checks again when saving; what it refuses (here: the audience was deleted meanwhile) is shown."""
    connection, _ = world
    tab = open_tab()
    connection.open_home.audiences.delete(tab.audience_id)
    tab.after.setChecked(True)
    tab.save_button.click()
    qtbot.waitUntil(lambda: tab.message.isVisible(), timeout=TIMEOUT_MS)
    assert "no audience with id" in tab.message.text()
    assert tab.save_button.isEnabled()  # the user can try again


def test_the_categories_used_so_far_are_offered(qtbot, world, open_tab):
    connection, _ = world
    service(connection).update(audience_id(connection, "Loyal shoppers"), category="Retail > Loyalty")
    tab = open_tab()
    assert [tab.category.itemText(i) for i in range(tab.category.count())] == ["Retail > Loyalty"]
    assert tab.category.currentText() == ""


def test_the_editor_has_a_segment_tab(qtbot, world):
    connection, tasks = world
    editor = AudienceEditor(connection, tasks, audience_id(connection), ask=lambda _e: "discard")
    editor.resize(1100, 700)
    qtbot.addWidget(editor)
    with qtbot.waitSignal(editor.loaded, timeout=TIMEOUT_MS):
        editor.show()
    assert [editor.tabs.tabText(i) for i in range(editor.tabs.count())] == ["Criteria", "A/B Test", "Segment", "Connect"]
    with qtbot.waitSignal(editor.segment.loaded, timeout=TIMEOUT_MS):
        editor.tabs.setCurrentWidget(editor.segment)
    assert editor.segment.private.isChecked()
    editor.shutdown()


@pytest.fixture
def editor_with_a_changed_price(qtbot, world) -> Iterator[Callable[..., AudienceEditor]]:
    """An editor whose Segment tab holds an unsaved change: made public at a CPM of 3.10."""
    connection, tasks = world

    def open_(answers: list[str], price: str = "3.10") -> AudienceEditor:
        asked: list[list[str]] = []
        editor = AudienceEditor(connection, tasks, audience_id(connection),
                                ask=lambda e: asked.append(e.unsaved_parts()) or (answers.pop(0) if answers else "discard"))
        editor.asked = asked
        editor.resize(1100, 700)
        qtbot.addWidget(editor)
        with qtbot.waitSignal(editor.loaded, timeout=TIMEOUT_MS):
            editor.show()
        with qtbot.waitSignal(editor.segment.loaded, timeout=TIMEOUT_MS):
            editor.tabs.setCurrentWidget(editor.segment)
        editor.segment.public.setChecked(True)
        editor.segment.cpm.setText(price)
        editor.tabs.setCurrentIndex(0)
        return editor

    yield open_
    # pytest-qt has closed the editors by now (an unsaved one is discarded); let their work finish.
    qtbot.waitUntil(lambda: not tasks.is_busy(), timeout=TIMEOUT_MS)


def test_closing_the_editor_asks_about_unsaved_segment_settings_and_cancel_keeps_it_open(qtbot, world,
                                                                                          editor_with_a_changed_price):
    connection, _ = world
    editor = editor_with_a_changed_price(["cancel"])
    assert not editor.close_editor()
    assert editor.asked == [["the segment settings"]]
    assert editor.segment.cpm.text() == "3.10"  # still there to save
    assert service(connection).get(audience_id(connection)).cpm is None


def test_saving_on_close_stores_the_segment_settings_then_closes(qtbot, world, editor_with_a_changed_price):
    connection, _ = world
    editor = editor_with_a_changed_price(["save"])
    with qtbot.waitSignal(editor.closed, timeout=TIMEOUT_MS):
        assert not editor.close_editor()  # closes once saved
    stored = service(connection).get(audience_id(connection))
    assert stored.is_public and stored.cpm == Decimal("3.10")


def test_discarding_on_close_drops_the_segment_settings(qtbot, world, editor_with_a_changed_price):
    connection, _ = world
    editor = editor_with_a_changed_price(["discard"])
    with qtbot.waitSignal(editor.closed, timeout=TIMEOUT_MS):
        assert editor.close_editor()
    assert service(connection).get(audience_id(connection)).cpm is None


def test_a_wrong_price_is_not_saved_on_close_and_the_segment_tab_says_why(qtbot, world, editor_with_a_changed_price):
    connection, _ = world
    editor = editor_with_a_changed_price(["save"], price="3.1415")
    assert not editor.close_editor()
    assert editor.tabs.currentWidget() is editor.segment and editor.segment.message.isVisible()
    assert "price" in editor.segment.message.text()
    assert service(connection).get(audience_id(connection)).cpm is None


def test_criteria_and_segment_changes_are_both_saved_on_close(qtbot, world, editor_with_a_changed_price):
    connection, _ = world
    editor = editor_with_a_changed_price(["save"])
    added = editor.edits.add_criterion("session_start", "root", 0)
    with qtbot.waitSignal(editor.closed, timeout=TIMEOUT_MS):
        assert not editor.close_editor()
    assert editor.asked == [["the criteria and details", "the segment settings"]]
    home = connection.open_home
    assert added in editing.node_ids(home.audiences.get(audience_id(connection)).criteria)
    assert service(connection).get(audience_id(connection)).cpm == Decimal("3.10")
