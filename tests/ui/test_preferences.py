"""Preferences on a real home: a workspace's real-time window is stored and the live estimate uses it; app settings."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from app.engines.estimates import estimate_document
from app.ui import settings
from app.ui.editor.editor import AudienceEditor
from tests.ui.editor_homes import SESSIONS, document, fill_home

TIMEOUT_MS = 30_000
NAME = "Recent sessions"


def open_preferences(qtbot, window):
    window.preferences_action.trigger()
    qtbot.waitUntil(lambda: getattr(window, "preferences_dialog", None) is not None, timeout=TIMEOUT_MS)
    return window.preferences_dialog


def test_a_shorter_window_is_stored_and_the_open_estimate_counts_with_it(qtbot, open_window, home_dir):
    # Sessions "at least once in the last 30 days": the real-time window, not the criterion, is what binds.
    criterion = {**SESSIONS, "window": {"type": "within", "amount": 60, "unit": "days"}}
    ids = fill_home(home_dir, audiences={NAME: document(criterion)})
    window = open_window(home_dir)
    editor: AudienceEditor = window.pane("audiences").editors.open_audience(ids[NAME])
    editor.ask = lambda _editor: "discard"
    qtbot.waitUntil(lambda: editor.is_loaded() and editor.estimate.shown is not None
                    and editor.estimate.shown.exact and not editor.live.is_busy(), timeout=TIMEOUT_MS)
    assert editor.estimate.shown.realtime_days == 30
    home = window.connection.open_home

    dialog = open_preferences(qtbot, window)
    [days] = dialog.windows.values()
    assert days.value() == 30
    days.setValue(1)
    with qtbot.waitSignal(editor.live.exact_shown, timeout=TIMEOUT_MS) as shown:
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()

    assert home.workspaces.get(ids["workspace"]).realtime_window_days == 1
    estimate = shown.args[0]
    engine = estimate_document(home, editor.document, workspace_ids=[ids["workspace"]], exact=True)
    assert estimate.realtime_days == 1 and estimate.count == engine.count
    assert "last day of events" in editor.estimate.state.text()


def test_app_preferences_are_kept_in_qsettings(qtbot, open_window, home_dir):
    fill_home(home_dir, audiences={NAME: document(SESSIONS)})
    window = open_window(home_dir)
    dialog = open_preferences(qtbot, window)
    assert dialog.estimate_delay.value() == 300

    dialog.estimate_delay.setValue(500)
    with qtbot.waitSignal(dialog.saved, timeout=TIMEOUT_MS):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()

    assert settings.estimate_delay_ms() == 500
    assert QSettings().value(settings.ESTIMATE_DELAY_KEY) is not None


def test_the_live_audience_refresh_interval_is_stored_per_workspace(qtbot, open_window, home_dir):
    ids = fill_home(home_dir, audiences={NAME: document(SESSIONS)})
    window = open_window(home_dir)
    dialog = open_preferences(qtbot, window)
    [minutes] = dialog.refresh.values()
    assert minutes.value() == window.connection.open_home.workspaces.get(ids["workspace"]).membership_refresh_minutes
    assert minutes.isVisible() and "Refresh live audiences every" in minutes.text()

    minutes.setValue(5)
    with qtbot.waitSignal(dialog.saved, timeout=TIMEOUT_MS):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()

    assert window.connection.open_home.workspaces.get(ids["workspace"]).membership_refresh_minutes == 5


def test_an_empty_refresh_interval_is_refused_naming_the_field(qtbot, open_window, home_dir):
    ids = fill_home(home_dir, audiences={NAME: document(SESSIONS)})
    window = open_window(home_dir)
    dialog = open_preferences(qtbot, window)
    [minutes] = dialog.refresh.values()
    before = window.connection.open_home.workspaces.get(ids["workspace"]).membership_refresh_minutes
    minutes.lineEdit().clear()  # as a user deleting the number, then pressing OK
    minutes.lineEdit().setText(minutes.prefix() + minutes.suffix())

    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()

    assert dialog.isVisible() and dialog.problem.isVisible()
    assert "“Refresh live audiences every” of Retail" in dialog.problem.text()
    assert window.connection.open_home.workspaces.get(ids["workspace"]).membership_refresh_minutes == before


def test_preferences_show_where_the_data_and_the_logs_live(qtbot, open_window, home_dir):
    from app.paths import log_dir

    window = open_window(home_dir)
    dialog = open_preferences(qtbot, window)
    assert dialog.places == {"Data (home)": home_dir.root, "Logs": log_dir()}
    shown = " ".join(label.text() for label in dialog.findChildren(type(dialog.problem)))
    assert str(home_dir.root) in shown and str(log_dir()) in shown


def test_a_workspace_named_with_an_ampersand_is_labelled_as_typed(qtbot, open_window, home_dir):
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QFormLayout

    from app.engines.home import OpenHome

    with OpenHome.open(home_dir) as opened:
        opened.workspaces.create("Harbor & Pine US")
    dialog = open_preferences(qtbot, open_window(home_dir))
    [days] = dialog.windows.values()
    form = dialog.windows_form
    assert isinstance(form, QFormLayout) and form.indexOf(days) >= 0
    label = form.labelForField(days)
    assert label.text() == "Harbor && Pine US" and QKeySequence.mnemonic(label.text()).isEmpty()
