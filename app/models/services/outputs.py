"""Output configurations: creating, editing, listing and deleting them, and their secrets.

Settings go to the store; secrets and tokens only to the keyring (app.connectors.outputs.secrets). Signing an
output in or out at its partner (OAuth 2.0) and the partner context for sending are requests: they are the
engine app/engines/output_sign_in.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.connectors.outputs.directory import find_partners, partner
from app.connectors.outputs.partner import Partner
from app.connectors.outputs.secrets import TOKENS_ENTRY, SecretStore
from app.connectors.outputs.settings import SettingsProblems, clean_settings
from app.errors import InvalidInput, NotFound, UserError
from app.models.store.db import Store, emit_after_commit, utc_now
from app.models.store.schema import Connection, OutputConfiguration

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class OutputInfo:
    id: int
    name: str
    partner: str
    partner_name: str
    auth: str
    settings: dict[str, Any]
    keyring_id: str
    connection_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime


def _info(row: OutputConfiguration, connection_count: int) -> OutputInfo:
    declared = partner(row.partner)
    return OutputInfo(row.id, row.name, row.partner, declared.name, declared.auth, dict(row.settings), row.keyring_id,
                      connection_count, row.created_by, row.created_at, row.updated_at)


def _clean_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise InvalidInput("An output needs a name.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidInput(f'Output name "{cleaned[:40]}…" is {len(cleaned)} characters; names are at most '
                           f"{MAX_NAME_LENGTH} characters.")
    return cleaned


def _check_name_free(session: Session, name: str, except_id: int | None = None) -> None:
    for other_id, other in session.execute(select(OutputConfiguration.id, OutputConfiguration.name)):
        if other_id != except_id and other.casefold() == name.casefold():
            raise InvalidInput(f'An output named "{other}" already exists; output names must be unique, ignoring case.')


def _clean_secrets(declared: Partner, secrets: Mapping[str, str], *, creating: bool) -> dict[str, str]:
    known = {f.key: f for f in declared.secret_fields}
    problems = {key: f"not a secret of {declared.name} (known: {', '.join(known) or 'none'})"
                for key in secrets if key not in known}
    cleaned = {key: value.strip() for key, value in secrets.items() if key in known and value and value.strip()}
    if creating:
        for field in declared.secret_fields:
            if field.required and field.key not in cleaned:
                problems[field.key] = f"{field.label} is required"
    if problems:
        raise SettingsProblems(problems, "secrets")
    return cleaned


class OutputService:
    """Output configurations of a home; `secrets` is where their secrets and tokens go."""

    def __init__(self, store: Store, user: str, secrets: SecretStore):
        self.store = store
        self.user = user
        self.secrets = secrets

    # -- the directory ------------------------------------------------------------------------

    @staticmethod
    def partners(**filters: str | None) -> list[Partner]:
        return find_partners(**filters)

    # -- configurations -----------------------------------------------------------------------

    def create(self, name: str, partner_key: str, settings: Mapping[str, Any] | None = None,
               secrets: Mapping[str, str] | None = None) -> OutputInfo:
        """A new output. Secrets go to the keyring first: with no keyring nothing is created at all."""
        declared = partner(partner_key)
        name = _clean_name(name)
        cleaned = clean_settings(declared.all_configuration_fields, settings or {})
        secret_values = _clean_secrets(declared, secrets or {}, creating=True)
        keyring_id = str(uuid.uuid4())
        for key, value in secret_values.items():
            self.secrets.save(keyring_id, key, value)
        try:
            with self.store.transaction() as session:
                _check_name_free(session, name)
                row = OutputConfiguration(name=name, partner=declared.key, settings=cleaned, keyring_id=keyring_id,
                                          created_by=self.user)
                session.add(row)
                session.flush()
                emit_after_commit(session, "output_changed", row.id)
                info = _info(row, 0)
        except BaseException:
            self._forget_secrets(declared, keyring_id)
            raise
        log.info("created output %s (%s)", info.id, declared.key)
        return info

    def edit(self, name_or_id: str | int, *, name: str | None = None, settings: Mapping[str, Any] | None = None,
             secrets: Mapping[str, str] | None = None) -> OutputInfo:
        """Rename it, change some settings (others stay) and replace some secrets."""
        current = self.get(name_or_id)
        declared = partner(current.partner)
        new_name = _clean_name(name) if name is not None else None
        merged = clean_settings(declared.all_configuration_fields, {**current.settings, **(settings or {})})
        secret_values = _clean_secrets(declared, secrets or {}, creating=False)
        with self.store.transaction() as session:
            row = session.get(OutputConfiguration, current.id)
            if new_name is not None and new_name != row.name:
                _check_name_free(session, new_name, except_id=row.id)
                row.name = new_name
            row.settings = merged
            row.updated_at = utc_now()
            emit_after_commit(session, "output_changed", row.id)
        for key, value in secret_values.items():
            self.secrets.save(current.keyring_id, key, value)
        return self.get(current.id)

    def get(self, name_or_id: str | int) -> OutputInfo:
        """An output by id, or by name ignoring case; an all-digit string is tried as an id first."""
        with self.store.transaction() as session:
            row = self._find(session, name_or_id)
            return _info(row, self._connection_counts(session).get(row.id, 0))

    def list(self, *, search: str | None = None, partner_key: str | None = None) -> list[OutputInfo]:
        with self.store.transaction() as session:
            counts = self._connection_counts(session)
            rows = session.scalars(select(OutputConfiguration).order_by(func.lower(OutputConfiguration.name))).all()
            return [_info(row, counts.get(row.id, 0)) for row in rows
                    if (not search or search.casefold() in row.name.casefold())
                    and (not partner_key or row.partner == partner_key)]

    def delete(self, name_or_id: str | int) -> OutputInfo:
        """Remove an output that no connection uses, with its secrets and tokens."""
        current = self.get(name_or_id)
        if current.connection_count:
            raise UserError(f'Output "{current.name}" is used by {current.connection_count} connection(s); '
                            "disconnect them first.")
        with self.store.transaction() as session:
            session.delete(session.get(OutputConfiguration, current.id))
            emit_after_commit(session, "output_changed", current.id)
        self._forget_secrets(partner(current.partner), current.keyring_id)
        return current

    # -- secrets ------------------------------------------------------------------

    def secrets_present(self, name_or_id: str | int) -> dict[str, bool]:
        """Which secrets the keyring holds for the output (never their values), plus whether it is signed in."""
        current = self.get(name_or_id)
        declared = partner(current.partner)
        present = {f.key: self.secrets.load(current.keyring_id, f.key) is not None for f in declared.secret_fields}
        if declared.auth == "oauth2":
            present[TOKENS_ENTRY] = self.secrets.load(current.keyring_id, TOKENS_ENTRY) is not None
        return present

    def signed_in(self, output_id: int) -> None:
        """Tell whoever shows outputs that one was signed in (its tokens are in the keyring now)."""
        with self.store.transaction() as session:
            emit_after_commit(session, "output_changed", output_id)

    # -- helpers ------------------------------------------------------------------------------

    def _forget_secrets(self, declared: Partner, keyring_id: str) -> None:
        for key in [f.key for f in declared.secret_fields] + ([TOKENS_ENTRY] if declared.auth == "oauth2" else []):
            try:
                self.secrets.delete(keyring_id, key)
            except UserError:
                log.warning("could not remove secret %s of output keyring id %s", key, keyring_id)

    @staticmethod
    def _connection_counts(session: Session) -> dict[int, int]:
        return dict(session.execute(select(Connection.configuration_id, func.count()).group_by(Connection.configuration_id)).all())

    @staticmethod
    def _find(session: Session, name_or_id: str | int) -> OutputConfiguration:
        if isinstance(name_or_id, int):
            row = session.get(OutputConfiguration, name_or_id)
            if row is None:
                raise NotFound(f"There is no output with id {name_or_id}.")
            return row
        text = name_or_id.strip()
        if text.isdigit():
            row = session.get(OutputConfiguration, int(text))
            if row is not None:
                return row
        for row in session.scalars(select(OutputConfiguration)):
            if row.name.casefold() == text.casefold():
                return row
        raise NotFound(f'There is no output named "{text}"; `audience-studio outputs list` shows them.')
