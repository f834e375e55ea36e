"""The Standard audiences pane and its dialogs (pytest-qt): tabs on a clock the test moves, the calculate dialog's
credits, its refusal when the balance is short, its progress and Cancel, and a new draft opening in the builder."""

from __future__ import annotations

import datetime as dt
import threading
from datetime import date

import pytest
from PySide6.QtCore import QDate

from app.engines.home import OpenHome
from app.models.services.standard_audiences import EXPIRY_DAYS
from app.engines.standard_calculation import CalculationJob, StandardAudiences
from app.ui.home import HomeConnection
from app.ui.standard.calculate_dialog import CalculateDialog
from app.ui.standard.pane import ID_ROLE, StandardAudiencesPane
from app.ui.workers import Tasks
from tests.models.services.test_standard_audiences import SESSIONS, Clock, sessions_workspace

TIMEOUT = 15_000


@pytest.fixture
def standard_home(home_dir):
    """Retail (sessions in 2018-2020) with 1 credit, a 2019 draft, a 2-year draft and a Ready "All of it"."""
    with OpenHome.open(home_dir, user="maria") as home:
        retail = sessions_workspace(home)
        home.credits.add(retail.id, 4, "Order 1")
        service = StandardAudiences(home, now=lambda: CLOCK_START)
        service.create("2019 visitors", workspace_id=retail.id, start=date(2019, 1, 1), end=date(2019, 12, 31),
                       criteria=SESSIONS)
        service.create("Two years", workspace_id=retail.id, start=date(2018, 1, 1), end=date(2020, 1, 1),
                       criteria=SESSIONS)
        ready = service.create("All of it", workspace_id=retail.id, criteria=SESSIONS)
        service.calculate([ready.id]).run()  # 3 credits: 1 is left
    return home_dir


#: Now: connecting an output checks expiry on the wall clock, so the panes' clocks start from it.
CLOCK_START = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture
def pane_on(qtbot):
    """A pane on its own over a home, with a clock the test moves."""
    made = []

    def make(home_dir, clock):
        tasks = Tasks()
        connection = HomeConnection(home_dir, tasks)
        pane = StandardAudiencesPane(connection, tasks, now=clock)
        qtbot.addWidget(pane)
        pane.resize(1000, 480)
        pane.show()
        made.append((connection, tasks))
        with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT):
            connection.start()
        return pane

    yield make
    for connection, tasks in made:
        tasks.wait()
        connection.close()


def names(pane) -> list[str]:
    return [pane.model.item(row, 0).text() for row in range(pane.model.rowCount())]


def ids_of(pane, wanted: list[str]) -> list[int]:
    return [pane.model.item(row, 0).data(ID_ROLE) for row in range(pane.model.rowCount())
            if pane.model.item(row, 0).text() in wanted]


def reload(qtbot, pane) -> None:
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT):
        pane.refresh()


def test_the_tabs_follow_the_lifecycle_on_the_panes_clock(qtbot, pane_on, standard_home):
    clock = Clock(CLOCK_START)
    pane = pane_on(standard_home, clock)
    assert [pane.tabs.tabText(i) for i in range(3)] == ["In progress (2)", "Ready (1)", "Archive"]
    assert names(pane) == ["2019 visitors", "Two years"]
    row = [pane.model.item(0, c).text() for c in range(pane.model.columnCount())]
    assert row[:5] == ["2019 visitors", "Retail", "01 Jan 2019 – 31 Dec 2019", "Draft", ""]
    assert pane.credits_label.text() == "Credits: Retail 1"

    pane.show_tab("ready")
    assert names(pane) == ["All of it"]
    assert pane.model.item(0, 3).text() == "Ready" and pane.model.item(0, 4).text() == "4"
    pane.select(ids_of(pane, ["All of it"]))
    assert pane.send_action.isEnabled() and not pane.calculate_action.isEnabled()

    clock.advance(days=EXPIRY_DAYS)
    reload(qtbot, pane)
    assert pane.stack.currentWidget() is pane.empty and pane.empty.title.text() == "No ready standard audiences"
    pane.show_tab("archive")
    assert names(pane) == ["All of it"] and pane.model.item(0, 3).text() == "Expired"
    pane.view.selectAll()
    assert not pane.send_action.isEnabled() and pane.clone_action.isEnabled()
    assert "clone it" in pane.send_action.toolTip()

    pane.clone_action.trigger()
    qtbot.waitUntil(lambda: names(pane) == ["2019 visitors", "All of it (copy)", "Two years"], timeout=TIMEOUT)
    assert pane.tabs.currentIndex() == 0 and "Cloned “All of it”" in pane.outcome.text()


