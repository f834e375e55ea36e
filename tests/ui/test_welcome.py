"""The first-run welcome: offered on an empty home only, builds the demo into the open home with
progress, and Cancel removes everything it added."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.engines.home import OpenHome
from app.paths import Home
from app.ui.home import HomeConnection
from app.ui.main_window import MainWindow
from app.ui.welcome import WelcomeDialog
from app.ui.workers import Tasks

TIMEOUT_MS = 120_000


def _connection(qtbot, home: Home) -> tuple[HomeConnection, Tasks]:
    tasks = Tasks()
    connection = HomeConnection(home, tasks)
    with qtbot.waitSignal(connection.opened, timeout=TIMEOUT_MS):
        connection.start()
    return connection, tasks


def _settle(qtbot, tasks: Tasks) -> None:
    # Let finished tasks be deleted while the test still holds the dialog their callbacks refer to:
    # a widget freed from inside another QObject's destructor corrupts PySide's heap.
    qtbot.waitUntil(lambda: not tasks.is_busy(), timeout=TIMEOUT_MS)
    qtbot.wait(20)


def _welcome_dialogs() -> list[WelcomeDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, WelcomeDialog) and w.isVisible()]


def test_the_demo_is_built_into_the_open_home_with_progress(qtbot, home_dir: Home) -> None:
    connection, tasks = _connection(qtbot, home_dir)
    try:
        dialog = WelcomeDialog(connection, tasks, demo_profiles=1_500)
        qtbot.addWidget(dialog)
        dialog.show()
        seen: list[int] = []
        dialog.progress.valueChanged.connect(lambda value: seen.append(value))
        with qtbot.waitSignal(dialog.finished_setup, timeout=TIMEOUT_MS) as done:
            qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)
            assert not dialog.demo_button.isEnabled() and dialog.cancel_button.isVisible()
        assert done.args[0].startswith("The demo workspace is ready: 1,500 people")
        assert seen and max(seen) > 0
        home = connection.open_home
        assert sorted(w.name for w in home.workspaces.list()) == ["Harbor & Pine EU", "Harbor & Pine US"]
        assert len(home.audiences.list()) == 8
        assert home.cache.cursor().execute("SELECT count(DISTINCT mpid) FROM profiles").fetchone()[0] == 1_500
        _settle(qtbot, tasks)
    finally:
        connection.close()


def test_cancel_removes_what_the_demo_had_added(qtbot, home_dir: Home) -> None:
    connection, tasks = _connection(qtbot, home_dir)
    try:
        dialog = WelcomeDialog(connection, tasks, demo_profiles=4_000)
        qtbot.addWidget(dialog)
        dialog.show()
        # Cancel as soon as the first events are loaded: the build stops at its next progress report.
        dialog.progress.valueChanged.connect(lambda value: value > 0 and dialog.cancel())
        dialog.demo_button.click()
        qtbot.waitUntil(lambda: not dialog.cancel_button.isVisible(), timeout=TIMEOUT_MS)
        assert "Cancelled" in dialog.status.text()
        assert dialog.isVisible() and dialog.demo_button.isEnabled()  # the user can choose again
        home = connection.open_home
        assert home.workspaces.list() == [] and home.audiences.list() == []
        cursor = home.cache.cursor()
        assert cursor.execute("SELECT count(*) FROM events").fetchone()[0] == 0
        assert cursor.execute("SELECT count(*) FROM profiles").fetchone()[0] == 0
        _settle(qtbot, tasks)
    finally:
        connection.close()


def test_the_window_offers_the_welcome_on_an_empty_home_only(qtbot, home_dir: Home, tmp_path) -> None:
    with OpenHome.open(Home(tmp_path / "busy")) as opened:
        opened.workspaces.create("Retail", [("platform", "iOS")])
    for home, expected in ((Home(tmp_path / "busy"), 0), (home_dir, 1)):
        tasks = Tasks()
        connection = HomeConnection(home, tasks)
        window = MainWindow(connection, tasks, welcome=True)
        qtbot.addWidget(window)
        window.show()
        try:
            with qtbot.waitSignal(connection.opened, timeout=TIMEOUT_MS):
                connection.start()
            qtbot.waitUntil(lambda: not tasks.is_busy(), timeout=TIMEOUT_MS)
            qtbot.wait(50)
            dialogs = _welcome_dialogs()
            assert len(dialogs) == expected, home
            for dialog in dialogs:
                assert dialog.demo_button.isEnabled()
                dialog.reject()
        finally:
            window.close()
            connection.close()



def test_after_the_welcome_demo_the_list_shows_the_live_audiences_calculated(qtbot, home_dir: Home) -> None:
    """The list showed "Not calculated" for the demo's Active audiences until F5."""
    from app.ui.audiences.model import NOT_CALCULATED_TEXT, Column

    tasks = Tasks()
    connection = HomeConnection(home_dir, tasks)
    window = MainWindow(connection, tasks, welcome=True)
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(connection.opened, timeout=TIMEOUT_MS):
            connection.start()
        window.membership_clock.timer.stop()  # only the demo's own work may calculate the audiences
        qtbot.waitUntil(lambda: len(_welcome_dialogs()) == 1, timeout=TIMEOUT_MS)
        [dialog] = _welcome_dialogs()
        dialog._demo_profiles = 1_500  # small enough for a test
        with qtbot.waitSignal(dialog.finished_setup, timeout=TIMEOUT_MS):
            dialog.demo_button.click()
        listed = window.pane("audiences").list
        home = connection.open_home
        active = [a.name for a in home.audiences.list(kind="realtime") if a.status == "active"]
        assert active

        def as_of_texts() -> list[str]:
            names = {listed.proxy.index(row, Column.NAME).data(): row for row in range(listed.proxy.rowCount())}
            return [listed.proxy.index(names[name], Column.AS_OF).data() for name in active if name in names]

        # No F5, no clock tick: the list reads the engine's calculation of the demo by itself.
        qtbot.waitUntil(lambda: len(as_of_texts()) == len(active)
                        and NOT_CALCULATED_TEXT not in as_of_texts(), timeout=20_000)
        _settle(qtbot, tasks)
    finally:
        window.close()
        connection.close()
