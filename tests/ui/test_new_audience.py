"""The New Audience dialog on a real home: what it asks, what it refuses as you type, and Create opening the builder."""

from __future__ import annotations

import pytest

from app.engines.home import OpenHome
from app.paths import Home
from app.ui.audiences.new_audience import NewAudienceDialog, read_choices
from app.ui.editor.editor import AudienceEditor

TIMEOUT_MS = 30_000


@pytest.fixture
def two_workspaces(home_dir: Home) -> Home:
    with OpenHome.open(home_dir, user="maria") as opened:
        retail = opened.workspaces.create("Retail", [("platform", "iOS"), ("platform", "Web"), ("feed", "CRM")])
        opened.workspaces.create("Travel", [("platform", "Android")])
        opened.audiences.create("Lapsed buyers", workspace_ids=[retail.id])
    return home_dir


def open_dialog(qtbot, window) -> NewAudienceDialog:
    pane = window.pane("audiences").list
    window.pane("audiences").new_action.trigger()
    qtbot.waitUntil(lambda: getattr(pane, "new_audience_dialog", None) is not None, timeout=TIMEOUT_MS)
    return pane.new_audience_dialog


def test_file_new_audience_creates_it_and_opens_the_builder(qtbot, open_window, two_workspaces):
    window = open_window(two_workspaces)
    dialog = open_dialog(qtbot, window)
    assert window.pane("audiences").new_action.shortcut().toString() == "Ctrl+N"

    qtbot.keyClicks(dialog.name, "Web campers")
    assert dialog.external_name.placeholderText() == "Web campers"
    assert dialog.external_hint.text() == "Left empty, partners see the name: “Web campers”."
    web = next(i for i, check in dialog.input_checks.items() if check.text() == "Web (platform)")
    dialog.input_checks[web].setChecked(True)

    with qtbot.waitSignal(dialog.created, timeout=TIMEOUT_MS) as created:
        dialog.create_button.click()

    audience = window.connection.open_home.audiences.get(created.args[0])
    assert (audience.name, audience.external_name, audience.scope, audience.input_ids) == (
        "Web campers", None, "single", (web,))
    editor = window.pane("audiences").editors.current_editor()
    assert isinstance(editor, AudienceEditor) and editor.audience_id == audience.id
    editor.ask = lambda _editor: "discard"
    qtbot.waitUntil(editor.is_loaded, timeout=TIMEOUT_MS)
    assert editor.model.draft.name == "Web campers"


def test_the_dialog_refuses_a_taken_or_too_long_name_as_you_type(qtbot, home_dir, two_workspaces):
    with OpenHome.open(two_workspaces) as opened:
        dialog = NewAudienceDialog(opened, None, read_choices(opened))
        qtbot.addWidget(dialog)
        assert not dialog.create_button.isEnabled()
        assert not dialog.name_problem.isVisibleTo(dialog)  # no complaint before anything was typed

        dialog.name.setText("LAPSED buyers")
        assert not dialog.create_button.isEnabled()
        assert "“Lapsed buyers” already exists" in dialog.name_problem.text()

        dialog.name.setText("x" * 101)
        assert "names are at most 100 characters" in dialog.name_problem.text()

        dialog.name.setText("Lapsed buyers, EU")
        assert dialog.create_button.isEnabled() and not dialog.name_problem.isVisibleTo(dialog)
        dialog.external_name.setText("lapsed_eu")
        assert dialog.external_hint.text() == "Partners see “lapsed_eu”."


def test_a_multi_workspace_audience_needs_two_workspaces_and_offers_both_inputs(qtbot, two_workspaces):
    with OpenHome.open(two_workspaces) as opened:
        dialog = NewAudienceDialog(opened, None, read_choices(opened))
        qtbot.addWidget(dialog)
        dialog.name.setText("Both shops")

        dialog.multi.setChecked(True)
        retail, travel = list(dialog.workspace_checks.values())
        retail.setChecked(True)
        assert not dialog.create_button.isEnabled()
        assert dialog.workspace_problem.text() == "Choose at least two workspaces (1 chosen)."

        travel.setChecked(True)
        assert dialog.create_button.isEnabled()
        assert sorted((check.text() for check in dialog.input_checks.values()), key=str.casefold) == [
            "Android (platform) · Travel", "CRM (feed) · Retail", "iOS (platform) · Retail", "Web (platform) · Retail"]
        assert dialog.request().scope == "multi" and len(dialog.request().workspace_ids) == 2


def test_a_home_with_one_workspace_cannot_choose_multi(qtbot, home_dir):
    with OpenHome.open(home_dir) as opened:
        opened.workspaces.create("Retail")
        dialog = NewAudienceDialog(opened, None, read_choices(opened))
        qtbot.addWidget(dialog)
        assert not dialog.multi.isEnabled()
        assert dialog.inputs_hint.text() == "The workspace has no platforms or feeds yet: all its data counts."


