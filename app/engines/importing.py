"""Importing batch files into a workspace: the cache load plus registering the inputs it saw, then bringing
the live audiences' membership up to date (app.engines.membership)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from app.connectors.importer import ImportReport, import_files
from app.engines import membership
from app.engines.home import OpenHome
from app.models.services.workspaces import WorkspaceInfo

#: The workspace an import creates in a home that has none yet.
FIRST_WORKSPACE_NAME = "My workspace"


def target_workspace(home: OpenHome, name: str | None) -> tuple[WorkspaceInfo, bool]:
    """The workspace named (created when new), else the home's first; returns (workspace, created)."""
    existing = home.workspaces.list()
    if name:
        for workspace in existing:
            if workspace.name.casefold() == name.casefold() or str(workspace.id) == name:
                return workspace, False
        return home.workspaces.create(name), True
    if existing:
        return existing[0], False
    return home.workspaces.create(FIRST_WORKSPACE_NAME), True


def import_into_workspace(
    home: OpenHome,
    files: Iterable[Path],
    *,
    workspace: str | None = None,
    feed: str | None = None,
    skip_bad: bool = False,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[WorkspaceInfo, ImportReport]:
    target, created = target_workspace(home, workspace)
    try:
        report = import_files(home.cache, files, workspace_id=target.id, feed=feed, skip_bad=skip_bad,
                              progress=progress, cancelled=cancelled)
    except BaseException:
        if created:  # a workspace made only for this import would be left empty
            home.workspaces.delete(target.id)
        raise
    for workspace_id, inputs in report.inputs.items():
        home.workspaces.ensure_inputs(workspace_id, sorted(inputs))
    if report.batches:
        membership.after_load(home)
    return home.workspaces.get(target.id), report
