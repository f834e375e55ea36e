"""The live estimate: the audience's size (sampled with its 95 % interval, then exact) and its history.

When the cache itself holds only a sample of the profiles (a sync with `--sample`), no count is
exact: the "exact" count of the cache is scaled to the whole workspace and shown with its 95 %
interval, and the panel says the exact count is unavailable offline.

The history's chart (pyqtgraph) is built when the first exact size arrives: until then there is
nothing to draw, and an editor opens without building it.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from app.builder.document import Problem
from app.builder.estimator import Estimate, wilson_interval
from app.builder.unfinished import parts_count
from app.ui.shades import mix
from app.ui.turns import on_next_turn

#: One height, whatever the column's: a chart that changes size is laid out and repainted whole.
CHART_HEIGHT = 120


def whole_step(span: float, ticks: int = 3) -> int:
    """A whole tick spacing (1, 2, 5, 10, 20, 50…) giving about `ticks` ticks over `span` users."""
    wanted = max(span / ticks, 1)
    power = 10 ** math.floor(math.log10(wanted))
    for factor in (1, 2, 5, 10):
        if factor * power >= wanted:
            return int(factor * power)
    return int(10 * power)


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g} %"


class EstimatePanel(QWidget):
    """Big number, what it is (sample or exact, out of how many), and a small chart of the session."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Estimated audience size")
        self.caption = QLabel("Estimated size")
        self.caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.count = QLabel("—")
        self.count.setAccessibleName("Users in the audience")
        font = self.count.font()
        font.setPointSizeF(font.pointSizeF() * 2.2)
        font.setBold(True)
        self.count.setFont(font)
        self.count.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel("Add criteria to see how many users match")
        self.detail.setWordWrap(True)
        self.detail.setMinimumWidth(1)
        self.detail.setAccessibleName("Estimate detail")
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.state.setMinimumWidth(1)
        self.state.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.state.setAccessibleName("Estimate state")
        # Two lines kept for each, as most of their texts take: the chart below stays where it is as
        # the texts change from edit to edit (a moved chart is repainted whole).
        for label in (self.detail, self.state):
            label.setMinimumHeight(2 * label.fontMetrics().lineSpacing())
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # Parts of the criteria the count left out (unfinished cards), said under the number.
        self.left_out = QLabel()
        self.left_out.setWordWrap(True)
        self.left_out.setMinimumWidth(1)
        self.left_out.setAccessibleName("Left out of the count")
        self.left_out.setVisible(False)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(4)
        self.busy.setAccessibleName("Counting")
        # Keeps its place when hidden: the chart below does not jump (and repaint) at every count.
        policy = self.busy.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.busy.setSizePolicy(policy)
        self.busy.setVisible(False)

        self.chart = None  # a pyqtgraph GraphicsLayoutWidget, made by `_ensure_chart`
        self._chart_pending = False
        self.curve = None
        # Holds the chart's place so that nothing moves when it appears.
        self.chart_slot = QWidget()
        self.chart_slot.setFixedHeight(CHART_HEIGHT)
        self.chart_slot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.count)
        layout.addWidget(self.detail)
        layout.addWidget(self.state)
        layout.addWidget(self.left_out)
        layout.addSpacing(4)
        layout.addWidget(self.busy)
        layout.addSpacing(6)
        layout.addWidget(self.chart_slot)
        self._layout = layout

        self.history: list[tuple[int, int]] = []
        self.shown: Estimate | None = None
        #: The fraction of profiles the cache holds when it was synced as a sample (None: all of them).
        self.cache_sample: float | None = None
        self._sample_asked = False

    # -- a sampled cache ---------------------------------------------------------------------------

    def set_cache_sample(self, fraction: float | None) -> None:
        """Say the cache holds only this fraction of the profiles (None: all); what is shown is redone."""
        self._sample_asked = True
        if fraction == self.cache_sample:
            return
        self.cache_sample = fraction
        if self.shown is not None:
            if self.shown.exact:
                self._show_exact_text(self.shown)
                self._show_exact_state(self.shown, None)
            else:
                self.show_sample(self.shown)

    def _ask_cache_sample(self) -> None:
        """Once per panel: ask (in the background) whether the editor's home holds a sampled cache."""
        if self._sample_asked:
            return
        self._sample_asked = True
        owner = self.parent()
        while owner is not None and not (hasattr(owner, "home") and hasattr(owner, "tasks")):
            owner = owner.parent()
        home = getattr(owner, "home", None)
        if home is None:
            return
        from app.engines.sync import cache_sample

        owner.tasks.run(lambda: cache_sample(home), label="Reading the cache's sample", on_success=self.set_cache_sample,
                        on_failure=lambda _exc: None)

    def _ensure_chart(self) -> None:
        """Build the history's chart (the first time there is something to draw)."""
        if self.chart is not None:
            return
        import pyqtgraph as pg  # ~0.25 s with numpy: not at start-up (app.ui.editor.tabs preloads it)

        # A view box with two axes rather than a PlotWidget: a PlotItem also builds its context menus
        # and control panel (15-35 ms on the GUI thread), which this chart never shows.
        self.chart = pg.GraphicsLayoutWidget()
        self.chart.setAccessibleName("Audience size over this editing session")
        self.chart.setToolTip("The exact size after each edit of this session")
        self.chart.setFixedHeight(CHART_HEIGHT)
        self.chart.setMinimumWidth(1)
        self.chart.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.view = pg.ViewBox(enableMenu=False, enableMouse=False)
        self.axes = {"left": pg.AxisItem("left"), "bottom": pg.AxisItem("bottom")}
        self.chart.ci.addItem(self.axes["left"], row=0, col=0)
        self.chart.ci.addItem(self.view, row=0, col=1)
        self.chart.ci.addItem(self.axes["bottom"], row=1, col=1)
        for axis in self.axes.values():
            axis.linkToView(self.view)
            axis.enableAutoSIPrefix(False)
        # At least two users tall: a session of one size shows whole-number ticks around it, not 15.5 – 16.5.
        self.view.setLimits(minYRange=2)
        self.curve = pg.PlotDataItem([], [], symbol="o", symbolSize=5)
        self.view.addItem(self.curve)
        self._apply_palette()
        self._layout.replaceWidget(self.chart_slot, self.chart)
        self.chart_slot.deleteLater()
        self.chart_slot = None

    def _apply_palette(self) -> None:
        if self.chart is None:
            return
        import pyqtgraph as pg

        palette = self.palette()
        window, text = palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.Text)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        self.chart.setBackground(palette.color(QPalette.ColorRole.Base))
        axis_pen = pg.mkPen(mix(window, text, 0.45))
        for axis in self.axes.values():
            axis.setPen(axis_pen)
            axis.setTextPen(pg.mkPen(mix(window, text, 0.7)))
        self.axes["bottom"].setLabel("edits this session", color=mix(window, text, 0.6).name())
        self.axes["left"].setGrid(int(0.15 * 255))
        self.curve.setPen(pg.mkPen(highlight, width=2))
        self.curve.setSymbolBrush(highlight)
        self.curve.setSymbolPen(pg.mkPen(highlight))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self._apply_palette()

    # -- states ------------------------------------------------------------------------------------

    def show_counting(self) -> None:
        self._ask_cache_sample()
        self.busy.setVisible(True)
        self.state.setText("Counting…")

    def show_sample(self, estimate: Estimate) -> None:
        self.shown = estimate
        scale = 1 / self.cache_sample if self.cache_sample else 1
        self.count.setText(f"≈ {round(estimate.count * scale):,}")
        low, high = estimate.interval or (0, estimate.universe)
        held = f" of the {_percent(self.cache_sample)} this laptop holds" if self.cache_sample else ""
        self.detail.setText(f"95 % interval {round(low * scale):,} – {round(high * scale):,} users, from a 1 % sample{held}")
        self.state.setText("Counting every profile…")

    def show_exact(self, estimate: Estimate, *, nodes_pending: bool = False) -> None:
        """The exact count; with `nodes_pending`, each criterion's count is still on its way."""
        self.shown = estimate
        self.busy.setVisible(nodes_pending)
        shown_count = self._show_exact_text(estimate)
        self._show_exact_state(estimate, "counting each criterion…" if nodes_pending else None)
        self.state.setToolTip(f"Calculated at {estimate.now:%Y-%m-%d %H:%M} UTC")
        self.history.append((len(self.history) + 1, shown_count))
        if self.chart is None:
            # Built on a turn of the event loop of its own, not on top of the work of showing this estimate.
            if not self._chart_pending:
                self._chart_pending = True
                on_next_turn(self, self._draw_history)
            return
        self._draw_history()

    def _draw_history(self) -> None:
        self._chart_pending = False
        self._ensure_chart()
        xs, ys = zip(*self.history)
        self.curve.setData(list(xs), list(ys))
        # Edits are counted in whole steps: never a tick at "1.5"; about six ticks however long the session.
        step = max(1, math.ceil(len(xs) / 6))
        self.axes["bottom"].setTickSpacing(major=step, minor=step)
        # Users are counted whole: ticks at whole numbers only (never "15.6"), about three of them (the chart is small).
        users = whole_step(max(ys) - min(ys))
        self.axes["left"].setTickSpacing(major=users, minor=users)

    def show_nodes_counted(self, estimate: Estimate) -> None:
        """Each criterion's count is in (the total is the one already shown, counted again with the nodes)."""
        if self.shown is None or not self.shown.exact or self.shown.count != estimate.count:
            self.show_exact(estimate)
            return
        total_ms = self.shown.elapsed_ms  # what the user waited for the number, not for the node counts
        self.shown = estimate
        self.busy.setVisible(False)
        self._show_exact_state(estimate, None, total_ms)

    def _show_exact_text(self, estimate: Estimate) -> int:
        """The count and its detail; the count shown (scaled to the workspace when the cache is a sample)."""
        if not self.cache_sample:
            self.count.setText(f"{estimate.count:,}")
            share = f" ({estimate.count / estimate.universe:.1%})" if estimate.universe else ""
            self.detail.setText(f"users of {estimate.universe:,}{share}")
            return estimate.count
        # Every profile of the sample was counted: the share is known within its interval, the whole is scaled.
        fraction = self.cache_sample
        scaled = round(estimate.count / fraction)
        low, high = wilson_interval(estimate.count, estimate.universe)
        whole = estimate.universe / fraction
        self.count.setText(f"≈ {scaled:,}")
        self.detail.setText(f"95 % interval {math.floor(low * whole):,} – {math.ceil(high * whole):,} users, from the "
                            f"{_percent(fraction)} sample this laptop holds ({estimate.count:,} of {estimate.universe:,} sampled users)")
        return scaled

    def _show_exact_state(self, estimate: Estimate, pending: str | None, elapsed_ms: float | None = None) -> None:
        days = estimate.realtime_days
        window = ("last day of events · " if days == 1 else f"last {days} days of events · ") if days else ""
        tail = pending or f"{estimate.elapsed_ms if elapsed_ms is None else elapsed_ms:,.0f} ms"
        if self.cache_sample:
            self.state.setText(f"Exact count unavailable offline: the cache holds a {_percent(self.cache_sample)} sample · {window}{tail}")
        else:
            self.state.setText(f"Exact · {window}{tail}")

    def show_left_out(self, problems: list[Problem]) -> None:
        """Say how many unfinished parts the count leaves out (none: say nothing)."""
        parts = parts_count(problems)
        self.left_out.setVisible(bool(parts))
        if not parts:
            self.left_out.setText("")
            self.left_out.setToolTip("")
            return
        self.left_out.setText(f"⚠ {parts} incomplete condition{'s' if parts != 1 else ''} left out "
                              f"of the count: see {'their cards' if parts != 1 else 'its card'}")
        self.left_out.setToolTip("\n".join(problem.message[:1].upper() + problem.message[1:] for problem in problems))

    def show_problem(self, message: str) -> None:
        self.busy.setVisible(False)
        self.count.setText("—")
        self.detail.setText(message)
        self.state.setText("")

    def show_empty(self) -> None:
        self.busy.setVisible(False)
        self.count.setText("—")
        self.detail.setText("Add criteria to see how many users match")
        self.state.setText("")
