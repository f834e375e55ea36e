"""Calculated attributes of a workspace in the store: define, list, delete. Each call is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.builder.calculated import CalculatedAttribute, problems
from app.errors import InvalidInput, NotFound
from app.models.store.db import Store, emit_after_commit
from app.models.store.schema import CalculatedAttributeDefinition, Workspace


@dataclass(frozen=True)
class CalculatedAttributeInfo:
    id: int
    workspace_id: int
    definition: CalculatedAttribute
    created_by: str
    created_at: datetime

    @property
    def name(self) -> str:
        return self.definition.name


def _info(row: CalculatedAttributeDefinition) -> CalculatedAttributeInfo:
    definition = CalculatedAttribute(row.name, row.calculation, row.event_type, row.event_name, row.attribute, row.window_days)
    return CalculatedAttributeInfo(row.id, row.workspace_id, definition, row.created_by, row.created_at)


class CalculatedAttributeService:
    """The workspaces' calculated attributes, as the builder's attribute pickers and the compiler see them."""

    def __init__(self, store: Store, user: str):
        self.store = store
        self.user = user

    def create(self, workspace_id: int, definition: CalculatedAttribute) -> CalculatedAttributeInfo:
        """Define a calculated attribute; its name must be new in the workspace (ignoring case)."""
        definition = CalculatedAttribute(
            definition.name.strip(), definition.calculation, definition.event_type,
            (definition.event_name or "").strip() or None, (definition.attribute or "").strip() or None,
            definition.window_days,
        )
        found = problems(definition)
        if found:
            message = "; ".join(found)
            raise InvalidInput(message[0].upper() + message[1:] + ".")
        with self.store.transaction() as session:
            if session.get(Workspace, workspace_id) is None:
                raise NotFound(f"There is no workspace {workspace_id}.")
            taken = session.scalar(select(CalculatedAttributeDefinition.id).where(
                CalculatedAttributeDefinition.workspace_id == workspace_id,
                func.lower(CalculatedAttributeDefinition.name) == definition.name.lower()))
            if taken is not None:
                raise InvalidInput(f'The workspace already has a calculated attribute named "{definition.name}".')
            row = CalculatedAttributeDefinition(
                workspace_id=workspace_id, name=definition.name, calculation=definition.calculation,
                event_type=definition.event_type, event_name=definition.event_name, attribute=definition.attribute,
                window_days=definition.window_days, created_by=self.user)
            session.add(row)
            session.flush()
            emit_after_commit(session, "workspace_changed", workspace_id)
            return _info(row)

    def list(self, workspace_id: int | None = None) -> list[CalculatedAttributeInfo]:
        """Every calculated attribute (of one workspace, if given), by workspace then name."""
        with self.store.transaction() as session:
            query = select(CalculatedAttributeDefinition).order_by(
                CalculatedAttributeDefinition.workspace_id, func.lower(CalculatedAttributeDefinition.name))
            if workspace_id is not None:
                query = query.where(CalculatedAttributeDefinition.workspace_id == workspace_id)
            return [_info(row) for row in session.scalars(query)]

    def by_workspace(self) -> dict[int, dict[str, CalculatedAttribute]]:
        """workspace id → name → definition: what the compiler's catalog needs."""
        out: dict[int, dict[str, CalculatedAttribute]] = {}
        for info in self.list():
            out.setdefault(info.workspace_id, {})[info.name] = info.definition
        return out

    def get(self, workspace_id: int, name: str) -> CalculatedAttributeInfo:
        with self.store.transaction() as session:
            return _info(self._find(session, workspace_id, name))

    def delete(self, workspace_id: int, name: str) -> CalculatedAttributeInfo:
        """Remove a definition; audiences that use it then report it as unknown, naming their node."""
        with self.store.transaction() as session:
            row = self._find(session, workspace_id, name)
            info = _info(row)
            session.delete(row)
            emit_after_commit(session, "workspace_changed", workspace_id)
            return info

    @staticmethod
    def _find(session: Session, workspace_id: int, name: str) -> CalculatedAttributeDefinition:
        row = session.scalar(select(CalculatedAttributeDefinition).where(
            CalculatedAttributeDefinition.workspace_id == workspace_id,
            func.lower(CalculatedAttributeDefinition.name) == name.strip().lower()))
        if row is None:
            raise NotFound(f'The workspace has no calculated attribute named "{name.strip()}".')
        return row
