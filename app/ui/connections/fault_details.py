"""The fault-details window: what the partner said, when, after how many retries, and what usually fixes it.

Opened from the fault icon in the Audiences list, a fault's row in the Faults pane or a faulted connection in the
Connections pane. It shows the partner's message and status code, when the fault began, the retries made and
the batch it stopped at, then the common causes (authentication, permissions, rate limiting, configuration,
the partner failing) each with the action that fixes it, the fault's own category first. Re-authenticate,
Edit Credentials and Resume act from here; the status line follows the store (it reads "Resumed … by …"
once someone resumes, here or anywhere else) and then what forwarding did. Every read and write runs in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.connectors.outputs.errors import COMMON_CAUSES
from app.engines.home import OpenHome
from app.errors import NotFound
from app.models.services.faults import FaultInfo
from app.ui.connections.forward import ForwardRun
from app.ui.connections.sign_in import SignIn
from app.ui.home import HomeConnection
from app.ui.kit.newest import NewestWins
from app.ui.kit.times import minute
from app.ui.workers import Tasks, failure_message

RELOAD_ON = {"fault_changed", "connection_changed", "output_changed"}


@dataclass(frozen=True)
class Shown:
    """What the window shows: the faults it is about (open ones first) and which outputs sign in with OAuth."""

    faults: list[FaultInfo]
    oauth_outputs: set[int]


def read_faults(home: OpenHome, *, fault_id: int | None, audience_id: int | None, connection_id: int | None,
                shown_before: frozenset[int] = frozenset()) -> Shown:
    """The open faults of what the window is about (one fault's connection, an audience or a connection), then the
    faults it showed before that were resumed since; with none open and none shown, the latest resumed one."""
    faults: list[FaultInfo] = []
    if fault_id is not None:
        asked = home.faults.get(fault_id)
        faults = home.faults.list(open_only=True, connection_id=asked.connection_id)
        shown_before = shown_before | {asked.id}
    else:
        faults = home.faults.list(open_only=True, audience_id=audience_id, connection_id=connection_id)
    listed = {f.id for f in faults}
    for earlier in sorted(shown_before - listed):
        try:
            faults.append(home.faults.get(earlier))
        except NotFound:  # its connection was disconnected meanwhile
            continue
    if not faults:
        faults = home.faults.list(open_only=False, audience_id=audience_id, connection_id=connection_id)[:1]
    return Shown(faults, {o.id for o in home.outputs.list() if o.auth == "oauth2"})


def status_line(fault: FaultInfo) -> str:
    if fault.open:
        return (f"⚠ Open since {minute(fault.began_at)}: forwarding “{fault.audience_name}” to “{fault.output_name}” "
                "is stopped until the fault is resumed.")
    return (f"✓ Resumed {minute(fault.resolved_at)} by {fault.resolved_by}: forwarding to “{fault.output_name}” "
            "continues from where it stopped.")


class FaultDetails(QDialog):
    """One window for one fault, or for the open faults of an audience or connection (a chooser when several)."""

    #: fires on the GUI thread each time the window (re)loaded its faults
    loaded = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, *, fault_id: int | None = None,
                 audience_id: int | None = None, connection_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fault Details")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._connection, self._tasks = connection, tasks
        self._query = {"fault_id": fault_id, "audience_id": audience_id, "connection_id": connection_id}
        self._newest = NewestWins()
        self.faults: list[FaultInfo] = []
        #: Every fault shown so far: one resumed (here or elsewhere) stays, reading "Resumed … by …".
        self._shown: set[int] = set()
        self._oauth_outputs: set[int] = set()
        self.run: ForwardRun | SignIn | None = None
        self.dialog = None

        self.chooser = QComboBox()
        self.chooser.setAccessibleName("Faulted connection")
        self.chooser.currentIndexChanged.connect(lambda _i: self._show_chosen())
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        self.status = QLabel(wordWrap=True)
        self.status.setAccessibleName("Fault status")
        self.status.setTextFormat(Qt.TextFormat.PlainText)

        self.fields: dict[str, QLabel] = {}
        facts = QFormLayout()
        for key, label in (("category", "Category"), ("status_code", "Partner status"), ("message", "Partner message"),
                           ("began", "Began"), ("retries", "Retries"), ("batch", "Stopped at batch")):
            value = QLabel(wordWrap=True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(label)
            self.fields[key] = value
            facts.addRow(f"{label}:", value)

        causes = QGroupBox("Common causes and what fixes them")
        self.causes = QLabel(wordWrap=True)
        self.causes.setTextFormat(Qt.TextFormat.RichText)
        self.causes.setAccessibleName("Common causes")
        self.causes.setAlignment(Qt.AlignmentFlag.AlignTop)
        # Scrolls rather than being cut off when the window is small or the text large.
        causes_scroll = QScrollArea()
        causes_scroll.setWidgetResizable(True)
        causes_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        causes_scroll.setWidget(self.causes)
        QVBoxLayout(causes).addWidget(causes_scroll)

        self.reauthenticate_button = QPushButton("Re-&authenticate…")
        self.reauthenticate_button.clicked.connect(self.reauthenticate)
        self.credentials_button = QPushButton("Edit &Credentials…")
        self.credentials_button.clicked.connect(self.edit_credentials)
        self.resume_button = QPushButton("&Resume")
        self.resume_button.clicked.connect(self.resume)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        for button in (self.reauthenticate_button, self.credentials_button, self.resume_button):
            button.setAutoDefault(False)  # Enter must not re-authenticate or resume by accident
            self.buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.close)
        #: the outcome of the last action (a sign-in, a resume and the forwarding it started)
        self.outcome = QLabel(wordWrap=True)
        self.outcome.setAccessibleName("Outcome")
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addWidget(self.chooser)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        layout.addLayout(facts)
        layout.addWidget(causes, 1)
        layout.addWidget(self.outcome)
        layout.addWidget(self.buttons)
        self.resize(640, 640)
        self._set_enabled(None)

        connection.store_changed.connect(self._on_store_changed)
        self.reload()

    # -- loading --------------------------------------------------------------------------------

    @property
    def home(self) -> OpenHome | None:
        return self._connection.open_home

    def reload(self) -> None:
        home = self.home
        if home is None:
            return
        ticket = self._newest.begin()
        query, shown = dict(self._query), frozenset(self._shown)
        self._tasks.run(lambda: read_faults(home, **query, shown_before=shown), label="Loading the fault",
                        on_success=ticket.deliver(self._on_loaded),
                        on_failure=ticket.deliver(lambda exc: self._tell(failure_message(exc, "Loading the fault"))))

    def _on_store_changed(self, kind: str, _subject: int) -> None:
        if kind in RELOAD_ON:
            self.reload()

    def _on_loaded(self, shown: Shown) -> None:
        chosen = self.current_fault()
        self.faults, self._oauth_outputs = shown.faults, shown.oauth_outputs
        self._shown.update(f.id for f in self.faults)
        keep = self.faults[0].id if self.faults else None
        if chosen is not None:
            now = next((f for f in self.faults if f.id == chosen.id), None)
            newer = next((f for f in self.faults if f.open and f.connection_id == chosen.connection_id), None)
            # A resumed fault whose connection faulted again: the new fault is the one to read.
            keep = newer.id if (now is None or not now.open) and newer is not None else (now.id if now else keep)
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for fault in self.faults:
            state = fault.category if fault.open else f"{fault.category}, resumed"
            self.chooser.addItem(f"“{fault.audience_name}” → “{fault.output_name}”: {state}", fault.id)
        if keep is not None:
            self.chooser.setCurrentIndex(max(0, self.chooser.findData(keep)))
        self.chooser.blockSignals(False)
        self.chooser.setVisible(len(self.faults) > 1)
        self._show_chosen()
        self.loaded.emit()

    # -- showing --------------------------------------------------------------------------------

    def current_fault(self) -> FaultInfo | None:
        fault_id = self.chooser.currentData()
        return next((f for f in self.faults if f.id == fault_id), None)

    def _show_chosen(self) -> None:
        fault = self.current_fault()
        self._set_enabled(fault)
        if fault is None:
            self.title.setText("No fault")
            self.status.setText("This connection has no fault: forwarding is running normally.")
            for value in self.fields.values():
                value.clear()
            self.causes.clear()
            return
        self.setWindowTitle(f"Fault: {fault.audience_name} → {fault.output_name}")
        self.title.setText(f"“{fault.audience_name}” → “{fault.output_name}”")
        self.status.setText(status_line(fault))
        self.fields["category"].setText(fault.category)
        self.fields["status_code"].setText("no answer (none)" if fault.status_code is None else str(fault.status_code))
        self.fields["message"].setText(fault.message)
        self.fields["began"].setText(minute(fault.began_at))
        self.fields["retries"].setText(f"{fault.retries:,}")
        self.fields["batch"].setText(fault.batch_id or "before the first batch (preparing the partner)")
        self.causes.setText(self._causes_html(fault))

    def _causes_html(self, fault: FaultInfo) -> str:
        def escape(text: str) -> str:
            return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        ordered = sorted(COMMON_CAUSES, key=lambda c: c.category != fault.category)
        items = []
        for cause in ordered:
            fix = cause.fix
            if cause.action == "reauthenticate" and fault.output_id not in self._oauth_outputs:
                fix = "Enter the partner's new key or secret in Edit Credentials, then Resume."
            mark = " (this fault)" if cause.category == fault.category else ""
            items.append(f"<p><b>{escape(cause.category)}{mark}</b>: {escape(cause.cause)}<br>"
                         f"<i>Fix:</i> {escape(fix)}</p>")
        return "".join(items)

    def _set_enabled(self, fault: FaultInfo | None) -> None:
        idle = self.run is None
        self.reauthenticate_button.setVisible(fault is not None and fault.output_id in self._oauth_outputs)
        self.reauthenticate_button.setEnabled(idle)
        self.credentials_button.setEnabled(fault is not None)
        self.resume_button.setEnabled(fault is not None and fault.open and idle)

    def _tell(self, text: str) -> None:
        self.outcome.setText(text)

    # -- actions --------------------------------------------------------------------------------

    def reauthenticate(self) -> None:
        fault, home = self.current_fault(), self.home
        if fault is None or home is None:
            return
        self.run = SignIn(home, self._tasks, fault.output_id, fault.output_name, self)
        self.run.finished.connect(self._on_signed_in)
        self._set_enabled(fault)
        self.run.start()

    def _on_signed_in(self, ok: bool, text: str) -> None:
        self.run = None
        self._tell(text + (" Press Resume to continue forwarding." if ok else ""))
        self._set_enabled(self.current_fault())

    def edit_credentials(self) -> None:
        fault, home = self.current_fault(), self.home
        if fault is None or home is None:
            return
        from app.ui.connections.output_dialog import open_output_dialog

        open_output_dialog(home, self._tasks, self, output_id=fault.output_id,
                           on_open=lambda dialog: setattr(self, "dialog", dialog))

    def resume(self) -> None:
        """Resolve the fault, then forward its connection in a worker, from where it stopped."""
        fault, home = self.current_fault(), self.home
        if fault is None or home is None or not fault.open:
            return
        self.resume_button.setEnabled(False)
        self._tell("Resuming…")
        self._tasks.run(lambda: home.faults.resume(fault.id), label="Resuming forwarding",
                        on_success=lambda resumed: self._forward(resumed),
                        on_failure=lambda exc: (self._tell(failure_message(exc, "Resuming")), self.reload()))

    def _forward(self, resumed: FaultInfo) -> None:
        self.reload()  # the status line reads "Resumed …" at once
        home = self.home
        if home is None:
            return
        self.run = ForwardRun(home, self._tasks, resumed.connection_id, self)
        self.run.finished.connect(self._on_forwarded)
        self._tell("Resumed; forwarding…")
        self.run.start()

    def _on_forwarded(self, _report, text: str) -> None:
        self.run = None
        self._tell(text)
        self.reload()  # a new fault (the cause was not fixed) shows up here
