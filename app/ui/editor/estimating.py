"""The editor's estimate orchestration: what the live estimate's answers do to the cards and the estimate panel.

After each edit the draft is estimated again (debounced; `LiveEstimate` runs it on its own thread,
newest request wins). The sampled count, the exact total and the per-node counts are shown as they
arrive; criteria the engine cannot count are marked invalid on their cards with the engine's
message. Unfinished parts (a value still to be typed, a card the engine cannot count yet) are left
out of the count (`EstimateSession` → `app.builder.unfinished`): the rest is counted, the cards left
out say why, the panel says how many, and the criteria are not valid (Activate stays off) until
they are finished. The criteria are counted with the editor's one catalog: when it changes (a type changed on
a card here or in another editor, or a sync changed the data) they are estimated again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.builder import editing
from app.builder.document import Problem
from app.builder.estimator import Estimate
from app.engines.editing_session import EditorContext, EstimateSession
from app.engines.home import OpenHome
from app.ui.editor.canvas import CriteriaCanvas
from app.ui.editor.estimate_panel import EstimatePanel
from app.ui.editor.live_estimate import LiveEstimate
from app.ui.editor.services import EditorServices


class EstimateOrchestrator(QObject):
    """Runs one editor's live estimate and shows its answers; says whether the criteria are valid."""

    #: whether the criteria can be activated may have changed (valid, problems)
    changed = Signal()
    #: the criteria compiled and were counted: a message about an earlier failure is out of date
    counted = Signal()

    def __init__(self, home: OpenHome, context: EditorContext, draft: Callable[[], Any], canvas: CriteriaCanvas,
                 panel: EstimatePanel, services: EditorServices, *, debounce_ms: int,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._draft = draft
        self.canvas = canvas
        self.panel = panel
        self.services = services
        #: whether the newest estimate compiled and counted the criteria
        self.valid = False
        #: what stops the criteria from being counted (or saved as active), each naming its node
        self.problems: list[Problem] = []
        standard = context.audience.id if context.audience.kind == "standard" else None
        # The session reads the editor's one catalog, the one the cards show.
        self.session = EstimateSession(home, context.workspace_ids, standard_audience_id=standard,
                                       catalog=context.catalogs)
        self.live = LiveEstimate(self.session, self, debounce_ms=debounce_ms)
        self.live.requested.connect(self._on_requested)
        self.live.sample_shown.connect(self._on_sample)
        self.live.total_shown.connect(self._on_total)
        self.live.exact_shown.connect(self._on_exact)
        self.live.problems_shown.connect(self._on_problems)
        self.live.failed.connect(self._on_failed)
        # A type changed (here or elsewhere) or the data synced: the same criteria count differently, or not at all.
        services.catalog_changed.connect(lambda: self.estimate(now=True))

    def estimate(self, now: bool = False) -> None:
        """Estimate the draft once edits pause (`now`: at once); an empty audience shows as empty."""
        draft = self._draft()
        if editing.criteria_count(draft.criteria) == 0:
            self.live.forget()  # answers on their way are about criteria that are gone
            self.valid = False
            self.problems = []
            self.canvas.show_counts(None)
            self.canvas.show_problems(problem_map([]))
            self.panel.show_empty()
            self.panel.show_left_out([])
            return
        self.live.request(draft.criteria, draft.input_ids, now=now)

    def workspace_changed(self) -> None:
        """A workspace of the audience changed (its real-time window in Preferences, its attribute types): count again."""
        self.services.refresh_catalog()
        self.estimate(now=True)

    def show_problems(self, problems: list[Problem]) -> None:
        """Mark the criteria invalid with these problems on their cards (e.g. a save that was refused)."""
        self.problems = list(problems)
        self.canvas.show_problems(problem_map(problems))

    def is_busy(self) -> bool:
        return self.live.is_busy()

    def shutdown(self) -> None:
        """Stop the estimate thread (the editor closes or the app quits)."""
        self.live.shutdown()

    def _on_requested(self, _generation: int) -> None:
        self.valid = False
        self.canvas.show_counts(None, pending=True)
        self.panel.show_counting()
        self.changed.emit()

    def _on_sample(self, estimate: Estimate) -> None:
        self.panel.show_sample(estimate)
        # What is left out shows at once; whether the criteria are valid waits for the exact count.
        self.canvas.show_problems(problem_map(list(estimate.left_out)))
        self.panel.show_left_out(list(estimate.left_out))

    def _on_total(self, estimate: Estimate) -> None:
        # The criteria compiled and were counted: they are valid even before each node's count is in,
        # unless parts were left out of the count (they are marked on their cards).
        self.services.notice_catalog()  # the estimate may have read it again (a sync changed the data)
        self.panel.show_exact(estimate, nodes_pending=True)
        self._show_left_out(estimate)
        self.counted.emit()
        self.changed.emit()

    def _on_exact(self, estimate: Estimate) -> None:
        self.panel.show_nodes_counted(estimate)
        self.canvas.show_counts(estimate.nodes, root_count=estimate.count, universe=estimate.universe,
                                left_out={p.node_id for p in estimate.left_out if p.node_id})
        self._show_left_out(estimate)
        self.changed.emit()

    def _show_left_out(self, estimate: Estimate) -> None:
        """Counted without its unfinished parts: they are marked on their cards, the total says so, and the
        audience cannot be activated until they are finished."""
        self.valid = not estimate.left_out
        self.problems = list(estimate.left_out)
        self.canvas.show_problems(problem_map(self.problems))
        self.panel.show_left_out(self.problems)

    def _on_problems(self, problems: list[Problem]) -> None:
        self.services.notice_catalog()
        self.valid = False
        self.problems = problems
        self.canvas.show_counts(None)
        self.panel.show_left_out([])
        self.canvas.show_problems(problem_map(problems))
        unplaced = [str(p) for p in problems if p.node_id is None or p.node_id not in self.canvas.frames]
        self.panel.show_problem("The criteria cannot be counted yet: see the messages on the cards." if not unplaced
                                else "The criteria cannot be counted: " + "; ".join(unplaced))
        self.changed.emit()

    def _on_failed(self, message: str) -> None:
        self.valid = False
        self.canvas.show_counts(None)
        self.panel.show_left_out([])
        self.panel.show_problem(message)
        self.changed.emit()


def problem_map(problems: list[Problem]) -> dict[str, list[str]]:
    """Node id → the sentences to show on its card."""
    found: dict[str, list[str]] = {}
    for problem in problems:
        if problem.node_id:
            found.setdefault(problem.node_id, []).append(_sentence(problem.message))
    return found


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
