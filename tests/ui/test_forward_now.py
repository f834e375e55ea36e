"""Forward Now from the Connections pane: the batches sent of those planned, and Cancel mid-run (the next run resumes)."""

from __future__ import annotations

import os
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.engines.forwarding import ForwardingEngine
from app.engines.home import OpenHome
from app.ui.connections import forward
from app.ui.connections.pane import ConnectionsPane
from app.ui.home import HomeConnection
from app.ui.workers import Tasks
from tests.outputs.homes import NOW, identity_example

TIMEOUT = 30_000


class HeldEngine(ForwardingEngine):
    """The real engine, 10 IDFAs a batch, that stops before recording batch `hold_at` until the test releases it
    (as a slow partner would keep it waiting), so the test can look at the dialog and press Cancel mid-run."""

    def __init__(self, home, hold_at: int):
        super().__init__(home, now=lambda: NOW, sleep=lambda _s: None, batch_size=10)
        self.hold_at, self.acknowledged = hold_at, 0
        self.holding, self.release = threading.Event(), threading.Event()

    def _acknowledge(self, connection_id, batch, *rejected):
        self.acknowledged += 1
        if self.acknowledged == self.hold_at:
            self.holding.set()
            self.release.wait(TIMEOUT / 1000)
        return super()._acknowledge(connection_id, batch, *rejected)


@pytest.fixture
def exported(home_dir, tmp_path):
    """The issue's 100 gold members, connected to a file export of their IDFAs (10 batches of 10)."""
    with OpenHome.open(home_dir, user="admin") as home:
        _, _, audience = identity_example(home)
        output = home.outputs.create("Export", "file_export", {"folder": str(tmp_path), "identity_types": ["ios_idfa"]})
        connection = home.connections.connect(audience.id, output.id)
    return home_dir, connection.id


@pytest.fixture
def pane(qtbot, exported):
    home_dir, _ = exported
    tasks = Tasks()
    connection = HomeConnection(home_dir, tasks)
    pane = ConnectionsPane(connection, tasks)
    qtbot.addWidget(pane)
    pane.show()
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT):
        connection.start()
    yield pane
    connection.close()


def cancel_button(dialog) -> QPushButton:
    return next(b for b in dialog.findChildren(QPushButton) if b.text() in ("Cancel", "Stopping…"))


def test_forward_now_shows_batches_sent_of_planned_and_cancel_stops_mid_run_then_the_next_run_resumes(
        qtbot, pane, exported, monkeypatch):
    _, connection_id = exported
    engines: list[HeldEngine] = []
    monkeypatch.setattr(forward, "make_engine", lambda home: engines.append(HeldEngine(home, hold_at=4)) or engines[-1])
    pane.select_connection(connection_id)
    pane.forward_action.trigger()
    run, engine = pane.run, engines[0]
    qtbot.waitUntil(engine.holding.is_set, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: run.progress.labelText() == "Forwarding “Gold members” to “Export”: sent 3 of 10 batches…", timeout=TIMEOUT)
    assert (run.progress.value(), run.progress.maximum()) == (3, 10)
    if os.environ.get("AUDIENCE_STUDIO_RENDER"):  # a look at the dialog, for whoever changes it
        run.progress.grab().save(os.environ["AUDIENCE_STUDIO_RENDER"])

    qtbot.mouseClick(cancel_button(run.progress), Qt.MouseButton.LeftButton)
    assert run.progress.isVisible() and run.progress.labelText().startswith("Stopping after the batch")
    engine.release.set()
    with qtbot.waitSignal(run.finished, timeout=TIMEOUT) as finished:
        pass
    report = finished.args[0]
    # The batch being sent when Cancel was pressed is kept; the other six wait for the next run.
    assert (report.outcome, report.batches, report.added) == ("cancelled", 4, 40)
    assert "cancelled after 4 batch(es)" in pane.outcome.text() and not run.progress.isVisible()
    home = pane.connection.open_home
    info = home.connections.get(connection_id)
    assert (info.identities_held, info.pending_batches) == (40, 6)

    pane.forward_action.trigger()
    engines[1].release.set()
    qtbot.waitUntil(lambda: pane.outcome.text().startswith("Forwarded"), timeout=TIMEOUT)
    assert "60 added, 0 removed in 6 batch(es)" in pane.outcome.text()
    info = home.connections.get(connection_id)
    assert (info.identities_held, info.pending_batches) == (100, 0)
