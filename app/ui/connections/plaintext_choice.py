"""The in-app opt-in for the unencrypted secrets file, asked when there is no usable keyring (saving an output, signing in).

The same choice as the AUDIENCE_STUDIO_PLAINTEXT_SECRETS variable, with the same warning, for this home only
(`SecretStore.allow_plaintext_file`).
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.connectors.outputs.secrets import PLAINTEXT_FILE_NAME, PLAINTEXT_WARNING


def _ask(parent: QWidget, warning: str) -> bool:
    answer = QMessageBox.warning(
        parent, "No Keyring: Keep Secrets Unencrypted?",
        f"There is no usable keyring to keep this output's secrets and sign-in tokens in.\n\n{warning}\n\n"
        f"Keep them in {PLAINTEXT_FILE_NAME} in this home from now on?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


#: Asks before secrets go to the unencrypted file; tests answer for the admin.
confirm_plaintext = _ask


def ask(parent: QWidget) -> bool:
    """Whether the admin chose the unencrypted file, after the warning."""
    return confirm_plaintext(parent, PLAINTEXT_WARNING)
