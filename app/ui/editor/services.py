"""What the card editors ask of the editor: the cache's catalog, completions, attribute type changes.

The catalog is the editor's one `EditorCatalog`, shared with its live estimates: a type changed here
or in another editor, or a sync that changed the data, reaches the cards and the
counts alike. Queries and store writes run in workers (`Tasks`); answers come back on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from shiboken6 import isValid

from app.builder.catalog import ATTRIBUTE_TYPES, Catalog
from app.engines.editing_session import EditorCatalog, EditorContext, find_cities, set_attribute_type, suggest_values
from app.engines.home import OpenHome
from app.ui.workers import Tasks

SUGGESTION_LIMIT = 25


class EditorServices(QObject):
    """One editor's view of its audience's workspaces, shared by its cards."""

    #: fires on the GUI thread once the catalog shown changed (an attribute type, or the cache's data)
    catalog_changed = Signal()

    def __init__(self, home: OpenHome, tasks: Tasks, context: EditorContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.home = home
        self.tasks = tasks
        self.context = context
        #: the editor's one catalog; its estimate session reads the same
        self.catalogs: EditorCatalog = context.catalogs
        self._shown = self.catalog.fingerprint
        #: id → name of the audiences a membership card may name, for the cards' summaries
        self.audience_names: dict[int, str] = dict(context.membership_choices)

    @property
    def workspace_ids(self) -> tuple[int, ...]:
        return self.context.workspace_ids

    # -- catalog -----------------------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        return self.catalogs.current

    def notice_catalog(self) -> bool:
        """Tell the cards if the shared catalog changed since they were last told (e.g. an estimate read it
        again after a sync); True when it had."""
        fingerprint = self.catalog.fingerprint
        if fingerprint == self._shown:
            return False
        self._shown = fingerprint
        self.catalog_changed.emit()
        return True

    def refresh_catalog(self) -> None:
        """Read the catalog again in the background if the store's types or the cache's data changed."""
        catalogs = self.catalogs
        self.tasks.run(catalogs.fresh, label="Reading the attribute types",
                       on_success=lambda _catalog: self._notice_if_alive(),
                       on_failure=lambda exc: None)  # the next estimate reads it again and reports a failure

    def _notice_if_alive(self) -> None:
        if isValid(self):
            self.notice_catalog()

    def attribute_names(self) -> list[str]:
        return sorted({name for ws in self.workspace_ids for name in self.catalog.attributes.get(ws, {})},
                      key=str.casefold)

    def attribute_type(self, attribute: str, workspace_id: int | None = None) -> str | None:
        return self.catalog.attribute_type((workspace_id,) if workspace_id else self.workspace_ids, attribute)

    def calculated_names(self) -> list[str]:
        """The calculated attributes defined for the audience's workspaces."""
        return sorted({name for ws in self.workspace_ids for name in self.catalog.calculated.get(ws, {})},
                      key=str.casefold)

    def calculated_attribute(self, name: str, workspace_id: int | None = None):
        """(workspace id, CalculatedAttribute) of a calculated attribute, or None when it is not defined."""
        return self.catalog.calculated_attribute((workspace_id,) if workspace_id else self.workspace_ids, name)

    def event_names(self, event_type: str) -> list[str]:
        return self.catalog.event_names(self.workspace_ids, event_type)

    def event_attributes(self, event_type: str, event_name: str | None) -> dict[str, str]:
        """Attribute → detected type of the events of this type (and name, if given)."""
        found: dict[str, str] = {}
        for ws in self.workspace_ids:
            for (known_type, known_name), attributes in self.catalog.event_attributes.get(ws, {}).items():
                if known_type == event_type and (event_name is None or known_name == event_name):
                    for name, kind in attributes.items():
                        found.setdefault(name, kind)
        return dict(sorted(found.items(), key=lambda item: item[0].casefold()))

    def identity_types(self) -> list[str]:
        return sorted(set().union(*(self.catalog.identity_types.get(ws, frozenset()) for ws in self.workspace_ids)))

    def change_attribute_type(self, attribute: str, kind: str, on_done: Callable[[], None] | None = None) -> None:
        """Override the detected type in the audience's workspaces (in the store), then read the catalog again."""
        if kind not in ATTRIBUTE_TYPES:
            raise ValueError(kind)
        home, workspace_ids, catalogs = self.home, self.workspace_ids, self.catalogs

        def work() -> Catalog:
            return set_attribute_type(home, workspace_ids, attribute, kind, catalogs)

        def done(_catalog: Catalog) -> None:
            if not isValid(self):
                return
            self.notice_catalog()
            if on_done is not None:
                on_done()

        self.tasks.run(work, label=f"Setting the type of {attribute}", on_success=done)

    # -- completions -------------------------------------------------------------------------------

    def suggester(self, kind: str, name: str | None = None):
        """A `Suggest` for fields: asks the cache for the most common values starting with a prefix."""
        def suggest(prefix: str, show: Callable[[list[str]], None]) -> None:
            home, workspace_ids = self.home, self.workspace_ids

            def work() -> list[str]:
                return suggest_values(home, workspace_ids, kind, name, prefix, SUGGESTION_LIMIT)

            def deliver(values: list[str]) -> None:
                owner = getattr(show, "__self__", None)
                if owner is None or isValid(owner):  # the field may have gone with its card
                    show(values)

            self.tasks.run(work, label="Reading values", on_success=deliver, on_failure=lambda _exc: None)

        return suggest

    def find_cities(self, text: str, show: Callable[[list], None]) -> None:
        """Ask (in a worker: the bundled list takes a moment to read) for the cities whose name starts with `text`;
        `show` gets them, most populous first."""
        def deliver(found: list) -> None:
            owner = getattr(show, "__self__", None)
            if owner is None or isValid(owner):  # the field may have gone with its card
                show(found)

        self.tasks.run(lambda: find_cities(text), label="Finding cities", on_success=deliver,
                       on_failure=lambda _exc: None)
