"""The team server's sign-in with an e-mail and password: the member's account made by an invitation.

The server answers with a new API token, which goes to the OS keyring like a pasted one; the password
is never kept. The request runs on the task pool (argon2 on the server takes a moment).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.engines.home import OpenHome
from app.ui.workers import Tasks, failure_message


class SignInDialog(QDialog):
    """Server, e-mail and password; Sign In checks them with the server and keeps the token it gives."""

    #: fires on the GUI thread after a sign-in: (user name, the server's workspaces)
    signed_in = Signal(str, list)

    def __init__(self, home: OpenHome, tasks: Tasks, server: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign In to the Team Server")
        self.home = home
        self.tasks = tasks
        self.busy = False
        self.server_url = QLineEdit(server)
        self.server_url.setPlaceholderText("https://audiences.example.com")
        self.server_url.setAccessibleName("Server address")
        self.email = QLineEdit()
        self.email.setPlaceholderText("the address your invitation was sent to")
        self.email.setAccessibleName("E-mail")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        self.password.setToolTip("Sent to the server once; never kept on this laptop")
        form = QFormLayout()
        form.addRow("&Server:", self.server_url)
        form.addRow("&E-mail:", self.email)
        form.addRow("&Password:", self.password)
        note = QLabel("The server gives this laptop an API token, kept in the OS keyring; your password is not kept.",
                      wordWrap=True)
        note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.status = QLabel("", wordWrap=True)
        self.status.setAccessibleName("Sign-in status")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_in_button = self.buttons.addButton("Sign &In", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in_button.setDefault(True)
        self.buttons.accepted.connect(self.sign_in)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        (self.email if server else self.server_url).setFocus()
        self.resize(460, self.sizeHint().height())

    def sign_in(self) -> None:
        if self.busy:
            return
        home, url, email, password = self.home, self.server_url.text(), self.email.text(), self.password.text()
        from app.engines.sync import sign_in_with_password

        self.busy = True
        self.sign_in_button.setEnabled(False)
        self.status.setText(f"Signing in to {url.strip()} as {email.strip()}…")
        self.tasks.run(lambda: sign_in_with_password(home, url, email, password), label="Signing in",
                       on_success=self._on_signed_in, on_failure=self._on_failed)

    def _on_signed_in(self, answer) -> None:
        user, workspaces = answer
        self.busy = False
        self.password.clear()
        self.signed_in.emit(user, list(workspaces))
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.busy = False
        self.password.clear()
        self.status.setText(failure_message(exc, "Signing in"))
        self.sign_in_button.setEnabled(True)
        self.password.setFocus()
