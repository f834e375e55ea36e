"""The Revenue pane's charts (pyqtgraph, imported only when a chart is first built): lines over
time with a date axis, legend, hover values and mouse zoom/pan, and horizontal bars of a breakdown
with each part's share. Each chart remembers the data it shows, for CSV export and for tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPalette
from PySide6.QtWidgets import QToolTip, QVBoxLayout, QWidget

from app.builder import revenue as R

#: Distinct line and bar colours (colour-blind friendly, after Okabe and Ito).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: Unknown parts are grey, so they read as "not reported" rather than as one more buyer or channel.
UNKNOWN_COLOUR = "#9a9a9a"


def epoch(day: dt.date) -> float:
    """A day as the seconds DateAxisItem expects (UTC midnight)."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def money(value: float, currency: str) -> str:
    return f"{value:,.2f} {currency}"


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


class TimeChart(QWidget):
    """Lines over time: `show_series` draws one line per series; hovering shows every line's value
    at the nearest bucket. `x_buckets` lets a period compare draw its second line at the first's
    days (aligned bucket by bucket) while the hover still names each line's own bucket."""

    def __init__(self, title: str, unit: Callable[[float], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.unit = unit
        self.series: list[R.Series] = []
        self.hover_text = ""
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.plot.setAccessibleName(title)
        self.plot.setToolTip(f"{title}: drag to pan, scroll to zoom, right-click for more; hover for values")
        self.plot.setTitle(title)
        self.plot.hideButtons()
        _style(self.plot, self.palette())
        base = self.palette().color(QPalette.ColorRole.Base)
        self.legend = self.plot.addLegend(offset=(10, 10), labelTextColor=self.palette().color(QPalette.ColorRole.Text),
                                          brush=pg.mkBrush(QColor(base.red(), base.green(), base.blue(), 215)))
        self.curves: list = []
        self._x: list[float] = []
        self.line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((128, 128, 128, 150), style=Qt.PenStyle.DashLine))
        self.label = pg.TextItem(anchor=(0, 0), color=self.palette().color(QPalette.ColorRole.Text),
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
        layout.addWidget(self.plot)

    def show_series(self, series: Sequence[R.Series], *, x_buckets: Sequence[dt.date] | None = None,
                    first_colour: int = 0) -> None:
        import pyqtgraph as pg

        for curve in self.curves:
            self.plot.removeItem(curve)
        self.legend.clear()
        self.curves, self.series = [], list(series)
        longest = max(series, key=lambda s: len(s.buckets)).buckets if series else []
        self._x = [epoch(b) for b in (x_buckets or longest)]
        for i, s in enumerate(self.series):
            colour = UNKNOWN_COLOUR if s.label == R.UNKNOWN else COLOURS[(first_colour + i) % len(COLOURS)]
            x = [epoch(b) for b in s.buckets] if x_buckets is None else self._x[:len(s.values)]
            curve = self.plot.plot(x, s.values, name=s.label, pen=pg.mkPen(colour, width=2),
                                   symbol="o" if len(x) <= 60 else None, symbolSize=5,
                                   symbolBrush=colour, symbolPen=pg.mkPen(colour))
            self.curves.append(curve)
        self.line.hide()
        self.label.hide()
        self.plot.enableAutoRange()

    def hover_at(self, x: float) -> str:
        """The values at the bucket nearest to `x` (seconds); shows the line and label there."""
        if not self._x:
            return ""
        i = min(range(len(self._x)), key=lambda k: abs(self._x[k] - x))
        lines = []
        for s in self.series:
            if i < len(s.values):
                lines.append(f"{s.label} · {s.buckets[i].isoformat()}: {self.unit(s.values[i])}")
        self.hover_text = "\n".join(lines)
        self.line.setPos(self._x[i])
        self.line.show()
        top = self.plot.getViewBox().viewRange()[1][1]
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


class BarChart(QWidget):
    """A breakdown as horizontal bars, most revenue on top; each bar's label gives its share, the
    tooltip its revenue, impressions and (for an agency) the buyer's details."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.breakdown: R.Breakdown | None = None
        self.currency = ""
        self.plot = pg.PlotWidget()
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

    def show_breakdown(self, breakdown: R.Breakdown, currency: str) -> None:
        import pyqtgraph as pg

        self.breakdown, self.currency = breakdown, currency
        if self.bars is not None:
            self.plot.removeItem(self.bars)
        for label in self.labels:
            self.plot.removeItem(label)
        self.labels = []
        parts = breakdown.parts
        n = len(parts)
        ys = [n - 1 - i for i in range(n)]  # the biggest on top
        brushes = [pg.mkBrush(UNKNOWN_COLOUR if p.unknown else COLOURS[0]) for p in parts]
        self.bars = pg.BarGraphItem(x0=[0] * n, y=ys, height=0.7, width=[p.revenue for p in parts], brushes=brushes,
                                    pens=[pg.mkPen(None)] * n)
        self.plot.addItem(self.bars)
        self.plot.setTitle(f"Revenue by {breakdown.dimension}: {money(breakdown.total, currency)}")
        left = self.plot.getAxis("left")
        left.setTicks([[(y, p.label) for y, p in zip(ys, parts)]])
        # Room for the longest label: pyqtgraph does not widen an axis for custom ticks by itself.
        metrics = QFontMetrics(left.font() if hasattr(left, "font") else self.font())
        left.setWidth(min(260, 16 + max((metrics.horizontalAdvance(p.label) for p in parts), default=40)))
        text = self.palette().color(QPalette.ColorRole.Text)
        for y, part in zip(ys, parts):
            label = pg.TextItem(f" {part.share:.1%}", anchor=(0, 0.5), color=text)
            label.setPos(part.revenue, y)
            self.plot.addItem(label)
            self.labels.append(label)
        top = max((p.revenue for p in parts), default=1.0)
        self.plot.setXRange(0, top * 1.15, padding=0)
        self.plot.setYRange(-0.6, max(n - 0.4, 0.4), padding=0)

    def tooltip_of(self, part: R.Part) -> str:
        lines = [f"<b>{part.label}</b>", f"{money(part.revenue, self.currency)} ({part.share:.1%} of the total)",
                 "Impressions: not reported" if part.impressions is None else f"Impressions: {part.impressions:,}"]
        if part.unknown:
            lines.append(f"The channels did not report the {self.breakdown.dimension} of this revenue")
        if part.details is not None:
            d = part.details
            lines += [f"{k}: {v}" for k, v in (("Kind", d.kind), ("Country", d.country), ("Contact", d.contact)) if v]
        return "<br>".join(lines)

    def _on_mouse_moved(self, position: QPointF) -> None:
        if self.breakdown is None or not self.breakdown.parts:
            return
        box = self.plot.getViewBox()
        if not box.sceneBoundingRect().contains(position):
            return
        point = box.mapSceneToView(position)
        n = len(self.breakdown.parts)
        index = n - 1 - round(point.y())
        if 0 <= index < n and abs(point.y() - round(point.y())) <= 0.35:
            view_pos = self.plot.mapToGlobal(self.plot.mapFromScene(position))
            QToolTip.showText(view_pos, self.tooltip_of(self.breakdown.parts[index]), self.plot)
        else:
            QToolTip.hideText()

    def table(self) -> list[list]:
        return R.breakdown_table(self.breakdown) if self.breakdown is not None else []
