"""The Insights window for one audience (saved, or a draft handed over by its editor): a tab for its
members, one for why a profile is in it or not, one for its overlap with other audiences, one for
what it is made of and one for its edit history. Each tab asks the engine in workers; closing the
window stops them all."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from app.engines.insights.subjects import Subject, subject
from app.ui.home import HomeConnection
from app.ui.insights.breakdown_tab import BreakdownTab
from app.ui.insights.history_tab import EditorRestore, HistoryTab
from app.ui.insights.members_tab import MembersTab
from app.ui.insights.overlap_tab import OverlapTab
from app.ui.insights.why_tab import WhyTab
from app.ui.workers import Tasks, failure_message


class InsightsWindow(QWidget):
    """A window of its own (not modal), so the user can keep it beside the list or the editor."""

    closed = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, subject: Subject, parent: QWidget | None = None, *,
                 editor_restore: EditorRestore | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.subject = subject
        self.setWindowTitle(f"Insights — {subject.name}")
        self.setAccessibleName(f"Insights for {subject.name}")
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.members = MembersTab(connection, tasks, subject)
        self.tabs.addTab(self.members, "&Members")
        self.tabs.setTabToolTip(0, "Who is in the audience now: search, sort, copy, export")
        self.why = WhyTab(connection, tasks, subject)
        self.tabs.addTab(self.why, "&Why / why not")
        self.tabs.setTabToolTip(1, "Look a profile up and see which cards it matches and fails, and why")
        self.overlap = OverlapTab(connection, tasks, subject)
        self.tabs.addTab(self.overlap, "&Overlap")
        self.tabs.setTabToolTip(2, "How this audience overlaps up to five others: exact sizes of every intersection")
        self.breakdown = BreakdownTab(connection, tasks, subject)
        self.tabs.addTab(self.breakdown, "&Breakdown")
        self.tabs.setTabToolTip(3, "What the audience is made of, against the whole workspace")
        self.history = HistoryTab(connection, tasks, subject, editor_restore=editor_restore)
        self.tabs.addTab(self.history, "&History")
        self.tabs.setTabToolTip(4, "Every saved version: who saved it and when, what changed, restore one")
        for tab in (self.members, self.overlap):
            tab.why_requested.connect(self.explain_mpid)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tabs)
        QShortcut(QKeySequence.StandardKey.Close, self, self.close)
        self.resize(1180, 700)  # fits a 1280x800 screen with room for the matrix of six audiences
        for tab in self._tabs():
            tab.start()

    def explain_mpid(self, mpid: int) -> None:
        """Show the Why / why not tab for this member."""
        self.tabs.setCurrentWidget(self.why)
        self.why.look_up("mpid", str(mpid))

    def _tabs(self) -> list:
        return [self.tabs.widget(i) for i in range(self.tabs.count())]

    def closeEvent(self, event: QCloseEvent) -> None:
        # Nothing asked so far answers any more, and a running export stops and leaves no file.
        for tab in self._tabs():
            tab.stop()
        self.closed.emit()
        super().closeEvent(event)


def open_insights(connection: HomeConnection, tasks: Tasks, audience_id: int, parent: QWidget,
                  keep: Callable[[InsightsWindow], None] = lambda _w: None,
                  on_failure: Callable[[str], None] | None = None, *, tab: str | None = None,
                  editor_restore: EditorRestore | None = None) -> None:
    """Read the audience in a worker, then show its Insights window (`keep` is given the window), on `tab`
    ("members", "why", "overlap", "breakdown", "history") if given. `editor_restore`: the History tab loads
    versions into that editor rather than saving them."""
    home = connection.open_home
    if home is None:
        return

    def show(chosen: Subject) -> None:
        window = InsightsWindow(connection, tasks, chosen, parent, editor_restore=editor_restore)
        if tab is not None:
            window.tabs.setCurrentWidget(getattr(window, tab))
        keep(window)
        window.show()
        window.raise_()

    tasks.run(lambda: subject(home, audience_id), label="Opening the insights", on_success=show,
              on_failure=(lambda exc: on_failure(failure_message(exc, "Opening the insights"))) if on_failure else None)
