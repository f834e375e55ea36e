"""Helpers of the editor's tests: opening an editor on a real home and waiting for its estimates."""

from __future__ import annotations

from collections.abc import Callable

from app.builder.estimator import Estimate
from app.engines.estimates import estimate_document
from app.ui.editor.editor import AudienceEditor

TIMEOUT_MS = 30_000
NAME = "Engaged valuable shoppers"


def shown_exact(editor: AudienceEditor) -> Estimate | None:
    shown = editor.estimate.shown
    return shown if shown is not None and shown.exact and not editor.live.is_busy() else None


def engine_count(editor: AudienceEditor, criteria: dict | None = None) -> Estimate:
    """The exact estimate computed directly by the engine, outside the editor."""
    return estimate_document(editor.home, criteria or editor.document, workspace_ids=editor.context.workspace_ids,
                             input_ids=editor.model.draft.input_ids, exact=True)


def wait_estimate(qtbot, editor: AudienceEditor, action: Callable[[], None]) -> Estimate:
    """Do `action` (an edit) and wait for the exact estimate it causes."""
    with qtbot.waitSignal(editor.live.exact_shown, timeout=TIMEOUT_MS) as shown:
        action()
    return shown.args[0]
