"""Connecting audiences to an output: choose one or several (a bulk connect), one set of settings, then the report.

One single-workspace real-time audience may also share user attributes with a partner that takes them
("Attributes to share", all off); until some are chosen the dialog suggests connecting it Inactive.
`SharedAttributesDialog` changes a connection's shared attributes later.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.connectors.outputs.directory import partner
from app.connectors.outputs.settings import SettingsProblems
from app.models.services.connections import (
    BulkReport,
    BulkResult,
    ConnectionInfo,
    SharingChoices,
)
from app.engines.home import OpenHome
from app.models.services.outputs import OutputInfo
from app.ui.connections.form import FieldsForm
from app.ui.workers import Tasks, failure_message
from app.ui.kit.dialogs import keep_whole

STATUSES = (("sending", "Sending"), ("inactive", "Inactive"))


class AttributeChecklist(QGroupBox):
    """“Attributes to share”: the workspace's user attributes to tick (all off), or why none can be shared."""

    #: fires when the admin ticks or unticks an attribute
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Attributes to share", parent)
        self.setToolTip("User attributes forwarded with each identity of this connection (none unless ticked).")
        self.note = QLabel(wordWrap=True)
        self.note.setAccessibleName("Attribute sharing note")
        self.list = QListWidget()
        self.list.setAccessibleName("Attributes to share")
        self.list.setMinimumHeight(96)
        self.list.setMaximumHeight(160)
        self.list.itemChanged.connect(lambda _item: self.changed.emit())
        self.choices: SharingChoices | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.list)

    @property
    def offers_choices(self) -> bool:
        """Whether there are attributes to tick (an eligible connection of a workspace that has some)."""
        return self.choices is not None and self.choices.eligible and bool(self.choices.names)

    def explain(self, text: str) -> None:
        """No choice to offer: say why."""
        self.choices = None
        self.list.clear()
        self.list.setVisible(False)
        self.note.setText(text)

    def show_choices(self, choices: SharingChoices, checked: tuple[str, ...] = ()) -> None:
        self.choices = choices
        self.list.blockSignals(True)
        self.list.clear()
        for name in choices.names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in checked else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.list.setVisible(self.offers_choices)
        if not choices.eligible:
            self.note.setText(choices.refusal)
        elif not choices.names:
            self.note.setText("The audience's workspace has no user attributes yet; sync or import data first.")
        else:
            self.note.setText("Tick the user attributes to forward with each identity; none are shared unless "
                              "ticked.")

    def choose(self, names: list[str]) -> None:
        """Tick exactly these attributes (as the admin would)."""
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setCheckState(Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked)

    def chosen(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())
                if self.list.item(row).checkState() == Qt.CheckState.Checked]


