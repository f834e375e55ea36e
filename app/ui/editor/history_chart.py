"""The audience's size over time, beside the live estimate: the membership engine's daily history
(`membership.history`), with the adds and drops of each day, a hover readout, a range (30 days, 90 days,
13 months) and export as PNG or CSV.

The live estimate says who would be in the audience as edited; this chart says who was in it as saved, day by
day, as the engine calculated it (docs/membership.md). The history is read in a worker when the chart is first
shown, and again every minute while it is shown (the clock, imports and syncs add to it); an audience never
calculated (a draft) shows why there is no history yet. pyqtgraph is imported when the chart is first built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from shiboken6 import isValid

from app.ui.editor.estimate_panel import whole_step
from app.ui.home import HomeConnection
from app.ui.kit.menu_button import MenuToolButton
from app.ui.kit.newest import NewestWins
from app.ui.workers import Tasks, failure_message

#: The ranges offered, in days back from today (13 months: 396 days).
RANGES = (("30 days", 30), ("90 days", 90), ("13 months", 396))
#: While shown, the history is read again this often: the clock, imports and syncs add to it.
RELOAD_MS = 60_000
CSV_HEADER = ["day", "size", "adds", "drops"]
ADDS_COLOUR, DROPS_COLOUR, SIZE_COLOUR = "#009E73", "#D55E00", "#0072B2"
NEVER_CALCULATED = ("No history yet: the audience has never been calculated. Activate it, and its size is "
                    "recorded every day from then on.")


#: The shortest span of days the chart shows (6.5 days before the last one, half a day after it).
WEEK_SECONDS = 6.5 * 86_400


@dataclass(frozen=True)
class History:
    """What the chart shows: the daily rows, and whether the engine ever calculated the audience."""

    days: list  # membership.HistoryDay, oldest first
    calculated: bool


def read_history(home, audience_id: int) -> History:
    """Runs in a worker."""
    from app.engines import membership

    days = membership.history(home, audience_id)
    return History(days, bool(days) or membership.status(home, audience_id).as_of is not None)


class HistoryChart(QWidget):
    """Size per day (a line) over adds (up) and drops (down) per day (bars), for one audience."""

    #: fires on the GUI thread after a read was shown
    shown = Signal()
    #: an export finished: the file written
    exported = Signal(str)

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connection, self.tasks, self.audience_id = connection, tasks, audience_id
        self.history: History | None = None
        #: the rows drawn (the range chosen), and the hover readout's text
        self.rows: list = []
        self.hover_text = ""
        self._reads = NewestWins()
        # Closing the editor deletes this widget while a read may be on its way: its answer is dropped.
        reads = self._reads
        self.destroyed.connect(lambda *_: reads.stop())
        self._plot = None

        caption = QLabel("Size over time")
        font = caption.font()
        font.setBold(True)
        caption.setFont(font)
        self.range = QComboBox()
        self.range.setAccessibleName("History range")
        self.range.setToolTip("How far back the chart goes")
        for text, days in RANGES:
            self.range.addItem(text, days)
        self.range.currentIndexChanged.connect(lambda _i: self._draw())
        self.export_button = MenuToolButton("Export")
        self.export_button.setAccessibleName("Export the size history")
        self.export_button.setToolTip("Save the chart as a picture (PNG) or its days as CSV")
        menu = QMenu(self.export_button)
        menu.addAction("Picture (PNG)…", lambda: self.export_png())
        menu.addAction("Data (CSV)…", lambda: self.export_csv())
        self.export_button.setMenu(menu)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(caption)
        top.addStretch(1)
        top.addWidget(self.range)
        top.addWidget(self.export_button)

        self.empty = QLabel("Reading the history…")
        self.empty.setWordWrap(True)
        self.empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.empty.setAccessibleName("Size history")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty)
        self.pages.setFixedHeight(200)
        self.readout = QLabel(" ")
        self.readout.setAccessibleName("Size on the day pointed at")
        self.readout.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.pages)
        layout.addWidget(self.readout)
        self._enable(False)

        self._timer = QTimer(self, interval=RELOAD_MS)
        self._timer.timeout.connect(self.reload)

    # -- reading -----------------------------------------------------------------------------------

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.reload()
        self._timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._timer.stop()

    def reload(self) -> None:
        """Read the history again in a worker (the newest read wins)."""
        home = self.connection.open_home
        if home is None:
            return
        ticket = self._reads.begin()
        audience_id = self.audience_id
        self.tasks.run(lambda: read_history(home, audience_id), label="Reading the size history",
                       on_success=ticket.deliver(self.show_history),
                       on_failure=ticket.deliver(lambda exc: self._show_empty(
                           failure_message(exc, "Reading the size history"))))

    def show_history(self, history: History) -> None:
        if not isValid(self) or not isValid(self.empty):  # the editor closed meanwhile
            return
        self.history = history
        self._draw()
        self.shown.emit()

    # -- drawing -----------------------------------------------------------------------------------

    def _draw(self) -> None:
        history = self.history
        if history is None:
            return
        if not history.calculated:
            self._show_empty(NEVER_CALCULATED)
            return
        since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=int(self.range.currentData()))
        self.rows = [day for day in history.days if day.day >= since]
        if not self.rows:
            self._show_empty(f"No calculation in the last {self.range.currentText()}.")
            return
        plot = self._ensure_plot()
        import pyqtgraph as pg

        from app.ui.revenue.charts import epoch

        size_plot, change_plot = self._size_plot, self._change_plot
        size_plot.clear()
        change_plot.clear()
        self._x = [epoch(day.day) for day in self.rows]
        width = 86_400 * 0.7
        size_plot.plot(self._x, [d.size for d in self.rows], pen=pg.mkPen(SIZE_COLOUR, width=2),
                       symbol="o" if len(self.rows) <= 60 else None, symbolSize=4, symbolBrush=SIZE_COLOUR,
                       symbolPen=pg.mkPen(SIZE_COLOUR))
        change_plot.addItem(pg.BarGraphItem(x=self._x, height=[d.adds for d in self.rows], width=width,
                                            brush=ADDS_COLOUR, pen=pg.mkPen(None)))
        change_plot.addItem(pg.BarGraphItem(x=self._x, height=[-d.drops for d in self.rows], width=width,
                                            brush=DROPS_COLOUR, pen=pg.mkPen(None)))
        change_plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen((128, 128, 128, 120))))
        # Members are counted whole: ticks at whole numbers only, never "466.2" or "-0.4" around a flat line.
        sizes = [d.size for d in self.rows]
        changes = [d.adds for d in self.rows] + [-d.drops for d in self.rows]
        for chart, values in ((size_plot, sizes), (change_plot, changes)):
            step = whole_step(max(values) - min(values))
            chart.getAxis("left").setTickSpacing(major=step, minor=step)
            chart.enableAutoRange(axis="y")
        # A week at least, so one or two days read as dates, not as a time of day ("00:00:00").
        if self._x[-1] - self._x[0] < WEEK_SECONDS:
            size_plot.setXRange(self._x[-1] - WEEK_SECONDS, self._x[-1] + 86_400 / 2, padding=0)
        else:
            size_plot.enableAutoRange(axis="x")
        self.pages.setCurrentWidget(plot)
        self._enable(True)
        last = self.rows[-1]
        self._set_readout(self._describe(last))

    def _ensure_plot(self):
        if self._plot is not None:
            return self._plot
        import pyqtgraph as pg

        from app.ui.revenue.charts import compact_axis

        view = pg.GraphicsLayoutWidget()
        view.setAccessibleName("Size over time")
        view.setToolTip("Size per day (line); members who entered (green, up) and left (orange, down) per day; "
                        "hover for a day's numbers")
        view.setBackground(self.palette().color(QPalette.ColorRole.Base))
        self._size_plot = view.addPlot(row=0, col=0, axisItems={"bottom": pg.DateAxisItem(utcOffset=0),
                                                                "left": compact_axis("left")})
        self._change_plot = view.addPlot(row=1, col=0, axisItems={"bottom": pg.DateAxisItem(utcOffset=0),
                                                                  "left": compact_axis("left")})
        view.ci.layout.setRowStretchFactor(0, 3)
        view.ci.layout.setRowStretchFactor(1, 2)
        self._change_plot.setXLink(self._size_plot)
        for plot in (self._size_plot, self._change_plot):
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            self._style(plot)
            plot.getAxis("left").setWidth(40)
        self._size_plot.getAxis("bottom").setStyle(showValues=False)
        view.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._plot = view
        self.pages.addWidget(view)
        return view

    def _style(self, plot) -> None:
        """Axes in the palette's text colour (light and dark), a faint grid."""
        import pyqtgraph as pg

        text = self.palette().color(QPalette.ColorRole.Text)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(QColor(text.red(), text.green(), text.blue(), 110)))
            axis.setTextPen(pg.mkPen(text))
            axis.enableAutoSIPrefix(False)
        plot.showGrid(x=False, y=True, alpha=0.15)

    def _show_empty(self, text: str) -> None:
        if not isValid(self) or not isValid(self.empty):  # the editor closed meanwhile
            return
        self.rows = []
        self.empty.setText(text)
        self.pages.setCurrentWidget(self.empty)
        self._set_readout(" ")
        self._enable(False)

    def _enable(self, enabled: bool) -> None:
        self.export_button.setEnabled(enabled)

    # -- hover -------------------------------------------------------------------------------------

    def hover_at(self, x: float) -> str:
        """The numbers of the day nearest to `x` (seconds since the epoch), shown under the chart."""
        if not self.rows:
            return ""
        i = min(range(len(self._x)), key=lambda k: abs(self._x[k] - x))
        text = self._describe(self.rows[i])
        self._set_readout(text)
        return text

    @staticmethod
    def _describe(day) -> str:
        return f"{day.day.isoformat()}: {day.size:,} members, {day.adds:,} entered, {day.drops:,} left"

    def _set_readout(self, text: str) -> None:
        self.hover_text = text
        self.readout.setText(text)
        self.readout.setToolTip(text)

    def _on_mouse_moved(self, position) -> None:
        for plot in (self._size_plot, self._change_plot):
            if plot.sceneBoundingRect().contains(position):
                self.hover_at(plot.vb.mapSceneToView(position).x())
                return

    # -- export ------------------------------------------------------------------------------------

    def table(self) -> list[list]:
        """The days drawn, a header first, for CSV."""
        return [CSV_HEADER] + [[d.day.isoformat(), d.size, d.adds, d.drops] for d in self.rows]

    def _ask_path(self, suffix: str, path: Path | str | None) -> Path | None:
        if path is not None:
            return Path(path)
        chosen, _ = QFileDialog.getSaveFileName(self, f"Export the size history ({suffix.upper()})",
                                                f"audience-{self.audience_id}-size.{suffix}",
                                                f"{suffix.upper()} files (*.{suffix})")
        if not chosen:
            return None
        return Path(chosen if chosen.lower().endswith(f".{suffix}") else f"{chosen}.{suffix}")

    def export_png(self, path: Path | str | None = None) -> None:
        """Save the chart as PNG (the picture is taken here, the file written in a worker)."""
        from app.ui.revenue.export import write_png

        target = self._ask_path("png", path) if self.rows else None
        if target is None:
            return
        image = self.pages.grab().toImage()
        self.tasks.run(lambda: write_png(image, target), label="Exporting the size history",
                       on_success=lambda p: self.exported.emit(str(p)))

    def export_csv(self, path: Path | str | None = None) -> None:
        """Save the days drawn as CSV (day, size, adds, drops), written in a worker."""
        from app.ui.revenue.export import write_csv

        target = self._ask_path("csv", path) if self.rows else None
        if target is None:
            return
        rows = self.table()
        self.tasks.run(lambda: write_csv(rows, target), label="Exporting the size history",
                       on_success=lambda p: self.exported.emit(str(p)))