def open_calculate(qtbot, pane, wanted: list[str]) -> CalculateDialog:
    pane.show_tab("in_progress")
    pane.select(ids_of(pane, wanted))
    assert pane.calculate_action.isEnabled()
    pane.calculate_action.trigger()
    dialog = pane.dialog
    qtbot.waitUntil(lambda: dialog.quote is not None or dialog.problem.isVisible(), timeout=TIMEOUT)
    return dialog


def test_the_calculate_dialog_shows_the_credits_before_anything_starts_then_calculates(qtbot, pane_on, standard_home, tmp_path):
    pane = pane_on(standard_home, Clock(CLOCK_START))
    dialog = open_calculate(qtbot, pane, ["2019 visitors"])
    assert dialog.audiences.count() == 1 and dialog.audiences.item(0).text() == "2019 visitors — 01 Jan 2019 to 31 Dec 2019"
    assert (dialog.days.text(), dialog.credits.text()) == ("365 days", "<b>1 credit</b>")
    assert dialog.balance.text() == "1 credit in “Retail” (0 after this)"
    assert dialog.calculate_button.isEnabled()
    assert not dialog.problem.isVisible()
    dialog.grab().save(str(tmp_path / "standard_calculate_dialog.png"))

    with qtbot.waitSignal(dialog.finished_calculation, timeout=TIMEOUT) as outcome:
        dialog.calculate_button.click()
    assert outcome.args == ["done"]
    assert dialog.progress.value() == 1 and dialog.cancel_button.text() == "Close"
    pane.show_tab("ready")
    qtbot.waitUntil(lambda: names(pane) == ["2019 visitors", "All of it"], timeout=TIMEOUT)
    assert pane.credits_label.text() == "Credits: Retail 0"


def test_the_calculate_dialog_refuses_when_the_balance_is_short(qtbot, pane_on, standard_home, tmp_path):
    pane = pane_on(standard_home, Clock(CLOCK_START))
    dialog = open_calculate(qtbot, pane, ["Two years", "2019 visitors"])
    assert (dialog.days.text(), dialog.credits.text()) == ("731 days", "<b>2 credits</b>")
    assert not dialog.calculate_button.isEnabled()
    assert dialog.problem.isVisible()
    assert dialog.problem.text() == 'This needs 2 credits; workspace "Retail" has 1. Ask an admin to add credits.'
    dialog.grab().save(str(tmp_path / "standard_calculate_dialog_short.png"))
    dialog.start()  # even if asked, nothing starts
    assert dialog.job is None
    reload(qtbot, pane)
    assert pane.credits_label.text() == "Credits: Retail 1"


def test_cancel_in_the_calculate_dialog_refunds_the_unfinished(qtbot, pane_on, standard_home, monkeypatch, tmp_path):
    pane = pane_on(standard_home, Clock(CLOCK_START))
    service = pane.service
    service.home.credits.add(pane.data.workspaces[0].id, 1, "Top-up")
    reload(qtbot, pane)
    release, started = threading.Event(), threading.Event()
    original = CalculationJob._calculate

    def held(job, audience):
        started.set()
        release.wait(TIMEOUT / 1000)
        return original(job, audience)

    monkeypatch.setattr(CalculationJob, "_calculate", held)
    dialog = open_calculate(qtbot, pane, ["Two years", "2019 visitors"])
    assert dialog.calculate_button.isEnabled()
    dialog.calculate_button.click()
    qtbot.waitUntil(lambda: dialog.job is not None and started.is_set(), timeout=TIMEOUT)
    assert dialog.cancel_button.text() == "Cancel Calculation"
    dialog.grab().save(str(tmp_path / "standard_calculate_progress.png"))
    with qtbot.waitSignal(dialog.finished_calculation, timeout=TIMEOUT) as outcome:
        dialog.cancel_button.click()
        release.set()
    assert outcome.args == ["cancelled"]
    assert "refunded" in dialog.status.text()
    # Cancelled while the first query was about to run: it is interrupted, nothing finished, all is refunded.
    ledger = service.home.credits.ledger(pane.data.workspaces[0].id)
    assert [e.change for e in ledger][-2:] == [-2, 2]
    assert {a.name: a.status for a in service.list()} == {"2019 visitors": "Draft", "Two years": "Draft",
                                                          "All of it": "Ready"}
    assert list((service.home.home.root / "standard").glob("*.tmp")) == []