def test_a_name_taken_meanwhile_is_refused_by_the_store_and_shown_in_the_dialog(qtbot, open_window, two_workspaces):
    window = open_window(two_workspaces)
    dialog = open_dialog(qtbot, window)
    dialog.name.setText("Weekend shoppers")
    window.connection.open_home.audiences.create("weekend SHOPPERS", workspace_ids=[dialog.chosen_workspace_ids()[0]])

    with qtbot.waitSignal(window.tasks.activity_changed, timeout=TIMEOUT_MS):
        dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.create_problem.isVisibleTo(dialog), timeout=TIMEOUT_MS)

    assert "already exists" in dialog.create_problem.text()
    assert dialog.isVisible()
    dialog.reject()


def test_names_with_an_ampersand_are_shown_as_typed_not_as_a_shortcut(qtbot, home_dir):
    from PySide6.QtGui import QKeySequence

    with OpenHome.open(home_dir, user="maria") as opened:
        opened.workspaces.create("Harbor & Pine US", [("platform", "Web & App")])
        opened.workspaces.create("Harbor & Pine EU", [("platform", "iOS")])
        dialog = NewAudienceDialog(opened, None, read_choices(opened))
        qtbot.addWidget(dialog)
        dialog.multi.setChecked(True)
        for check in dialog.workspace_checks.values():
            check.setChecked(True)
        shown = list(dialog.workspace_checks.values()) + list(dialog.input_checks.values())
        # "&&" is how Qt shows one "&"; a single "&" would underline " " or "P" and make Alt+P a shortcut.
        assert sorted(check.text() for check in shown)[0] == "Harbor && Pine EU"
        assert all(QKeySequence.mnemonic(check.text()).isEmpty() for check in shown)


def test_the_dialog_starts_on_the_scope_of_the_tab_it_was_opened_from(qtbot, open_window, two_workspaces):
    # Issue 23: opened from the Multi Workspace tab, it offered Single.
    window = open_window(two_workspaces)
    pane = window.pane("audiences").list
    pane.tabs.setCurrentIndex(1)
    dialog = open_dialog(qtbot, window)
    assert dialog.multi.isChecked() and dialog.scope() == "multi"
    assert dialog.workspace_box.isVisibleTo(dialog) and not dialog.workspace.isVisibleTo(dialog)
    dialog.reject()
    qtbot.waitUntil(lambda: pane.new_audience_dialog is None, timeout=TIMEOUT_MS)
    pane.tabs.setCurrentIndex(0)
    assert open_dialog(qtbot, window).scope() == "single"


def _input_named(dialog: NewAudienceDialog, text: str):
    return next(check for check in dialog.input_checks.values() if check.text() == text)


def test_ticked_inputs_survive_switching_the_scope_back_and_forth(qtbot, two_workspaces):
    # Issue 23: ticking Web, then switching to Multi (and back) dropped the tick.
    with OpenHome.open(two_workspaces) as opened:
        dialog = NewAudienceDialog(opened, None, read_choices(opened))
        qtbot.addWidget(dialog)
        dialog.name.setText("Web campers")
        _input_named(dialog, "Web (platform)").setChecked(True)

        dialog.multi.setChecked(True)  # Retail, chosen in single, is one of the several
        retail, travel = list(dialog.workspace_checks.values())
        assert retail.isChecked() and _input_named(dialog, "Web (platform)").isChecked()
        travel.setChecked(True)
        assert _input_named(dialog, "Web (platform) · Retail").isChecked()
        retail.setChecked(False)  # Retail's inputs go away with it ...
        retail.setChecked(True)  # ... and come back ticked
        assert _input_named(dialog, "Web (platform) · Retail").isChecked()
        _input_named(dialog, "Android (platform) · Travel").setChecked(True)
        assert len(dialog.request().input_ids) == 2

        dialog.single.setChecked(True)
        assert [c.text() for c in dialog.input_checks.values() if c.isChecked()] == ["Web (platform)"]
        assert dialog.request().input_ids == (_input_id(dialog, "Web (platform)"),)


def _input_id(dialog: NewAudienceDialog, text: str) -> int:
    return next(i for i, check in dialog.input_checks.items() if check.text() == text)


def test_the_form_keeps_its_place_as_problems_and_hints_come_and_go(qtbot, two_workspaces):
    # Issue 23: the fields below a problem line jumped down as it appeared (and up as it went).
    with OpenHome.open(two_workspaces) as opened:
        dialog = NewAudienceDialog(opened, None, read_choices(opened))
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)

        def places() -> tuple[int, ...]:
            dialog.layout().activate()
            return (dialog.external_name.mapTo(dialog, dialog.external_name.rect().topLeft()).y(),
                    dialog.inputs_group.mapTo(dialog, dialog.inputs_group.rect().topLeft()).y(),
                    dialog.inputs_group.height(), dialog.buttons.mapTo(dialog, dialog.buttons.rect().topLeft()).y())

        before = places()
        dialog.name.setText("Lapsed buyers")  # taken: the name's problem appears
        assert dialog.name_problem.isVisibleTo(dialog)
        assert places() == before
        dialog.name.setText("Web campers")
        _input_named(dialog, "Web (platform)").setChecked(True)  # the "none ticked" hint goes
        assert not dialog.inputs_hint.isVisibleTo(dialog)
        assert places() == before
