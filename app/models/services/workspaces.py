"""Workspaces: creating them, finding them, the inputs (platforms and feeds) they hold, attribute type overrides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import InvalidInput, NotFound
from app.models.store.db import Store, emit_after_commit
from app.models.store.schema import (
    ATTRIBUTE_TYPES,
    DEFAULT_MEMBERSHIP_REFRESH_MINUTES,
    INPUT_KINDS,
    AttributeTypeOverride,
    Audience,
    AudienceWorkspace,
    Input,
    Workspace,
)

MAX_WORKSPACE_NAME_LENGTH = 100
MAX_INPUT_NAME_LENGTH = 100
#: A year: older events are outside any cache the demo or a sync keeps anyway.
MAX_REALTIME_WINDOW_DAYS = 365
#: A day: live audiences are recalculated at least daily on the clock (imports and syncs recalculate them at once).
MAX_MEMBERSHIP_REFRESH_MINUTES = 24 * 60

NO_WORKSPACE_YET = (
    "There is no workspace yet. Run `audience-studio demo` to create a demo workspace, or import your data."
)


@dataclass(frozen=True)
class InputInfo:
    id: int
    workspace_id: int
    kind: str
    name: str


@dataclass(frozen=True)
class WorkspaceInfo:
    id: int
    name: str
    realtime_window_days: int
    created_at: datetime
    inputs: tuple[InputInfo, ...]
    #: How often its live audiences are recalculated on the clock while the app runs (docs/membership.md).
    membership_refresh_minutes: int = DEFAULT_MEMBERSHIP_REFRESH_MINUTES


def _input_info(row: Input) -> InputInfo:
    return InputInfo(id=row.id, workspace_id=row.workspace_id, kind=row.kind, name=row.name)


def _info(row: Workspace) -> WorkspaceInfo:
    return WorkspaceInfo(
        id=row.id,
        name=row.name,
        realtime_window_days=row.realtime_window_days,
        created_at=row.created_at,
        inputs=tuple(_input_info(i) for i in row.inputs),
        membership_refresh_minutes=row.membership_refresh_minutes,
    )


def _clean_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise InvalidInput("A workspace needs a name.")
    if len(cleaned) > MAX_WORKSPACE_NAME_LENGTH:
        raise InvalidInput(
            f'Workspace name "{cleaned[:40]}…" is {len(cleaned)} characters; '
            f"names are at most {MAX_WORKSPACE_NAME_LENGTH} characters."
        )
    return cleaned


def _clean_inputs(inputs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Validated (kind, name) pairs, without repeats (names compared ignoring case, as users see them)."""
    cleaned: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for kind, name in inputs:
        if kind not in INPUT_KINDS:
            raise InvalidInput(f'Input kind "{kind}" is not known; use one of: {", ".join(INPUT_KINDS)}.')
        name = (name or "").strip()
        if not name:
            raise InvalidInput(f"A {kind} input needs a name (e.g. iOS, Android, Web, CRM).")
        if len(name) > MAX_INPUT_NAME_LENGTH:
            raise InvalidInput(
                f'Input name "{name[:40]}…" is {len(name)} characters; '
                f"input names are at most {MAX_INPUT_NAME_LENGTH} characters."
            )
        if (kind, name.casefold()) not in seen:
            seen.add((kind, name.casefold()))
            cleaned.append((kind, name))
    return cleaned


def _load(session: Session, workspace_id: int) -> Workspace:
    row = session.get(Workspace, workspace_id, options=[selectinload(Workspace.inputs)])
    if row is None:
        raise NotFound(f"There is no workspace with id {workspace_id}.")
    return row


def _add_missing_inputs(session: Session, workspace: Workspace, inputs: list[tuple[str, str]]) -> bool:
    existing = {(i.kind, i.name.casefold()) for i in workspace.inputs}
    added = False
    for kind, name in inputs:
        if (kind, name.casefold()) not in existing:
            workspace.inputs.append(Input(kind=kind, name=name))
            existing.add((kind, name.casefold()))
            added = True
    return added


