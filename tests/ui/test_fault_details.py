"""The fault-details window: opened from the Audiences list's fault icon, the Faults pane and the Connections pane;
the partner's message, status, time and retries, the common causes with their fixes, and a status line that follows
Re-authenticate and Resume (against the real OAuth server and an OAuth partner on 127.0.0.1)."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt

from app.ui.audiences.model import AUDIENCE_ROLE, Column
from app.ui.connections import forward, sign_in
from tests.outputs.browser import ScriptedBrowser
from tests.ui.test_faults_pane import faulted_home, partner_api, quick_engine  # noqa: F401 (fixtures)

TIMEOUT = 20_000


def click_fault_icon(qtbot, window, name: str) -> None:
    table = window.pane("audiences").list.table
    proxy = table.model()
    row = next(r for r in range(proxy.rowCount())
               if proxy.index(r, Column.NAME).data(AUDIENCE_ROLE).name == name)
    index = proxy.index(row, Column.CONNECTED_OUTPUTS)
    table.scrollTo(index)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(index).center())


def test_the_fault_icon_opens_the_details_and_resume_updates_the_status_line(
        qtbot, open_window, faulted_home, partner_api, monkeypatch):  # noqa: F811
    browser = ScriptedBrowser()
    monkeypatch.setattr(sign_in, "open_browser", browser)
    monkeypatch.setattr(forward, "make_engine", quick_engine)
    window = open_window(faulted_home)
    audiences = window.pane("audiences").list
    qtbot.waitUntil(lambda: audiences.fault_window is None, timeout=TIMEOUT)
    click_fault_icon(qtbot, window, "Gold members")
    details = audiences.fault_window
    assert details is not None
    qtbot.waitUntil(lambda: details.isVisible() and details.current_fault() is not None, timeout=TIMEOUT)

    fault = details.current_fault()
    assert details.title.text() == "“Gold members” → “Partner API”"
    assert details.status.text().startswith("⚠ Open since ") and "is stopped until the fault is resumed" in \
        details.status.text()
    fields = {key: label.text() for key, label in details.fields.items()}
    assert (fields["category"], fields["status_code"], fields["retries"]) == ("Authentication", "401", "0")
    assert fields["message"] == fault.message and "answered 401" in fields["message"]
    assert fields["batch"] == fault.batch_id and fields["began"]
    causes = details.causes.text()
    # The seed's common causes, this fault's first, each with its fix.
    assert causes.index("Authentication (this fault)") < causes.index("Permissions") < causes.index("Rate limiting")
    assert "Re-authenticate" in causes and "Check the credentials" in causes and "Wait until" in causes
    assert details.reauthenticate_button.isVisibleTo(details) and details.resume_button.isEnabled()

    details.reauthenticate_button.click()
    with qtbot.waitSignal(details.run.finished, timeout=TIMEOUT) as signed_in:
        pass
    browser.join()
    assert signed_in.args[0] is True and "Press Resume" in details.outcome.text()
    assert details.current_fault().open  # only Resume restarts forwarding

    details.resume_button.click()
    qtbot.waitUntil(lambda: details.status.text().startswith("✓ Resumed "), timeout=TIMEOUT)
    resumed = details.current_fault()
    assert not resumed.open and f"by {resumed.resolved_by}:" in details.status.text()
    qtbot.waitUntil(lambda: details.outcome.text().startswith("Forwarded"), timeout=TIMEOUT)
    assert "60 added" in details.outcome.text() and not details.resume_button.isEnabled()
    assert set(partner_api.added.values()) == {1} and len(partner_api.added) == 100
    if os.environ.get("AUDIENCE_STUDIO_RENDER"):  # a look at the window, for whoever changes it
        details.grab().save(os.environ["AUDIENCE_STUDIO_RENDER"])


def test_the_faults_pane_and_the_connections_pane_open_the_same_details(qtbot, open_window, faulted_home):  # noqa: F811
    window = open_window(faulted_home)
    faults = window.pane("faults")
    qtbot.waitUntil(lambda: len(faults.faults) == 1, timeout=TIMEOUT)
    assert faults.details_action.isEnabled()
    faults.details_action.trigger()
    from_faults = faults.dialog
    qtbot.waitUntil(lambda: from_faults.current_fault() is not None, timeout=TIMEOUT)
    assert from_faults.current_fault().id == faults.faults[0].id

    connections = window.pane("connections")
    qtbot.waitUntil(lambda: connections.connection_model.rowCount() == 1, timeout=TIMEOUT)
    connections.select_connection(connections.connections[0].id)
    assert connections.fault_action.isEnabled()
    connections.fault_action.trigger()
    from_connections = connections.dialog
    qtbot.waitUntil(lambda: from_connections.current_fault() is not None, timeout=TIMEOUT)
    assert from_connections.current_fault().id == faults.faults[0].id

    # Resumed elsewhere (the Faults pane, another window, the command line): both windows say so.
    window.connection.open_home.faults.resume(faults.faults[0].id)
    for shown in (from_faults, from_connections):
        qtbot.waitUntil(lambda shown=shown: shown.status.text().startswith("✓ Resumed "), timeout=TIMEOUT)
        assert not shown.resume_button.isEnabled()
