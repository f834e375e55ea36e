"""Creating or editing an output configuration: name, partner, the partner's settings and secrets, and OAuth sign-in.

Sign In sits below the scrolling forms, beside Save, so it is on screen however many fields a partner has.
With no usable keyring, saving offers the in-app choice of the unencrypted secrets file, after the warning.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.connectors.outputs.directory import PARTNERS, partner
from app.connectors.outputs.partner import AUTH_LABELS, Partner
from app.connectors.outputs.secrets import KeyringUnavailable
from app.connectors.outputs.settings import SettingsProblems
from app.engines.home import OpenHome
from app.models.services.outputs import OutputInfo
from app.ui.connections import plaintext_choice
from app.ui.connections.form import FieldsForm
from app.ui.connections.sign_in import SignIn
from app.ui.workers import Tasks, failure_message
from app.ui.kit.dialogs import keep_whole


class OutputDialog(QDialog):
    """A new output (choose its partner) or an existing one (`output`); saving runs in a worker."""

    #: fires on the GUI thread after the output was saved
    saved = Signal(object)
    #: fires on the GUI thread when a sign-in ends: whether it worked
    signed_in = Signal(bool)

    def __init__(self, home: OpenHome, tasks: Tasks, *, output: OutputInfo | None = None,
                 secrets_present: dict[str, bool] | None = None, partner_key: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home, self._tasks = home, tasks
        self.output = output
        self._secrets_present = secrets_present or {}
        self.sign_in_run: SignIn | None = None

        self.name = QLineEdit(output.name if output else "")
        self.name.setPlaceholderText("e.g. Newsletter list")
        self.partner_choice = QComboBox()
        for candidate in PARTNERS:
            self.partner_choice.addItem(f"{candidate.name} ({candidate.category})", candidate.key)
        chosen = output.partner if output else partner_key
        if chosen:
            self.partner_choice.setCurrentIndex(self.partner_choice.findData(chosen))
        self.partner_choice.setEnabled(output is None)  # an output's partner is what it is
        self.partner_choice.currentIndexChanged.connect(self._rebuild_forms)
        self.partner_about = QLabel(wordWrap=True)

        top = QFormLayout()
        top.addRow("&Name", self.name)
        top.addRow("&Partner", self.partner_choice)
        top.addRow("", self.partner_about)

        self.settings_box = QGroupBox("Settings")
        self.secrets_box = QGroupBox("Secrets (kept in the keyring)")
        self.sign_in_button = QPushButton("Sign &In…")
        self.sign_in_button.setToolTip("Sign in to the partner in your web browser (OAuth 2.0)")
        self.sign_in_button.clicked.connect(self.sign_in)
        self.sign_in_state = QLabel(wordWrap=True)
        self.settings_form: FieldsForm | None = None
        self.secrets_form: FieldsForm | None = None

        forms = QWidget()
        self._forms_layout = QVBoxLayout(forms)
        self._forms_layout.addWidget(self.settings_box)
        self._forms_layout.addWidget(self.secrets_box)
        self._forms_layout.addStretch(1)
        # Outside the scrolling forms: a partner's many fields never push it out of sight.
        self.sign_in_row = QWidget()
        sign_in_layout = QHBoxLayout(self.sign_in_row)
        sign_in_layout.setContentsMargins(0, 0, 0, 0)
        sign_in_layout.addWidget(self.sign_in_button, 0, Qt.AlignmentFlag.AlignTop)
        sign_in_layout.addWidget(self.sign_in_state, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(forms)

        #: what went wrong that no field owns (a taken name, no keyring), or what happened
        self.message = QLabel(wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setVisible(False)
        #: offered when there is no usable keyring: keep secrets in the unencrypted file instead (after a warning)
        self.plaintext_button = QPushButton("Keep Secrets in an &Unencrypted File…")
        self.plaintext_button.setVisible(False)
        self.plaintext_button.clicked.connect(self.choose_plaintext_file)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        keep_whole(self, 560)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.sign_in_row)
        layout.addWidget(self.message)
        layout.addWidget(self.plaintext_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.buttons)
        self._rebuild_forms()
        self.resize(600, 620)

    @property
    def partner(self) -> Partner:
        return partner(self.partner_choice.currentData())

    def _rebuild_forms(self) -> None:
        declared = self.partner
        self.setWindowTitle(f"Edit Output “{self.output.name}”" if self.output else f"New {declared.name} Output")
        self.partner_about.setText(f"{declared.description}<br><i>Authentication: {AUTH_LABELS[declared.auth]}</i>")
        for box, attribute in ((self.settings_box, "settings_form"), (self.secrets_box, "secrets_form")):
            old = getattr(self, attribute)
            if old is not None:
                old.deleteLater()
            if box.layout() is None:
                QVBoxLayout(box)
        self.settings_form = FieldsForm(declared.all_configuration_fields, self.output.settings if self.output else None)
        self.settings_box.layout().addWidget(self.settings_form)
        self.secrets_form = FieldsForm(declared.secret_fields, secrets_present=self._secrets_present)
        self.secrets_box.layout().addWidget(self.secrets_form)
        self.secrets_box.setVisible(bool(declared.secret_fields))
        oauth = declared.auth == "oauth2"
        self.sign_in_row.setVisible(oauth)
        if oauth:
            self._show_sign_in_state()

    def _show_sign_in_state(self) -> None:
        self.sign_in_button.setEnabled(self.output is not None)
        if self.output is None:
            self.sign_in_state.setText("Save the output first; then sign in to the partner in your web browser.")
        elif self._secrets_present.get("oauth_tokens"):
            self.sign_in_state.setText("Signed in. Sign in again to replace the tokens.")
        else:
            self.sign_in_state.setText("Not signed in yet: nothing is forwarded until you sign in.")

    def show_message(self, text: str, *, problem: bool = True) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c62828;" if problem else "")
        self.message.setVisible(bool(text))

    # -- saving ---------------------------------------------------------------------------------

    def save(self) -> None:
        """Check and store the output in a worker; problems appear beside their fields."""
        name = self.name.text()
        settings = self.settings_form.values()
        secrets = {key: value for key, value in self.secrets_form.values().items() if value}
        outputs = self._home.outputs
        self.buttons.setEnabled(False)
        self.show_message("")
        if self.output is None:
            key = self.partner.key
            work = lambda: outputs.create(name, key, settings, secrets)  # noqa: E731
        else:
            output_id = self.output.id
            work = lambda: outputs.edit(output_id, name=name, settings=settings, secrets=secrets)  # noqa: E731
        self._tasks.run(work, label="Saving the output", on_success=self._on_saved, on_failure=self._on_save_failed)

    def _on_saved(self, output: OutputInfo) -> None:
        self.buttons.setEnabled(True)
        created = self.output is None
        self.output = output
        self.settings_form.show_problems({})
        self.secrets_form.show_problems({})
        self.saved.emit(output)
        if created and self.partner.auth == "oauth2":
            # An OAuth output is of no use until it is signed in: stay open for that.
            self.partner_choice.setEnabled(False)
            self.setWindowTitle(f"Edit Output “{output.name}”")
            self._show_sign_in_state()
            self.show_message(f"Saved “{output.name}”. Now sign in to the partner.", problem=False)
            return
        self.accept()

    def _on_save_failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(exc, SettingsProblems):
            problems = dict(exc.problems)
            if self.output is None:
                # The service stops at the first group with problems; name the missing secrets too, all at once.
                entered = self.secrets_form.values()
                for field in self.partner.secret_fields:
                    if field.required and not entered.get(field.key, "").strip():
                        problems.setdefault(field.key, f"{field.label} is required")
            rest = self.settings_form.show_problems(problems)
            rest = [r for r in rest if r.split(":")[0] not in self.secrets_form.inputs]
            self.secrets_form.show_problems(problems)
            self.show_message("Please correct the fields marked above." + ("\n" + "\n".join(rest) if rest else ""))
        else:
            self.show_message(failure_message(exc, "Saving the output"))
            offer = isinstance(exc, KeyringUnavailable) and self._home.outputs.secrets.plaintext_offered
            self.plaintext_button.setVisible(offer)

    def choose_plaintext_file(self) -> None:
        """The in-app opt-in for the unencrypted secrets file: the warning first, then the output is saved again."""
        secrets = self._home.outputs.secrets
        if not plaintext_choice.ask(self):
            return
        self.plaintext_button.setVisible(False)
        self._tasks.run(secrets.allow_plaintext_file, label="Choosing the unencrypted secrets file",
                        on_success=lambda _path: self.save(),
                        on_failure=lambda exc: self.show_message(failure_message(exc, "Choosing the file")))

    # -- signing in ------------------------------------------------------------------------------

    def sign_in(self) -> None:
        if self.output is None:
            return
        self.sign_in_button.setEnabled(False)
        self.sign_in_run = SignIn(self._home, self._tasks, self.output.id, self.output.name, self)
        self.sign_in_run.finished.connect(self._on_sign_in_finished)
        self.sign_in_run.start()

    def _on_sign_in_finished(self, ok: bool, message: str) -> None:
        self.sign_in_button.setEnabled(True)
        if ok:
            self._secrets_present["oauth_tokens"] = True
            self._show_sign_in_state()
        self.show_message(message, problem=not ok)
        self.signed_in.emit(ok)


def open_output_dialog(home: OpenHome, tasks: Tasks, parent: QWidget, *, output_id: int | None = None,
                       partner_key: str | None = None, on_open=None) -> None:
    """Open the dialog; for an existing output, once its settings and which secrets it has are loaded."""

    def show(dialog: OutputDialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        if on_open is not None:
            on_open(dialog)

    if output_id is None:
        show(OutputDialog(home, tasks, partner_key=partner_key, parent=parent))
        return
    tasks.run(lambda: (home.outputs.get(output_id), home.outputs.secrets_present(output_id)),
              label="Loading the output",
              on_success=lambda loaded: show(OutputDialog(home, tasks, output=loaded[0], secrets_present=loaded[1],
                                                          parent=parent)))
