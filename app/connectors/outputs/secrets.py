"""Output secrets (API keys, signing secrets, OAuth tokens) in the OS keyring, split into parts that fit any backend.

Each output configuration has its own keyring service, "Audience Studio output <uuid>", so two homes on
one machine never share an entry, and renaming an output moves nothing. Values are split into parts
of PART_CHARS characters on every OS (Windows' Credential Manager holds at most 2,560 bytes of UTF-16,
1,280 characters), so the same code path runs, and is tested, everywhere.

With no usable keyring the app refuses to store a secret (KeyringUnavailable says what to do) unless
the user opted in, with PLAINTEXT_ENV or in the app (`allow_plaintext_file`, which leaves a marker file
beside the secrets file, so the choice holds for that home only): then secrets go to an unencrypted JSON
file in the home, readable by its owner only.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from app.errors import UserError

log = logging.getLogger(__name__)

SERVICE_PREFIX = "Audience Studio output "
#: Characters per keyring entry: under Windows' 1,280-character limit with room to spare.
PART_CHARS = 1000
#: Set to 1 to allow secrets in an unencrypted file when there is no keyring (an explicit, documented opt-in).
PLAINTEXT_ENV = "AUDIENCE_STUDIO_PLAINTEXT_SECRETS"
PLAINTEXT_FILE_NAME = "UNENCRYPTED-output-secrets.json"
#: Beside the plain-text file: the in-app opt-in for that file (the same choice as PLAINTEXT_ENV, for one home).
OPT_IN_SUFFIX = ".opted-in"
#: What the admin is told before choosing the plain-text file, in the app and in the no-keyring message.
PLAINTEXT_WARNING = ("Anyone who can read your files (a backup, another administrator, malware running as you) can "
                     "then read these secrets and sign-in tokens; they are not encrypted. The file is readable by "
                     "your user only. Installing and unlocking a keyring is safer.")
#: The entry holding an OAuth output's tokens (app/connectors/outputs/oauth.py), beside its secrets.
TOKENS_ENTRY = "oauth_tokens"

_WHOLE = "="       # the entry holds the whole value after this mark
_PARTS = "parts:"  # the entry holds the number of parts, stored under "<name>#1" ... "<name>#N"


class KeyringUnavailable(UserError):
    """There is no OS keyring to keep a secret in, and the user has not opted in to a plain-text file."""


def service_name(keyring_id: str) -> str:
    return SERVICE_PREFIX + keyring_id


def plaintext_opted_in() -> bool:
    return os.environ.get(PLAINTEXT_ENV, "").strip().lower() in ("1", "true", "yes")


def _usable(backend: KeyringBackend) -> bool:
    from keyring.backends import chainer, fail, null

    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return bool(backend.backends)
    return True


def _no_keyring_message(detail: str = "") -> str:
    return ("There is no usable keyring (the operating system's password store) to keep output secrets and "
            "sign-in tokens in" + (f" ({detail})" if detail else "") + ". On Linux, install and unlock a Secret "
            "Service such as GNOME Keyring or KWallet and sign in again; on macOS and Windows the Keychain and "
            "Credential Manager are used. Or, knowing that anyone with your files can then read them, keep them in "
            f"an unencrypted file ({PLAINTEXT_FILE_NAME} in the home): the app offers it when you save an output or "
            f"sign in, or set {PLAINTEXT_ENV}=1.")


def _opt_in_marker(plaintext_file: Path) -> Path:
    return plaintext_file.with_name(plaintext_file.name + OPT_IN_SUFFIX)


class SecretStore:
    """Reads and writes an output's secrets by (keyring id, field name).

    `backend`: the keyring to use (default: keyring's choice for this OS). `plaintext_file`: where
    secrets go when there is no keyring, used only if `allow_plaintext` (default: PLAINTEXT_ENV).
    """

    def __init__(self, backend: KeyringBackend | None = None, *, plaintext_file: Path | None = None,
                 allow_plaintext: bool | None = None, part_chars: int = PART_CHARS,
                 service_prefix: str = SERVICE_PREFIX):
        self._backend = backend
        #: What the keyring entries are called ("Audience Studio output …", "Audience Studio server …").
        self._service_prefix = service_prefix
        self._plaintext_file = plaintext_file
        if allow_plaintext is None:
            allow_plaintext = plaintext_opted_in() or (plaintext_file is not None and _opt_in_marker(plaintext_file).exists())
        self._allow_plaintext = allow_plaintext
        self._part_chars = part_chars
        self._lock = threading.Lock()

    # -- where secrets go ---------------------------------------------------------------------

    @property
    def backend(self) -> KeyringBackend:
        return self._backend or keyring.get_keyring()

    def _keyring_or_none(self) -> KeyringBackend | None:
        backend = self.backend
        if _usable(backend):
            return backend
        if self._allow_plaintext and self._plaintext_file is not None:
            return None
        raise KeyringUnavailable(_no_keyring_message())

    @property
    def keyring_usable(self) -> bool:
        return _usable(self.backend)

    @property
    def plaintext_offered(self) -> bool:
        """Whether the admin may choose the plain-text file here (there is one, and no keyring to prefer)."""
        return self._plaintext_file is not None and not self._allow_plaintext and not self.keyring_usable

    def allow_plaintext_file(self) -> Path:
        """The admin's in-app opt-in: from now on (and in later sessions of this home) secrets go to the unencrypted
        file while there is no usable keyring. Returns the file's path."""
        if self._plaintext_file is None:
            raise UserError("Secrets cannot be kept in a file here: there is no home to keep it in.")
        marker = _opt_in_marker(self._plaintext_file)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("Output secrets are kept in the unencrypted file beside this one while there is no usable "
                          "keyring; the admin chose this in Audience Studio. Delete this file to stop.\n",
                          encoding="utf-8")
        self._allow_plaintext = True
        log.warning("the admin chose to keep output secrets in the unencrypted file %s", self._plaintext_file)
        return self._plaintext_file

    def describe(self) -> str:
        """Where secrets are kept, for the About box and `outputs list`."""
        try:
            backend = self._keyring_or_none()
        except KeyringUnavailable:
            return "nowhere: no keyring is available"
        if backend is None:
            how = f"with {PLAINTEXT_ENV}" if plaintext_opted_in() else "in the app"
            return f"an unencrypted file, {self._plaintext_file} (opted in {how})"
        return f"the OS keyring ({type(backend).__module__.rsplit('.', 1)[-1]} {type(backend).__name__})"

    # -- the public surface -------------------------------------------------------------------

    def save(self, keyring_id: str, name: str, value: str) -> None:
        with self._lock:
            backend = self._keyring_or_none()
            if backend is None:
                self._save_plaintext(keyring_id, name, value)
                return
            service = self._service_prefix + keyring_id
            old_parts = self._part_count(backend, service, name)
            try:
                if len(value) <= self._part_chars:
                    backend.set_password(service, name, _WHOLE + value)
                    parts = 0
                else:
                    chunks = [value[i:i + self._part_chars] for i in range(0, len(value), self._part_chars)]
                    # Parts first, the count last: a reader never finds a count whose parts are missing.
                    for index, chunk in enumerate(chunks, 1):
                        backend.set_password(service, f"{name}#{index}", chunk)
                    backend.set_password(service, name, f"{_PARTS}{len(chunks)}")
                    parts = len(chunks)
            except keyring.errors.KeyringError as exc:
                raise KeyringUnavailable(_no_keyring_message(type(exc).__name__)) from None
            for index in range(parts + 1, old_parts + 1):
                self._forget(backend, service, f"{name}#{index}")

    def load(self, keyring_id: str, name: str) -> str | None:
        with self._lock:
            backend = self._keyring_or_none()
            if backend is None:
                return self._read_plaintext().get(keyring_id, {}).get(name)
            service = self._service_prefix + keyring_id
            try:
                head = backend.get_password(service, name)
                if head is None:
                    return None
                if head.startswith(_WHOLE):
                    return head[len(_WHOLE):]
                if head.startswith(_PARTS):
                    chunks = [backend.get_password(service, f"{name}#{i}")
                              for i in range(1, int(head[len(_PARTS):]) + 1)]
                    if any(chunk is None for chunk in chunks):
                        log.warning("keyring entry %s of %s is missing parts; treated as absent", name, service)
                        return None
                    return "".join(chunks)  # type: ignore[arg-type]
            except keyring.errors.KeyringError as exc:
                raise KeyringUnavailable(_no_keyring_message(type(exc).__name__)) from None
            log.warning("keyring entry %s of %s is not in Audience Studio's format; treated as absent", name, service)
            return None

    def delete(self, keyring_id: str, name: str) -> None:
        with self._lock:
            backend = self._keyring_or_none()
            if backend is None:
                stored = self._read_plaintext()
                if stored.get(keyring_id, {}).pop(name, None) is not None:
                    self._write_plaintext(stored)
                return
            service = self._service_prefix + keyring_id
            for index in range(1, self._part_count(backend, service, name) + 1):
                self._forget(backend, service, f"{name}#{index}")
            self._forget(backend, service, name)

    # -- keyring details ----------------------------------------------------------------------

    def _part_count(self, backend: KeyringBackend, service: str, name: str) -> int:
        try:
            head = backend.get_password(service, name)
        except keyring.errors.KeyringError:
            return 0
        if head and head.startswith(_PARTS):
            return int(head[len(_PARTS):])
        return 0

    @staticmethod
    def _forget(backend: KeyringBackend, service: str, name: str) -> None:
        try:
            backend.delete_password(service, name)
        except keyring.errors.PasswordDeleteError:
            pass

    # -- the opted-in plain-text file ---------------------------------------------------------

    def _read_plaintext(self) -> dict[str, dict[str, str]]:
        assert self._plaintext_file is not None
        try:
            return json.loads(self._plaintext_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _write_plaintext(self, stored: dict[str, dict[str, str]]) -> None:
        assert self._plaintext_file is not None
        self._plaintext_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._plaintext_file.with_name(self._plaintext_file.name + ".tmp")
        # Created 0600 from the start: there is never a moment when others may read it.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(stored, out)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self._plaintext_file)

    def _save_plaintext(self, keyring_id: str, name: str, value: str) -> None:
        stored = self._read_plaintext()
        stored.setdefault(keyring_id, {})[name] = value
        self._write_plaintext(stored)
        log.warning("stored an output secret in the unencrypted file %s (opted in)", self._plaintext_file)
