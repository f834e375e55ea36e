"""The A/B Test tab's saved test: each variation's share, size and connections, a Connect… for each, Delete Test….

A saved test cannot be edited; it can be connected (each variation, or the whole audience, to an
output) or deleted as a whole. The sizes are counted from the cache in a worker (newest request
wins); Delete Test… is asked for by the tab, which first names the connections that go with it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.connectors.outputs.settings import SettingsProblems
from app.engines import variant_sizes
from app.engines.home import OpenHome
from app.models.services.ab_tests import ABTestInfo
from app.models.services.connections import ConnectionInfo
from app.models.services.outputs import OutputInfo
from app.ui.editor.ab_draft import bold, muted, users_text
from app.ui.home import HomeConnection
from app.ui.kit.newest import NewestWins
from app.ui.workers import Tasks, failure_message

WHOLE_AUDIENCE = "Whole audience"


class SavedTestView(QWidget):
    """The saved test of one audience, with its connections; shows it again on `show_test`."""

    #: fires when the users per variation are shown (in the test's order)
    sizes_shown = Signal(object)
    #: the user asked to delete the test (Delete Test…)
    delete_requested = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int,
                 home: Callable[[], OpenHome | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connection = connection
        self.tasks = tasks
        self.audience_id = audience_id
        self._home = home
        self.test: ABTestInfo | None = None
        self.connections: list[ConnectionInfo] = []
        self.external_name = ""
        self.sizes: list[int] | None = None
        self.dialog: ConnectVariationDialog | None = None
        self._sizes = NewestWins()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(10)
        layout.addWidget(bold("A/B test"))
        self.summary = muted(QLabel())
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Summary")
        layout.addWidget(self.summary)
        self.saved_grid_box = QWidget()
        self.saved_grid = QGridLayout(self.saved_grid_box)
        self.saved_grid.setContentsMargins(0, 4, 0, 4)
        self.saved_grid.setHorizontalSpacing(14)
        self.saved_grid.setColumnMinimumWidth(0, 140)
        self.saved_grid.setColumnMinimumWidth(2, 90)
        self.saved_grid.setColumnStretch(3, 1)
        layout.addWidget(self.saved_grid_box)
        self.saved_status = muted(QLabel())
        self.saved_status.setWordWrap(True)
        layout.addWidget(self.saved_status)
        self.saved_message = QLabel()
        self.saved_message.setWordWrap(True)
        self.saved_message.setStyleSheet("color: #c62828;")
        self.saved_message.setVisible(False)
        layout.addWidget(self.saved_message)
        self.delete_button = QPushButton("&Delete Test…")
        self.delete_button.setIcon(QIcon.fromTheme("edit-delete"))
        self.delete_button.setToolTip("Delete the test, its variations and every connection made for them")
        self.delete_button.clicked.connect(lambda: self.delete_requested.emit())
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.delete_button)
        layout.addLayout(row)
        layout.addStretch(1)
        #: variation id (None: the whole audience) → its Connect… button, for tests and keyboard users
        self.connect_buttons: dict[int | None, QPushButton] = {}
        self.size_labels: dict[int | None, QLabel] = {}

    def show_test(self, test: ABTestInfo, connections: list[ConnectionInfo], external_name: str) -> None:
        """Show the test's variations and connections, then count their sizes."""
        self.test, self.connections, self.external_name = test, connections, external_name
        while self.saved_grid.count():
            widget = self.saved_grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.connect_buttons.clear()
        self.size_labels.clear()
        when = test.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        example = test.variations[-1].name
        self.summary.setText(f"Saved by {test.created_by} on {when}. The variations are fixed: to change them, "
                             "delete the test and set up a new one. Partners receive each variation under the "
                             f"audience's external name and its own, e.g. “{self.external_name} - {example}”.")
        for column, title in enumerate(("Variation", "Share", "Users", "Connected to", "")):
            header = muted(QLabel(title))
            if title == "Users":
                header.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.saved_grid.addWidget(header, 0, column)
        rows: list[tuple[int | None, str, int]] = [(v.id, v.name, v.percent) for v in test.variations]
        rows.append((None, WHOLE_AUDIENCE, 100))
        for line, (variant_id, name, percent) in enumerate(rows, start=1):
            self._add_row(line, variant_id, name, percent)
        self.saved_status.setText("Counting the users of each variation…")
        home, audience_id = self._home(), self.audience_id
        if home is None:
            return
        ticket = self._sizes.begin()
        self.tasks.run(lambda: variant_sizes.sizes(home, audience_id), label="Counting the variations' users",
                       on_success=ticket.deliver(self._on_sizes), on_failure=ticket.deliver(self._on_sizes_failed))

    def _add_row(self, line: int, variant_id: int | None, name: str, percent: int) -> None:
        outputs = [c.output_name for c in self.connections if c.variant_id == variant_id]
        size = QLabel("…")
        size.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        size.setAccessibleName(f"Users in {name}")
        self.size_labels[variant_id] = size
        connected = QLabel(", ".join(outputs) if outputs else "Not connected")
        connected.setWordWrap(True)
        connected.setAccessibleName(f"Outputs of {name}")
        if not outputs:
            muted(connected)
        button = QPushButton("Connect…")
        button.setAccessibleName(f"Connect {name}")
        button.setToolTip(f"Connect {'the whole audience' if variant_id is None else name} to an output")
        button.clicked.connect(lambda _checked=False, v=variant_id: self.open_connect(v))
        self.connect_buttons[variant_id] = button
        label = QLabel(name) if variant_id is not None else muted(QLabel(name))
        for column, widget in enumerate((label, QLabel(f"{percent} %"), size, connected, button)):
            self.saved_grid.addWidget(widget, line, column)

    def stop(self) -> None:
        """Show no size still being counted (the tab closes)."""
        self._sizes.stop()

    def _on_sizes(self, sizes: list[int]) -> None:
        if self.test is None or len(sizes) != len(self.test.variations):
            return
        self.sizes = sizes
        for variation, size in zip(self.test.variations, sizes):
            if variation.id in self.size_labels:
                self.size_labels[variation.id].setText(users_text(size))
        if None in self.size_labels:
            self.size_labels[None].setText(users_text(sum(sizes)))
        self.saved_status.setText("Counted from the cache now; the variations follow the audience as it changes, "
                                  "and each user stays in the same variation.")
        self.sizes_shown.emit(sizes)

    def _on_sizes_failed(self, exc: BaseException) -> None:
        self.saved_status.setText(f"The sizes cannot be counted: {failure_message(exc, 'Counting the variations')}")

    def show_failure(self, text: str) -> None:
        self.saved_message.setText(f"⚠ {text}")
        self.saved_message.setVisible(True)

    def open_connect(self, variant_id: int | None) -> ConnectVariationDialog:
        """The dialog that connects a variation (None: the whole audience) to an output."""
        name = WHOLE_AUDIENCE if variant_id is None else self.test.variation(variant_id).name
        dialog = ConnectVariationDialog(self.connection, self.tasks, self.audience_id, variant_id, name, self,
                                        external_name=self.external_name)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()
        return dialog


