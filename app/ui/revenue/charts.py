"""The Revenue pane's charts (pyqtgraph, imported only when a chart is first built): lines over
time with a date axis, legend, hover values and mouse zoom/pan, and horizontal bars of a breakdown
with each part's share. Each chart remembers the data it shows, for CSV export and for tests."""

from __future__ import annotations

import datetime as dt
import functools
import html
import math
from collections.abc import Callable, Sequence

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPalette
from PySide6.QtWidgets import QToolTip, QVBoxLayout, QWidget

from app.engines import revenue as R
from app.ui.revenue.legend import Legend

#: Distinct line and bar colours (colour-blind friendly, after Okabe and Ito).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: Unknown parts are grey, so they read as "not reported" rather than as one more buyer or channel.
UNKNOWN_COLOUR = "#9a9a9a"
#: Revenue through a channel that is not one of the app's: the same hue, paler.
OTHER_COLOUR = COLOURS[4]
#: The most bars a breakdown draws (the biggest parts, and Unknown): 400 segments' bars would be a pixel
#: high each, and their labels cost most of a redraw. The table beside the chart lists every part.
MAX_BARS = 25


def epoch(day: dt.date) -> float:
    """A day as the seconds DateAxisItem expects (UTC midnight)."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def money(value: float, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def compact_ticks(values: Sequence[float], spacing: float) -> list[str]:
    """An axis's tick labels in thousands (k), millions (M) or billions (B), one unit for the whole
    axis and as many decimals as the spacing needs: "0.5M 1.0M 1.5M" rather than "500000 1e+06"."""
    top = max((abs(v) for v in values), default=0.0)
    unit, suffix = next(((u, s) for u, s in ((1e9, "B"), (1e6, "M"), (1e3, "k")) if top >= u), (1.0, ""))
    step, places = spacing / unit, 0
    while places < 6 and abs(round(step, places) - step) > 1e-9 * max(1.0, step):
        places += 1  # as many decimals as the step between ticks has (2.5k: one)
    return ["0" if v == 0 else f"{v / unit:,.{places}f}{suffix}" for v in values]


@functools.cache
def _compact_axis_class():
    import pyqtgraph as pg

    class CompactAxis(pg.AxisItem):
        """A value axis labelled by compact_ticks."""

        def tickStrings(self, values, scale, spacing):  # pyqtgraph's name
            return compact_ticks([v * scale for v in values], spacing * scale)

    return CompactAxis


def compact_axis(orientation: str):
    return _compact_axis_class()(orientation)


def _style(plot, palette: QPalette) -> None:
    import pyqtgraph as pg

    text = palette.color(QPalette.ColorRole.Text)
    plot.setBackground(palette.color(QPalette.ColorRole.Base))
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(QColor(text.red(), text.green(), text.blue(), 110)))
        axis.setTextPen(pg.mkPen(text))
        axis.enableAutoSIPrefix(False)
    plot.showGrid(x=False, y=True, alpha=0.15)


def drawn_value(series: R.Series, i: int) -> float:
    """Where bucket i is drawn: its value, or for a bucket the range covers only in part, its value at
    the same daily rate over the whole bucket (one day of seven earning 20 is drawn at 140), so a short
    first or last week stands level with its neighbours instead of falling; the hover gives both."""
    partial = series.partial(i)
    if partial is None:
        return series.values[i]
    covered, length = partial
    return series.values[i] * length / covered


def partial_note(series: R.Series, i: int, unit: Callable[[float], str]) -> str:
    """For a bucket the range covers only in part, a hover's second line: how much of it, and the
    whole-bucket rate it is drawn at ("" for a whole bucket)."""
    partial = series.partial(i)
    if partial is None:
        return ""
    noun = _BUCKET_NOUN[series.granularity]
    return (f"\n    partial {noun}, {partial[0]} of {partial[1]} days: drawn at {unit(drawn_value(series, i))}, "
            f"its rate for a whole {noun}")


_BUCKET_NOUN = {"day": "day", "week": "week", "month": "month"}


class TimeChart(QWidget):
    """Lines over time: `show_series` draws one line per series; hovering shows every line's value
    at the nearest bucket. `x_buckets` lets a period compare draw its second line at the first's
    days (aligned bucket by bucket) while the hover still names each line's own bucket.

    A week or month the range covers only in part (its first or last) sums fewer days than the others:
    the solid line leaves it out; a dashed line joins a hollow marker at its whole-bucket rate
    (`drawn_value`), and the hover and the legend say "partial" with the real sum, so a short first week
    never reads as a fall. The legend sits under the plot, never over the lines."""

    def __init__(self, title: str, unit: Callable[[float], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.unit = unit
        self.series: list[R.Series] = []
        self.hover_text = ""
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0), "left": compact_axis("left")})
        self.plot.setAccessibleName(title)
        self.plot.setToolTip(f"{title}: drag to pan, scroll to zoom, right-click for more; hover for values")
        self.plot.setTitle(title)
        self.plot.hideButtons()
        _style(self.plot, self.palette())
        # Under the plot rather than in it: a legend inside the plot hid the lines behind it.
        self.legend = Legend(accessible_name=f"{title} legend")
        #: per series, its solid line (whole buckets) and its dashed line to the partial buckets (or None)
        self.curves: list = []
        self.partial_curves: list = []
        self._x: list[float] = []
        self._buckets: list[dt.date] = []
        self._aligned = False
        self.line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((128, 128, 128, 150), style=Qt.PenStyle.DashLine))
        # The tooltip's own pair of colours: Text on ToolTipBase was white on pale yellow in a dark theme.
        self.label = pg.TextItem(anchor=(0, 0), color=self.palette().color(QPalette.ColorRole.ToolTipText),
                                 fill=pg.mkBrush(self.palette().color(QPalette.ColorRole.ToolTipBase)))
        self.line.setZValue(10)
        self.label.setZValue(11)
        self.plot.addItem(self.line, ignoreBounds=True)
        self.plot.addItem(self.label, ignoreBounds=True)
        self.line.hide()
        self.label.hide()
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)

    def show_series(self, series: Sequence[R.Series], *, x_buckets: Sequence[dt.date] | None = None,
                    first_colour: int = 0, days: tuple[dt.date, dt.date] | None = None) -> None:
        """Draw one line per series. `days` (first, last) spans the time axis over those days however
        short the lines are (a size history begun today is one point, not a zoom into one second)."""
        import pyqtgraph as pg

        for curve in self.curves:
            self.plot.removeItem(curve)
        for curve in self.partial_curves:
            if curve is not None:
                self.plot.removeItem(curve)
                self.plot.removeItem(curve.markers)
        self.curves, self.partial_curves, self.series = [], [], list(series)
        entries: list[tuple[str, str, bool]] = []
        any_partial = False
        longest = max(series, key=lambda s: len(s.buckets)).buckets if series else []
        if x_buckets:
            # A period starting later in its week or month may have one bucket more than the first:
            # it is drawn one bucket past the first's last.
            x_buckets = list(x_buckets)
            while len(x_buckets) < len(longest):
                x_buckets.append(R.next_bucket(x_buckets[-1], series[0].granularity))
        # Lines of one chart may start and end on different buckets (a segment first counted later): the
        # hover runs over every bucket of any line, and finds each line's own value by its bucket.
        self._aligned = bool(x_buckets)
        self._buckets = x_buckets or sorted({b for s in series for b in s.buckets})
        self._x = [epoch(b) for b in self._buckets]
        seconds = dict(zip(self._buckets, self._x))
        for i, s in enumerate(self.series):
            colour = UNKNOWN_COLOUR if s.label == R.UNKNOWN else COLOURS[(first_colour + i) % len(COLOURS)]
            x = ([seconds.get(b) or epoch(b) for b in s.buckets] if x_buckets is None
                 else self._x[:len(s.values)])
            partial = [s.partial(k) is not None for k in range(len(x))]
            solid = [math.nan if p else v for v, p in zip(s.values, partial)]
            at = x
            if all(partial):  # no whole bucket (a range inside one week): nothing solid to draw
                x, solid = [], []
            curve = self.plot.plot(x, solid, name=s.label, pen=pg.mkPen(colour, width=2), connect="finite",
                                   symbol="o" if len(x) <= 60 else None, symbolSize=5,
                                   symbolBrush=colour, symbolPen=pg.mkPen(colour))
            self.curves.append(curve)
            self.partial_curves.append(self._plot_partial(at, [drawn_value(s, k) for k in range(len(at))], partial,
                                                          colour) if any(partial) else None)
            any_partial = any_partial or any(partial)
            entries.append((colour, s.label, False))
        if any_partial:
            noun = _BUCKET_NOUN[self.series[0].granularity]
            entries.append(("#808080", f"partial {noun}: the range has only some of its days, drawn at their "
                                       f"rate for a whole {noun} (hover for its sum)", True))
        self.legend.set_entries(entries)
        self.line.hide()
        self.label.hide()
        self.plot.enableAutoRange()
        if days is not None:
            self.plot.setXRange(epoch(days[0]), epoch(days[1]), padding=0.02)

    def _plot_partial(self, x: list[float], values: Sequence[float], partial: list[bool], colour: str):
        """A dashed line from each partial bucket to its whole neighbours, with hollow markers."""
        import pyqtgraph as pg

        xs, ys, marks = [], [], []
        for k, is_partial in enumerate(partial):
            if not is_partial:
                continue
            marks.append(k)
            for j in (k - 1, k + 1):
                if 0 <= j < len(x):
                    xs += [x[j], x[k], math.nan]
                    ys += [values[j], values[k], math.nan]
        curve = self.plot.plot(xs, ys, pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine), connect="finite")
        markers = pg.ScatterPlotItem([x[k] for k in marks], [values[k] for k in marks], symbol="o", size=8,
                                     pen=pg.mkPen(colour, width=2), brush=pg.mkBrush(self.palette().color(
                                         QPalette.ColorRole.Base)))
        self.plot.addItem(markers)
        curve.markers = markers
        return curve

    def drawn_values(self, index: int) -> list[float]:
        """Series `index`'s values as drawn, bucket by bucket: on its solid line, or at its partial
        markers (`drawn_value`: what a test compares with the data)."""
        xs, ys = (list(v) if v is not None else [] for v in self.curves[index].getData())
        dashed = self.partial_curves[index]
        if dashed is None:
            return ys
        marked = dict(zip(*(list(v) for v in dashed.markers.getData())))
        if not xs:  # every bucket partial: only markers
            return [marked[x] for x in sorted(marked)]
        return [marked.get(x, y) if math.isnan(y) else y for x, y in zip(xs, ys)]

    def hover_at(self, x: float) -> str:
        """The values at the bucket nearest to `x` (seconds); shows the line and label there."""
        if not self._x:
            return ""
        i = min(range(len(self._x)), key=lambda k: abs(self._x[k] - x))
        lines = []
        for s in self.series:
            k = i if self._aligned else (s.buckets.index(self._buckets[i]) if self._buckets[i] in s.buckets else None)
            if k is not None and k < len(s.values):
                lines.append(f"{s.label} · {s.buckets[k].isoformat()}: {self.unit(s.values[k])}{partial_note(s, k, self.unit)}")
        self.hover_text = "\n".join(lines)
        self.line.setPos(self._x[i])
        self.line.show()
        (left, right), (_bottom, top) = self.plot.getViewBox().viewRange()
        # Right of the line in the left half, left of it in the right half: never cut by the plot's edge.
        self.label.setAnchor((1, 0) if self._x[i] > (left + right) / 2 else (0, 0))
        self.label.setText(self.hover_text)
        self.label.setPos(self._x[i], top)
        self.label.show()
        return self.hover_text

    def _on_mouse_moved(self, position: QPointF) -> None:
        box = self.plot.getViewBox()
        if not box.sceneBoundingRect().contains(position):
            self.line.hide()
            self.label.hide()
            return
        self.hover_at(box.mapSceneToView(position).x())

    def table(self) -> list[list]:
        return R.series_table(self.series)


def drawn_parts(breakdown: R.Breakdown, most: int = MAX_BARS) -> list[R.Part]:
    """The parts a bar chart draws, biggest first: all of them, or the `most` biggest with the
    Unknown part kept among them (it says how much was not reported, however small)."""
    parts = list(breakdown.parts)
    if len(parts) <= most:
        return parts
    shown = parts[:most]
    unknown = next((p for p in parts[most:] if p.unknown), None)
    if unknown is not None:
        shown[-1] = unknown
    return shown


class BarChart(QWidget):
    """A breakdown as horizontal bars, most revenue on top (at most MAX_BARS); each bar's label gives
    its share, the tooltip its revenue, impressions and (for an agency) the buyer's details."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.breakdown: R.Breakdown | None = None
        self.notes: dict[str | None, str] = {}
        #: the parts drawn, top to bottom (the biggest MAX_BARS of the breakdown's)
        self.parts: list[R.Part] = []
        self.currency = ""
        self.plot = pg.PlotWidget(axisItems={"bottom": compact_axis("bottom")})
        self.plot.setAccessibleName("Revenue breakdown")
        self.plot.setToolTip("Hover a bar for its revenue, share and details")
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=True, y=False)
        _style(self.plot, self.palette())
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        self.bars = None
        self.labels: list = []
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_breakdown(self, breakdown: R.Breakdown, currency: str,
                       notes: dict[str | None, str] | None = None, others: frozenset[str] = frozenset()) -> None:
        """Draw the breakdown; `notes` adds a line to a part's tooltip (by key: where a channel's
        revenue came from); the parts of `others` (channels that are not the app's) get a paler bar."""
        import pyqtgraph as pg

        self.breakdown, self.currency, self.notes = breakdown, currency, dict(notes or {})
        if self.bars is not None:
            self.plot.removeItem(self.bars)
            self.bars = None
        parts = self.parts = drawn_parts(breakdown)
        n = len(parts)
        ys = [n - 1 - i for i in range(n)]  # the biggest on top
        if n:  # pyqtgraph cannot draw zero bars (the filters may leave no revenue)
            brushes = [pg.mkBrush(UNKNOWN_COLOUR if p.unknown else OTHER_COLOUR if p.key in others else COLOURS[0])
                       for p in parts]
            self.bars = pg.BarGraphItem(x0=[0] * n, y=ys, height=0.7, width=[p.revenue for p in parts],
                                        brushes=brushes, pens=[pg.mkPen(None)] * n)
            self.plot.addItem(self.bars)
        more = len(breakdown.parts) - n
        total = money(breakdown.total, currency) if n else "none for these choices"
        self.plot.setTitle(f"Revenue by {breakdown.dimension}: {total}"
                           + (f" · the biggest {n} of {len(breakdown.parts)} shown" if more else ""))
        left = self.plot.getAxis("left")
        left.setTicks([[(y, p.label) for y, p in zip(ys, parts)]])
        # Room for the longest label: pyqtgraph does not widen an axis for custom ticks by itself.
        metrics = QFontMetrics(left.font() if hasattr(left, "font") else self.font())
        left.setWidth(min(260, 16 + max((metrics.horizontalAdvance(p.label) for p in parts), default=40)))
        # The share labels are kept from one redraw to the next: making text items is what costs.
        text = self.palette().color(QPalette.ColorRole.Text)
        while len(self.labels) < n:
            label = pg.TextItem("", anchor=(0, 0.5), color=text)
            self.plot.addItem(label)
            self.labels.append(label)
        for i, label in enumerate(self.labels):
            label.setVisible(i < n)
            if i < n:
                label.setText(f" {parts[i].share:.1%}")
                label.setPos(parts[i].revenue, ys[i])
        self._fit_x()
        self.plot.setYRange(-0.6, max(n - 0.4, 0.4), padding=0)

    def _fit_x(self) -> None:
        """The revenue axis up to the biggest bar, with room after it for its share label in pixels
        (a fixed 15 % cut the label off when the chart was narrow)."""
        top = max((p.revenue for p in self.parts), default=1.0)
        label = QFontMetrics(self.font()).horizontalAdvance(" 100.0%") + 16  # and the text item's margins
        width = max(float(self.plot.getViewBox().width()), 1.0)
        self.plot.setXRange(0, top * width / max(width - label, width * 0.5), padding=0)

    def resizeEvent(self, event) -> None:  # Qt's name
        super().resizeEvent(event)
        if self.parts:
            self._fit_x()

    def tooltip_of(self, part: R.Part) -> str:
        lines = [f"<b>{part.label}</b>", f"{money(part.revenue, self.currency)} ({part.share:.1%} of the total)",
                 "Impressions: not reported" if part.impressions is None else f"Impressions: {part.impressions:,}"]
        if part.unknown:
            lines.append(f"The channels did not report the {self.breakdown.dimension} of this revenue")
        elif part.key in self.notes:
            lines.append(html.escape(self.notes[part.key]))
        if part.details is not None:
            d = part.details
            lines += [f"{k}: {v}" for k, v in (("Kind", d.kind), ("Country", d.country), ("Contact", d.contact)) if v]
        return "<br>".join(lines)

    def _on_mouse_moved(self, position: QPointF) -> None:
        if self.breakdown is None or not self.parts:
            return
        box = self.plot.getViewBox()
        if not box.sceneBoundingRect().contains(position):
            return
        point = box.mapSceneToView(position)
        n = len(self.parts)
        index = n - 1 - round(point.y())
        if 0 <= index < n and abs(point.y() - round(point.y())) <= 0.35:
            view_pos = self.plot.mapToGlobal(self.plot.mapFromScene(position))
            QToolTip.showText(view_pos, self.tooltip_of(self.parts[index]), self.plot)
        else:
            QToolTip.hideText()

    def table(self) -> list[list]:
        return R.breakdown_table(self.breakdown) if self.breakdown is not None else []