class ConnectDialog(QDialog):
    """Tick audiences (from `audiences`: (id, name) pairs); Connect connects them and shows each one's outcome."""

    #: fires on the GUI thread once a connect or bulk connect ran: the BulkReport
    connected = Signal(object)

    def __init__(self, home: OpenHome, tasks: Tasks, output: OutputInfo, audiences: list[tuple[int, str]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home, self._tasks, self.output = home, tasks, output
        self.setWindowTitle(f"Connect Audiences to “{output.name}”")

        self.search = QLineEdit(placeholderText="Filter audiences")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.audiences = QListWidget()
        self.audiences.setAccessibleName("Audiences to connect")
        for audience_id, name in audiences:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, audience_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.audiences.addItem(item)
        self.audiences.itemChanged.connect(lambda _item: self._update_sharing())
        # One audience with an A/B test: send the whole audience or one of its variations (bulk refuses it).
        self.target = QComboBox()
        self.target.setAccessibleName("Send")
        self.target.setToolTip("The audience has an A/B test: connect the whole audience or one variation")
        self._target_audience: int | None = None
        self.audiences.itemChanged.connect(lambda _item: self._update_target())
        self.status = QComboBox()
        for key, label in STATUSES:
            self.status.addItem(label, key)
        # Once the admin picks a status, the dialog stops suggesting one.
        self._status_chosen = False
        self.status.activated.connect(self._on_status_chosen)
        self.status_hint = QLabel(wordWrap=True)
        self.status_hint.setAccessibleName("Status suggestion")
        self.status_hint.setVisible(False)
        self.sharing = AttributeChecklist()
        self.sharing.changed.connect(self._suggest_status)
        #: the audience whose attribute choices are shown or being loaded
        self._sharing_audience: int | None = None
        self.settings_form = FieldsForm(partner(output.partner).connection_fields)
        form = QFormLayout()
        form.addRow("&Status", self.status)
        form.addRow("", self.status_hint)
        form.addRow("S&end", self.target)
        form.setRowVisible(self.target, False)
        self._form = form
        hint = QLabel("Tick several audiences to connect them all with the same settings.", wordWrap=True)

        self.report = QListWidget()
        self.report.setAccessibleName("Connection report")
        # A refusal's reason is a sentence: wrapped within the dialog, never cut at its edge or behind a
        # sideways scroll.
        self.report.setWordWrap(True)
        self.report.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.report.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.report.setResizeMode(QListView.ResizeMode.Adjust)
        self.report.setVisible(False)
        self.message = QLabel(wordWrap=True)
        self.message.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("&Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.connect_chosen)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        keep_whole(self, 480)
        layout.addWidget(hint)
        layout.addWidget(self.search)
        layout.addWidget(self.audiences, 1)
        layout.addWidget(self.sharing)
        layout.addLayout(form)
        if self.settings_form.inputs:
            layout.addWidget(self.settings_form)
        layout.addWidget(self.message)
        layout.addWidget(self.report, 1)
        layout.addWidget(self.buttons)

        self._update_sharing()

    # -- attributes to share --------------------------------------------------------------------

    def _update_sharing(self) -> None:
        """Offer the attributes of the one audience ticked, or say why there is nothing to choose."""
        declared = partner(self.output.partner)
        chosen = self.chosen()
        if not declared.accepts_attributes:
            self._sharing_audience = None
            self.sharing.explain(declared.attributes_refusal())
        elif len(chosen) != 1:
            self._sharing_audience = None
            self.sharing.explain("Tick one audience to choose user attributes to share with it (several audiences "
                                 "connect with identities only)." if chosen else
                                 "Tick one audience to see the user attributes it can share.")
        elif chosen[0] != self._sharing_audience:
            self._sharing_audience = audience_id = chosen[0]
            self.sharing.explain("Looking up the workspace's user attributes…")
            service, output_id = self._home.connections, self.output.id
            self._tasks.run(lambda: service.sharing_choices(audience_id, output_id),
                            label="Loading user attributes",
                            on_success=lambda choices: self._on_choices(audience_id, choices),
                            on_failure=lambda exc: isValid(self) and self.sharing.explain(
                                failure_message(exc, "Loading attributes")))
            return
        self._suggest_status()

    def _update_target(self) -> None:
        """Offer the variations of the one audience ticked when it has an A/B test; hide the choice otherwise."""
        chosen = self.chosen()
        audience_id = chosen[0] if len(chosen) == 1 else None
        if audience_id == self._target_audience:
            return
        self._target_audience = audience_id
        self.target.clear()
        self._form.setRowVisible(self.target, False)
        if audience_id is not None:
            home = self._home
            self._tasks.run(lambda: home.ab_tests.get(audience_id), label="Reading the audience's A/B test",
                            on_success=lambda test: self._on_test(audience_id, test))

    def _on_test(self, audience_id: int, test) -> None:
        if not isValid(self) or audience_id != self._target_audience or test is None:
            return
        self.target.addItem("The whole audience", None)
        for variation in test.variations:
            self.target.addItem(f"Variation “{variation.name}” ({variation.percent} %)", variation.id)
        self._form.setRowVisible(self.target, True)

    def send_target(self, variant_id: int | None) -> None:
        """Choose what to send of the ticked audience with a test: a variation, or None for the whole audience."""
        self.target.setCurrentIndex(self.target.findData(variant_id) if variant_id is not None else 0)

    def _on_choices(self, audience_id: int, choices: SharingChoices) -> None:
        if not isValid(self) or audience_id != self._sharing_audience:
            return  # the admin ticked another audience meanwhile
        self.sharing.show_choices(choices)
        self._suggest_status()

    def _on_status_chosen(self, _index: int) -> None:
        self._status_chosen = True
        self._suggest_status()

    def _suggest_status(self) -> None:
        """Inactive until attributes are chosen (nothing reaches the partner half-configured); Sending once they are."""
        if not self.sharing.offers_choices:
            if not self._status_chosen:
                self.status.setCurrentIndex(self.status.findData("sending"))  # take back a suggestion that no longer applies
            self.status_hint.setVisible(False)
            return
        picked = bool(self.sharing.chosen())
        if not self._status_chosen:
            self.status.setCurrentIndex(self.status.findData("sending" if picked else "inactive"))
        self.status_hint.setText(
            "Sending: identities go out with the ticked attributes." if picked else
            "Suggested: Inactive until you tick the attributes to share; make it Sending afterwards from the "
            "Connections pane (Ctrl+I).")
        self.status_hint.setVisible(True)

    def _filter(self, text: str) -> None:
        for row in range(self.audiences.count()):
            item = self.audiences.item(row)
            item.setHidden(bool(text) and text.casefold() not in item.text().casefold())

    def choose(self, audience_ids: list[int]) -> None:
        """Tick exactly these audiences (as the admin would)."""
        for row in range(self.audiences.count()):
            item = self.audiences.item(row)
            chosen = item.data(Qt.ItemDataRole.UserRole) in audience_ids
            item.setCheckState(Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked)

    def chosen(self) -> list[int]:
        return [self.audiences.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.audiences.count())
                if self.audiences.item(row).checkState() == Qt.CheckState.Checked]

    def connect_chosen(self) -> None:
        chosen = self.chosen()
        if not chosen:
            self._show_message("Tick at least one audience to connect.")
            return
        connections, output_id = self._home.connections, self.output.id
        settings, status = self.settings_form.values(), self.status.currentData()
        self.connect_button.setEnabled(False)
        attributes = self.sharing.chosen() if self.sharing.offers_choices and len(chosen) == 1 else []
        # An audience with an A/B test connects on its own (bulk connections refuse it), whole or one variation.
        tested = len(chosen) == 1 and self.target.count() > 0
        variant_id = self.target.currentData() if tested else None
        if attributes or tested:
            service, name = self._home.connections, self._audience_name(chosen[0])
            if variant_id is not None:
                name = f"{name}, {self.target.currentText()}"

            def connect_sharing() -> BulkReport:
                info = service.connect(chosen[0], output_id, settings, status=status, shared_attributes=attributes,
                                       variant_id=variant_id)
                return BulkReport(self.output.name, (BulkResult(info.audience_id, name, info.id, None),))

            self._tasks.run(connect_sharing, label="Connecting the audience", on_success=self._on_connected,
                            on_failure=self._on_failed)
            return
        self._tasks.run(lambda: connections.bulk_connect(output_id, chosen, settings, status=status),
                        label="Connecting audiences", on_success=self._on_connected, on_failure=self._on_failed)

    def _audience_name(self, audience_id: int) -> str:
        for row in range(self.audiences.count()):
            if self.audiences.item(row).data(Qt.ItemDataRole.UserRole) == audience_id:
                return self.audiences.item(row).text()
        return f"audience {audience_id}"

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _on_connected(self, report: BulkReport) -> None:
        self.report.clear()
        for result in report.results:
            text = (f"✓ {result.audience_name}: connected" if result.connected
                    else f"✗ {result.audience_name}: not connected, {result.reason}")
            self.report.addItem(text)
        self._show_message(f"{len(report.connected)} connected, {len(report.refused)} not connected.")
        self.report.setVisible(True)
        self.audiences.setEnabled(False)
        self.sharing.setEnabled(False)
        self.connect_button.setVisible(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
        self.connected.emit(report)

    def _on_failed(self, exc: BaseException) -> None:
        self.connect_button.setEnabled(True)
        if isinstance(exc, SettingsProblems):
            self.settings_form.show_problems(exc.problems)
        self._show_message(failure_message(exc, "Connecting"))


class SharedAttributesDialog(QDialog):
    """Change which user attributes an existing connection forwards; the next run re-sends what changed."""

    #: fires on the GUI thread once saved: the connection's new ConnectionInfo
    saved = Signal(object)

    def __init__(self, home: OpenHome, tasks: Tasks, connection: ConnectionInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home, self._tasks, self.connection = home, tasks, connection
        self.setWindowTitle(f"Attributes Shared with “{connection.output_name}”")
        intro = QLabel(f"Audience “{connection.audience_name}”. The next forwarding run sends every identity again "
                       "with the values of the attributes ticked here.", wordWrap=True)
        self.sharing = AttributeChecklist()
        self.sharing.explain("Looking up the workspace's user attributes…")
        self.message = QLabel(wordWrap=True)
        self.message.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        keep_whole(self, 420)
        layout.addWidget(intro)
        layout.addWidget(self.sharing, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        service = home.connections
        self._service = service
        tasks.run(lambda: service.sharing_choices(connection.audience_id, connection.configuration_id),
                  label="Loading user attributes", on_success=self._on_choices,
                  on_failure=lambda exc: isValid(self) and self.sharing.explain(
                      failure_message(exc, "Loading attributes")))

    def _on_choices(self, choices: SharingChoices) -> None:
        if not isValid(self):
            return  # closed before the attributes were listed
        self.sharing.show_choices(choices, self.connection.shared_attributes)
        # Unticking everything must stay possible even where sharing is no longer allowed.
        self.save_button.setEnabled(self.sharing.offers_choices or bool(self.connection.shared_attributes))

    def save(self) -> None:
        names, service, connection_id = self.sharing.chosen(), self._service, self.connection.id
        self.save_button.setEnabled(False)
        self._tasks.run(lambda: service.set_shared_attributes(connection_id, names), label="Saving shared attributes",
                        on_success=self._on_saved, on_failure=self._on_failed)

    def _on_saved(self, info: ConnectionInfo) -> None:
        self.saved.emit(info)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        self.message.setText(failure_message(exc, "Saving shared attributes"))
        self.message.setVisible(True)