class WorkspaceService:
    """Reads and changes workspaces; every method is one transaction and returns plain, frozen values."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, name: str, inputs: Iterable[tuple[str, str]] = ()) -> WorkspaceInfo:
        name = _clean_name(name)
        cleaned_inputs = _clean_inputs(inputs)
        with self.store.transaction() as session:
            for other in session.scalars(select(Workspace.name)):
                if other.casefold() == name.casefold():
                    raise InvalidInput(f'A workspace named "{other}" already exists; choose another name.')
            workspace = Workspace(name=name)
            session.add(workspace)
            _add_missing_inputs(session, workspace, cleaned_inputs)
            session.flush()
            emit_after_commit(session, "workspace_changed", workspace.id)
            return _info(workspace)

    def delete(self, workspace_id: int) -> None:
        """Delete a workspace with its inputs and attribute overrides; refused while audiences use it."""
        with self.store.transaction() as session:
            workspace = _load(session, workspace_id)
            users = session.scalars(
                select(Audience.name)
                .join(AudienceWorkspace, AudienceWorkspace.audience_id == Audience.id)
                .where(AudienceWorkspace.workspace_id == workspace_id)
                .order_by(Audience.name)
            ).all()
            if users:
                shown = ", ".join(f'"{name}"' for name in users[:5]) + (", ..." if len(users) > 5 else "")
                raise InvalidInput(
                    f'Workspace "{workspace.name}" is used by {len(users)} audience(s) ({shown}); '
                    "delete those audiences first."
                )
            session.delete(workspace)
            emit_after_commit(session, "workspace_changed", workspace_id)

    def get(self, name_or_id: str | int) -> WorkspaceInfo:
        """A workspace by id, or by name ignoring case; an all-digit string is tried as an id first."""
        with self.store.transaction() as session:
            if isinstance(name_or_id, int):
                return _info(_load(session, name_or_id))
            text = name_or_id.strip()
            if text.isdigit():
                row = session.get(Workspace, int(text))
                if row is not None:
                    return _info(row)
            rows = session.scalars(select(Workspace).options(selectinload(Workspace.inputs))).all()
            for row in rows:
                if row.name.casefold() == text.casefold():
                    return _info(row)
            if not rows:
                raise NotFound(NO_WORKSPACE_YET)
            names = ", ".join(f'"{r.name}"' for r in rows)
            raise NotFound(f'There is no workspace named "{text}". The workspaces are: {names}.')

    def list(self) -> list[WorkspaceInfo]:
        with self.store.transaction() as session:
            rows = session.scalars(select(Workspace).options(selectinload(Workspace.inputs)).order_by(Workspace.id))
            return [_info(row) for row in rows]

    def default(self) -> WorkspaceInfo:
        """The first workspace created, used when the user does not name one."""
        with self.store.transaction() as session:
            row = session.scalars(
                select(Workspace).options(selectinload(Workspace.inputs)).order_by(Workspace.id).limit(1)
            ).first()
            if row is None:
                raise NotFound(NO_WORKSPACE_YET)
            return _info(row)

    def ensure_inputs(self, workspace_id: int, inputs: Iterable[tuple[str, str]]) -> WorkspaceInfo:
        """Add the inputs the workspace does not have yet; ones it has (ignoring case) are left alone."""
        cleaned = _clean_inputs(inputs)
        with self.store.transaction() as session:
            workspace = _load(session, workspace_id)
            if _add_missing_inputs(session, workspace, cleaned):
                session.flush()
                emit_after_commit(session, "workspace_changed", workspace.id)
            return _info(workspace)

    def set_realtime_windows(self, days_by_workspace: Mapping[int, int]) -> list[WorkspaceInfo]:
        """Set how many days of events real-time audiences of each workspace look at, in ONE transaction.

        Refused as a whole (nothing changes) if any number is outside 1–MAX_REALTIME_WINDOW_DAYS or
        any workspace is missing.
        """
        cleaned = {int(ws): _clean_window(days) for ws, days in days_by_workspace.items()}
        with self.store.transaction() as session:
            rows = [_load(session, workspace_id) for workspace_id in cleaned]
            for row in rows:
                if row.realtime_window_days != cleaned[row.id]:
                    row.realtime_window_days = cleaned[row.id]
                    emit_after_commit(session, "workspace_changed", row.id)
            return [_info(row) for row in rows]

    def set_realtime_window(self, workspace_id: int, days: int) -> WorkspaceInfo:
        """Set one workspace's real-time window (days of events real-time audiences look at)."""
        [info] = self.set_realtime_windows({workspace_id: days})
        return info

    def set_membership_refresh(self, workspace_id: int, minutes: int) -> WorkspaceInfo:
        """Set how often (in minutes) the workspace's live audiences are recalculated on the clock while the app
        runs; imports and syncs recalculate them at once whatever this says."""
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise InvalidInput(f"The membership refresh interval is a whole number of minutes, not {minutes!r}.")
        if not 1 <= minutes <= MAX_MEMBERSHIP_REFRESH_MINUTES:
            raise InvalidInput(f"The membership refresh interval is {minutes} minutes; it must be between 1 and "
                               f"{MAX_MEMBERSHIP_REFRESH_MINUTES} minutes (a day).")
        with self.store.transaction() as session:
            row = _load(session, workspace_id)
            if row.membership_refresh_minutes != minutes:
                row.membership_refresh_minutes = minutes
                emit_after_commit(session, "workspace_changed", row.id)
            return _info(row)

    def set_attribute_type(self, workspace_id: int, attribute: str, type: str) -> None:
        """Override the type detected for a user attribute in this workspace's data."""
        attribute = _clean_attribute(attribute)
        if type not in ATTRIBUTE_TYPES:
            raise InvalidInput(
                f'"{type}" is not an attribute type; use one of: {", ".join(ATTRIBUTE_TYPES)}.'
            )
        with self.store.transaction() as session:
            _load(session, workspace_id)
            override = session.get(AttributeTypeOverride, (workspace_id, attribute))
            if override is None:
                session.add(AttributeTypeOverride(workspace_id=workspace_id, attribute_name=attribute, type=type))
            elif override.type == type:
                return
            else:
                override.type = type
            emit_after_commit(session, "workspace_changed", workspace_id)

    def clear_attribute_type(self, workspace_id: int, attribute: str) -> None:
        """Go back to the detected type; clearing an attribute that has no override does nothing."""
        attribute = _clean_attribute(attribute)
        with self.store.transaction() as session:
            _load(session, workspace_id)
            override = session.get(AttributeTypeOverride, (workspace_id, attribute))
            if override is not None:
                session.delete(override)
                emit_after_commit(session, "workspace_changed", workspace_id)

    def attribute_types(self, workspace_id: int) -> dict[str, str]:
        """The user's type overrides in this workspace, attribute name to type."""
        with self.store.transaction() as session:
            _load(session, workspace_id)
            rows = session.scalars(
                select(AttributeTypeOverride)
                .where(AttributeTypeOverride.workspace_id == workspace_id)
                .order_by(AttributeTypeOverride.attribute_name)
            )
            return {row.attribute_name: row.type for row in rows}


def _clean_attribute(attribute: str) -> str:
    cleaned = (attribute or "").strip()
    if not cleaned:
        raise InvalidInput("Name the user attribute whose type you want to set.")
    return cleaned


def _clean_window(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int):
        raise InvalidInput(f"The real-time window is a whole number of days, not {days!r}.")
    if not 1 <= days <= MAX_REALTIME_WINDOW_DAYS:
        raise InvalidInput(
            f"The real-time window is {days} days; it must be between 1 and {MAX_REALTIME_WINDOW_DAYS} days."
        )
    return days