def test_a_new_standard_audience_opens_in_the_builder(qtbot, open_window, standard_home, tmp_path):
    window = open_window(standard_home)
    window.navigation.setCurrentRow(1)
    pane = window.pane("standard")
    qtbot.waitUntil(lambda: pane.model.rowCount() == 2, timeout=TIMEOUT)
    qtbot.wait(50)  # let the layout take the tabs' new titles
    pane.grab().save(str(tmp_path / "standard_pane.png"))
    pane.new_action.trigger()
    qtbot.waitUntil(lambda: getattr(pane, "new_dialog", None) is not None, timeout=TIMEOUT)
    dialog = pane.new_dialog
    assert "The cache holds events from 05 May 2018 to 01 Jun 2020" in dialog.range_hint.text()
    dialog.name.setText("Spring 2019")
    dialog.between.setChecked(True)
    dialog.start.setDate(QDate(2019, 3, 1))
    dialog.end.setDate(QDate(2019, 5, 31))
    dialog.grab().save(str(tmp_path / "standard_new_dialog.png"))
    with qtbot.waitSignal(pane.open_requested, timeout=TIMEOUT) as opened:
        dialog.create_button.click()
    audience_id = opened.args[0]
    qtbot.waitUntil(lambda: window.pane("audiences").editors.is_open(audience_id), timeout=TIMEOUT)
    assert window.navigation.currentRow() == 0
    info = pane.service.get(audience_id)
    assert (info.status, info.range_start, info.range_end) == ("Draft", date(2019, 3, 1), date(2019, 5, 31))
    # The real-time list does not show standard audiences.
    assert [a.kind for a in window.pane("audiences").list.model.audiences()] == []


def test_send_forwards_a_ready_audience_to_the_chosen_connections(qtbot, pane_on, standard_home, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    with OpenHome.open(standard_home, user="maria") as home:
        ready = home.audiences.get("All of it")
        output = home.outputs.create("Files", "file_export", {"folder": str(folder), "format": "csv",
                                                              "identity_types": ["customer_id", "email", "ios_idfv"]})
        home.connections.connect(ready.id, output.id)
    pane = pane_on(standard_home, Clock(CLOCK_START))
    pane.show_tab("ready")
    pane.select(ids_of(pane, ["All of it"]))
    pane.send_action.trigger()
    dialog = pane.dialog
    qtbot.waitUntil(lambda: len(dialog.checks) == 1, timeout=TIMEOUT)
    check = next(iter(dialog.checks.values()))
    assert check.isChecked() and check.text().startswith("Files (") and check.text().endswith(") — never sent")
    dialog.grab().save(str(tmp_path / "standard_send_dialog.png"))
    with qtbot.waitSignal(dialog.sent, timeout=TIMEOUT) as sent:
        dialog.send_button.click()
    (report,) = sent.args[0]
    assert report.outcome in ("sent", "up to date") and report.reason is None
    assert dialog.buttons.buttons()[0].text() == "Close"
    with OpenHome.open(standard_home) as home:  # the store tells when Send was pressed
        (connection,) = home.connections.list(audience_id=ready.id)
        assert connection.send_requested_at is not None and connection.last_forwarded_at >= connection.send_requested_at


def test_delete_asks_first_and_removes_the_audience_and_its_members(qtbot, pane_on, standard_home, monkeypatch):
    pane = pane_on(standard_home, Clock(CLOCK_START))
    asked = []
    monkeypatch.setattr(pane, "confirm", lambda question, detail: asked.append(question) or len(asked) > 1)
    pane.show_tab("ready")
    pane.select(ids_of(pane, ["All of it"]))
    members_file = pane.service.home.home.root / "standard" / pane.selected()[0].members_file
    pane.delete_action.trigger()
    assert asked == ["Delete “All of it”?"] and names(pane) == ["All of it"]  # the user said no
    pane.delete_action.trigger()
    qtbot.waitUntil(lambda: names(pane) == [] and pane.outcome.text() == "Deleted “All of it”.", timeout=TIMEOUT)
    assert not members_file.exists()