class ConnectVariationDialog(QDialog):
    """Connect one variation (or the whole audience) to an output: choose the output, its settings and status."""

    #: fires on the GUI thread once connected (the ConnectionInfo)
    connected = Signal(object)

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int, variant_id: int | None,
                 name: str, parent: QWidget | None = None, *, external_name: str = "") -> None:
        super().__init__(parent)
        self._connection, self._tasks = connection, tasks
        self.audience_id, self.variant_id = audience_id, variant_id
        self.outputs: list[OutputInfo] = []
        self.setWindowTitle(f"Connect “{name}”")
        self.setMinimumWidth(440)
        what = "the whole audience" if variant_id is None else f"the users of “{name}”"
        downstream = external_name if variant_id is None else f"{external_name or '[External Name]'} - {name}"
        intro = QLabel(f"Send {what} to an output; the partner receives it as “{downstream}”.")
        intro.setWordWrap(True)
        self.output = QComboBox()
        self.output.setAccessibleName("Output")
        self.output.currentIndexChanged.connect(self._on_output_chosen)
        self.status = QComboBox()
        self.status.setAccessibleName("Status")
        self.status.addItem("Sending", "sending")
        self.status.addItem("Inactive", "inactive")
        self.form = QFormLayout()
        self.form.addRow("&Output", self.output)
        self.form.addRow("&Status", self.status)
        self.settings_box = QVBoxLayout()
        self.settings_form = None
        self.message = QLabel(wordWrap=True)
        self.message.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("&Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.connect_button.setEnabled(False)
        self.buttons.accepted.connect(self.connect_output)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(self.form)
        layout.addLayout(self.settings_box)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        home = connection.open_home
        tasks.run(lambda: home.outputs.list(), label="Loading outputs", on_success=self._on_outputs,
                  on_failure=lambda exc: self._show(failure_message(exc, "Loading outputs")))

    def _on_outputs(self, outputs: list[OutputInfo]) -> None:
        self.outputs = outputs
        with QSignalBlocker(self.output):
            for output in outputs:
                self.output.addItem(f"{output.name} ({output.partner_name})", output.id)
        if not outputs:
            self._show("There are no outputs yet: create one in the Connections pane first.")
            return
        self._on_output_chosen(0)
        self.connect_button.setEnabled(True)

    def choose_output(self, output_id: int) -> None:
        self.output.setCurrentIndex(self.output.findData(output_id))

    def _on_output_chosen(self, index: int) -> None:
        # Imported here: the form pulls in the partners' identity labels, needed only once a dialog opens.
        from app.connectors.outputs.directory import partner
        from app.ui.connections.form import FieldsForm

        if self.settings_form is not None:
            self.settings_box.removeWidget(self.settings_form)
            self.settings_form.deleteLater()
            self.settings_form = None
        if not 0 <= index < len(self.outputs):
            return
        fields = partner(self.outputs[index].partner).connection_fields
        if fields:
            self.settings_form = FieldsForm(fields)
            self.settings_box.addWidget(self.settings_form)

    def connect_output(self) -> None:
        output_id = self.output.currentData()
        if output_id is None:
            self._show("Choose an output to connect to.")
            return
        home = self._connection.open_home
        settings = self.settings_form.values() if self.settings_form is not None else {}
        status, audience_id, variant_id = self.status.currentData(), self.audience_id, self.variant_id
        self.connect_button.setEnabled(False)
        self._tasks.run(lambda: home.connections.connect(audience_id, output_id, settings, status=status,
                                                         variant_id=variant_id),
                        label="Connecting", on_success=self._on_connected, on_failure=self._on_failed)

    def _on_connected(self, info: ConnectionInfo) -> None:
        self.connected.emit(info)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.connect_button.setEnabled(True)
        if isinstance(exc, SettingsProblems) and self.settings_form is not None:
            self.settings_form.show_problems(exc.problems)
        self._show(failure_message(exc, "Connecting"))

    def _show(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
