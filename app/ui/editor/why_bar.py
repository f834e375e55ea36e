"""Why / why not on the editor's canvas: look a profile up (email, customer id, device id or mpid) and mark
every card and group of the draft being edited, saved or not, as matching or failing it, with the
evidence on the card.

The verdicts come from the insights engine (`app.engines.insights.why`, the compiler's own per-node
sets restricted to the profile), asked in a worker; the newest question wins and interrupts the older
one's query. While a profile is shown, every change to the criteria asks again for the same profile
(after a short pause), so the marks always describe the draft on the canvas.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout, QWidget

from app.engines.insights.subjects import Subject
from app.engines.insights.why import Explanation, explain, find_profile
from app.ui.home import HomeConnection
from app.ui.insights.requests import Requests
from app.ui.kit.busy import BusyBar
from app.ui.workers import Tasks

#: how long the criteria must rest before the profile is explained again
AGAIN_DELAY_MS = 400
LOOKUPS = (("Email", "email"), ("Customer id", "customer_id"), ("Device id", "device_id"), ("mpid", "mpid"))


class WhyBar(QWidget):
    """The bar above the canvas; hidden until "Why…" opens it. `explained` fires with each Explanation shown."""

    explained = Signal(object)
    #: the headline shown (a verdict, or why there is none), for the editor's tests and screen readers
    said = Signal(str)

    def __init__(self, connection: HomeConnection, tasks: Tasks, draft: Callable[[], Subject],
                 show_verdicts: Callable[[dict[str, tuple[bool, str]] | None], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connection, self.draft, self.show_verdicts = connection, draft, show_verdicts
        self.setAccessibleName("Why or why not")
        self.kind = QComboBox()
        self.kind.setAccessibleName("Look the profile up by")
        for label, key in LOOKUPS:
            self.kind.addItem(label, key)
        self.value = QLineEdit()
        self.value.setAccessibleName("Profile to explain")
        self.value.setPlaceholderText("Type an email, customer id, device id or mpid and press Enter")
        self.value.setClearButtonEnabled(True)
        self.value.returnPressed.connect(self.look_up)
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setAccessibleName("Verdict")
        self.close_button = QToolButton(text="✕", autoRaise=True)
        self.close_button.setToolTip("Stop explaining: clear the marks on the cards (Esc)")
        self.close_button.setAccessibleName("Close why or why not")
        self.close_button.clicked.connect(self.close_bar)
        self.busy_bar = BusyBar()
        self.requests = Requests(tasks, self.busy_bar, "Explaining the profile", self)
        self.requests.failed.connect(self._failed)
        self.again = QTimer(self, singleShot=True, interval=AGAIN_DELAY_MS)
        self.again.timeout.connect(self._ask)
        #: (kind, value) of the profile shown, or None
        self.asked: tuple[str, str] | None = None
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Why / why not:"))
        row.addWidget(self.kind)
        row.addWidget(self.value, 1)
        row.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.headline)
        self.headline.setVisible(False)
        self.setVisible(False)

    def open_bar(self) -> None:
        """Show the bar and put the cursor in the box."""
        self.setVisible(True)
        self.value.setFocus()
        self.value.selectAll()

    def close_bar(self) -> None:
        """Hide the bar, stop asking and clear the marks."""
        self.again.stop()
        self.requests.stop()
        self.asked = None
        self.headline.setVisible(False)
        self.show_verdicts(None)
        self.setVisible(False)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close_bar()
            return
        super().keyPressEvent(event)

    def look_up(self, kind: str | None = None, value: str | None = None) -> None:
        """Explain the profile typed (or `kind`/`value`) against the draft as it is now."""
        if kind is not None:
            self.kind.setCurrentIndex(self.kind.findData(kind))
        if value is not None:
            self.value.setText(value)
        text = self.value.text().strip()
        if not text:
            self._say(f"Type the {self.kind.currentText().lower()} to look up.")
            return
        self.setVisible(True)
        self.asked = (self.kind.currentData(), text)
        self._ask()

    def criteria_changed(self) -> None:
        """The draft's criteria changed: explain the same profile again after a short pause."""
        if self.asked is not None:
            self.show_verdicts(None)  # the marks were about other criteria
            self._say("Checking the changed criteria…")
            self.again.start()

    def stop(self) -> None:
        self.again.stop()
        self.requests.stop()

    def _ask(self) -> None:
        home = self.connection.open_home
        if home is None or self.asked is None:
            return
        (by, value), subject = self.asked, self.draft()
        label = dict((key, text) for text, key in LOOKUPS)[by].lower()

        def work(queries) -> Explanation:
            mpid = find_profile(home, subject, by, value)
            return explain(home, subject, mpid, found_by=f"{label} {value}", queries=queries)

        self.requests.ask(work, self._show)

    def _show(self, result: Explanation) -> None:
        self.show_verdicts({node.node_id: (node.matches, node.evidence) for node in result.nodes})
        where = "is in the audience" if result.in_audience else "is not in the audience"
        self._say(f"mpid {result.mpid} ({result.found_by}) {where} as drafted: "
                  "each card says whether it matches (✓) or fails (✗), and why.")
        self.explained.emit(result)

    def _failed(self, message: str) -> None:
        self.show_verdicts(None)
        self._say(message)

    def _say(self, text: str) -> None:
        self.headline.setText(text)
        self.headline.setVisible(bool(text))
        self.said.emit(text)

