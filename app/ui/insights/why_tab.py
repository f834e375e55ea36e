"""The Why / why not tab: look a profile up by email, customer id, device id or mpid and see whether it is in
the audience, and for every card and group (indented as on the canvas) whether it matches, with the
evidence in words. A verdict is a mark, a word and a colour, so it reads without the colour too."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.builder.document import walk
from app.builder.editing import describe
from app.engines.insights.subjects import Subject
from app.engines.insights.why import Explanation, explain, find_profile
from app.ui.home import HomeConnection
from app.ui.insights.requests import Requests
from app.ui.insights.verdicts import FAIL, FAIL_WORDS, MATCH, MATCH_WORDS
from app.ui.kit.busy import BusyBar
from app.ui.workers import Tasks

#: (what the chooser says, the engine's lookup, the field's hint)
LOOKUPS = (("Email", "email", "ada@example.com"), ("Customer id", "customer_id", "C-1042"),
           ("Device id", "device_id", "an advertising id, IDFV, Android UUID…"), ("mpid", "mpid", "-8843…"))


class WhyTab(QWidget):
    """Explains one profile at a time; `answered` fires with the explanation (or None after a message)."""

    answered = Signal(object)

    def __init__(self, connection: HomeConnection, tasks: Tasks, subject: Subject, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connection, self.subject = connection, subject
        self.kind = QComboBox()
        self.kind.setToolTip("Look the profile up by this identity")
        self.kind.setAccessibleName("Look up by")
        for label, key, _hint in LOOKUPS:
            self.kind.addItem(label, key)
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.value = QLineEdit()
        self.value.setClearButtonEnabled(True)
        self.value.setAccessibleName("Identity to look up")
        self.value.setToolTip("An email or device id matches ignoring case; a customer id exactly")
        self.value.returnPressed.connect(self.explain)
        self.button = QPushButton("E&xplain")
        self.button.setToolTip("Show whether this profile is in the audience and why (Enter)")
        self.button.clicked.connect(self.explain)
        row = QHBoxLayout()
        row.addWidget(QLabel("Look up by"))
        row.addWidget(self.kind)
        row.addWidget(self.value, 1)
        row.addWidget(self.button)

        self.busy_bar = BusyBar()
        self.requests = Requests(tasks, self.busy_bar, "Explaining the profile", self)
        self.headline = QLabel("Type an email, customer id, device id or mpid, then press Enter.")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.headline.setFont(font)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setVisible(False)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Card or group", "Verdict", "Evidence"])
        self.tree.headerItem().setToolTip(0, "The audience's cards and groups, as on the canvas")
        self.tree.headerItem().setToolTip(1, "Whether the profile matches the card (after its exclusion)")
        self.tree.headerItem().setToolTip(2, "What was compared: the events counted and their times, the values, the distance")
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setColumnWidth(0, 300)

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.headline)
        layout.addWidget(self.note)
        layout.addWidget(self.tree, 1)
        self.requests.failed.connect(self._say_failure)
        self._on_kind(0)

    def start(self) -> None:
        self.value.setFocus()

    def stop(self) -> None:
        self.requests.stop()

    def _on_kind(self, index: int) -> None:
        self.value.setPlaceholderText(LOOKUPS[index][2])

    def look_up(self, by: str, value: str) -> None:
        """Choose the lookup `by` (email, customer_id, device_id, mpid), fill in `value` and explain."""
        self.kind.setCurrentIndex(next(i for i, (_l, key, _h) in enumerate(LOOKUPS) if key == by))
        self.value.setText(value)
        self.explain()

    def explain(self) -> None:
        home = self.connection.open_home
        if home is None:
            return
        subject, by, value = self.subject, self.kind.currentData(), self.value.text().strip()
        if not value:
            self._say_failure(f"Type the {self.kind.currentText().lower()} to look up.")
            return
        label = self.kind.currentText().lower()

        def work(queries) -> tuple[Explanation, dict[str, str]]:
            mpid = find_profile(home, subject, by, value)
            result = explain(home, subject, mpid, found_by=f"{label} {value}", queries=queries)
            names = {a.id: a.name for a in home.audiences.list()}
            return result, {node["id"]: describe(node, names) for _path, node in walk(subject.document["root"])}

        self.headline.setText(f"Looking up {label} “{value}”…")
        self.requests.ask(work, self._show)

    def _say_failure(self, message: str) -> None:
        self.tree.clear()
        self.note.setVisible(False)
        self.headline.setText(message)
        self.headline.setStyleSheet("")
        self.answered.emit(None)

    def _show(self, answer: tuple[Explanation, dict[str, str]]) -> None:
        result, words = answer
        verdict = "is in" if result.in_audience else "is not in"
        mark = "✓" if result.in_audience else "✗"
        self.headline.setText(f"{mark} Profile {result.mpid} ({result.found_by}) {verdict} “{result.audience}”.")
        self.headline.setStyleSheet(f"color: {(MATCH if result.in_audience else FAIL).name()}; font-weight: bold;")
        self.note.setText(result.note or "")
        self.note.setVisible(bool(result.note))
        self.tree.clear()
        parents: list[QTreeWidgetItem] = []
        for node in result.nodes:
            parents = parents[:node.depth]
            title = words.get(node.node_id) or node.type
            item = QTreeWidgetItem([title[:1].upper() + title[1:], MATCH_WORDS if node.matches else FAIL_WORDS,
                                    node.evidence])
            item.setForeground(1, QBrush(MATCH if node.matches else FAIL))
            item.setToolTip(0, f"{title} (card {node.node_id}, {node.type.replace('_', ' ')})")
            item.setToolTip(1, "The profile matches this" if node.matches else "The profile does not match this")
            item.setToolTip(2, node.evidence)
            (parents[-1].addChild(item) if parents else self.tree.addTopLevelItem(item))
            parents.append(item)
        self.tree.expandAll()
        self.answered.emit(result)
