"""The Overlap tab's UpSet chart (pyqtgraph): one bar per non-empty region (profiles in exactly those
audiences), largest first; under each bar a column of dots, filled and joined for the audiences the
region is in; at the side each audience's size as a bar, with its name and number. Clicking a bar or a column of dots picks that
region (`region_clicked`, with its mask). Before any answer, a sentence says what will show there. Colours come from the palette, so it reads in light and dark.

The chart remembers what it shows (`columns`, `sizes`) for tests and the CSV export.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.engines.insights.overlap import Overlap

BAR_WIDTH = 0.6
DOT_SIZE = 11


def _tone(colour: QColor, alpha: int) -> QColor:
    return QColor(colour.red(), colour.green(), colour.blue(), alpha)


class UpSetChart(QWidget):
    """`show_overlap(result)` draws it; `region_clicked(mask)` fires when a region's bar or dots are clicked."""

    #: the mask of the region clicked (object: up to 6 bits, but masks stay Python ints everywhere else too)
    region_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg  # imported when the Overlap tab is first built: it costs a second at start

        self.setAccessibleName("Overlap chart: region sizes over the audiences they are in")
        self.setToolTip("Each bar: profiles in exactly the audiences whose dots are filled under it. "
                        "Click a bar or its dots to list its members.")
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumSize(320, 220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.placeholder = QLabel("Check audiences to compare: the chart of their overlap shows here.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self.placeholder)
        self.bars_plot = self.view.addPlot(row=0, col=1)
        self.sizes_plot = self.view.addPlot(row=1, col=0)
        self.dots_plot = self.view.addPlot(row=1, col=1)
        for plot in (self.bars_plot, self.sizes_plot, self.dots_plot):
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
        self.bars_plot.getAxis("bottom").setTicks([[]])
        self.bars_plot.getAxis("bottom").setStyle(showValues=False)
        self.bars_plot.setLabel("left", "Profiles")
        self.dots_plot.hideAxis("bottom")
        self.dots_plot.hideAxis("left")
        self.dots_plot.setXLink(self.bars_plot)
        self.sizes_plot.setYLink(self.dots_plot)
        self.sizes_plot.invertX(True)
        # Sizes are written beside the names (no value axis): the rows of dots and of names then line up.
        self.sizes_plot.hideAxis("bottom")
        self.sizes_plot.getAxis("left").setStyle(tickLength=0)
        self.view.ci.layout.setColumnStretchFactor(0, 1)
        self.view.ci.layout.setColumnStretchFactor(1, 3)
        self.view.ci.layout.setRowStretchFactor(0, 3)
        self.view.ci.layout.setRowStretchFactor(1, 2)
        self.view.scene().sigMouseClicked.connect(self._on_click)
        #: (mask, profiles) of each bar, left to right
        self.columns: list[tuple[int, int]] = []
        #: (audience, size) of each row of dots, top to bottom
        self.sizes: list[tuple[str, int]] = []
        self._style()
        self.clear()

    def _style(self) -> None:
        import pyqtgraph as pg

        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        self.view.setBackground(palette.color(QPalette.ColorRole.Base))
        for plot in (self.bars_plot, self.sizes_plot, self.dots_plot):
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(_tone(text, 110)))
                axis.setTextPen(pg.mkPen(text))
                axis.enableAutoSIPrefix(False)

    def clear(self) -> None:
        self.columns, self.sizes = [], []
        for plot in (self.bars_plot, self.sizes_plot, self.dots_plot):
            plot.clear()
        self.sizes_plot.getAxis("left").setTicks([[]])
        self.view.setVisible(False)
        self.placeholder.setVisible(True)

    def show_overlap(self, result: Overlap) -> None:
        import pyqtgraph as pg

        self.clear()
        self.placeholder.setVisible(False)
        self.view.setVisible(True)
        palette = self.palette()
        ink = palette.color(QPalette.ColorRole.Highlight)
        faint = _tone(palette.color(QPalette.ColorRole.Text), 45)
        n = len(result.audiences)
        self.columns = sorted(((m, p) for m, p in result.regions.items() if p), key=lambda r: (-r[1], r[0]))
        self.sizes = [(name, result.size(i)) for i, name in enumerate(result.audiences)]
        xs = list(range(len(self.columns)))
        self.bars_plot.addItem(pg.BarGraphItem(x=xs, height=[p for _m, p in self.columns], width=BAR_WIDTH,
                                               brush=ink, pen=pg.mkPen(None)))
        self.bars_plot.setXRange(-0.6, max(len(xs), 1) - 0.4, padding=0)
        self.bars_plot.setYRange(0, max((p for _m, p in self.columns), default=1) * 1.05, padding=0)
        # Row i (audience i) is drawn at y = n - 1 - i, so the first audience is on top.
        filled, empty = [], []
        for x, (mask, _p) in enumerate(self.columns):
            rows = [n - 1 - i for i in range(n) if mask >> i & 1]
            filled += [(x, y) for y in rows]
            empty += [(x, n - 1 - i) for i in range(n) if not mask >> i & 1]
            if len(rows) > 1:
                self.dots_plot.plot([x, x], [min(rows), max(rows)], pen=pg.mkPen(ink, width=3))
        for points, brush in ((empty, faint), (filled, ink)):
            if points:
                self.dots_plot.addItem(pg.ScatterPlotItem(x=[p[0] for p in points], y=[p[1] for p in points],
                                                          size=DOT_SIZE, brush=brush, pen=pg.mkPen(None)))
        self.dots_plot.setYRange(-0.6, n - 0.4, padding=0)
        self.sizes_plot.addItem(pg.BarGraphItem(x0=0, y=[n - 1 - i for i in range(n)], height=BAR_WIDTH,
                                                width=[s for _a, s in self.sizes], brush=_tone(ink, 150),
                                                pen=pg.mkPen(None)))
        self.sizes_plot.setXRange(0, max((s for _a, s in self.sizes), default=1) * 1.05, padding=0)
        self.sizes_plot.getAxis("left").setTicks([[(n - 1 - i, f"{name} ({size:,})")
                                                    for i, (name, size) in enumerate(self.sizes)]])

    def column_point(self, column: int) -> QPoint:
        """Where column `column`'s dots are, in the view's widget coordinates (what a click there hits)."""
        n = len(self.sizes)
        scene = self.dots_plot.vb.mapViewToScene(QPointF(column, (n - 1) / 2))
        return self.view.mapFromScene(scene)

    def bar_point(self, column: int) -> QPoint:
        """The middle of column `column`'s bar, in the view's widget coordinates."""
        scene = self.bars_plot.vb.mapViewToScene(QPointF(column, self.columns[column][1] / 2))
        return self.view.mapFromScene(scene)

    def _on_click(self, event) -> None:
        for plot in (self.bars_plot, self.dots_plot):
            if plot.vb.sceneBoundingRect().contains(event.scenePos()):
                column = round(plot.vb.mapSceneToView(event.scenePos()).x())
                if 0 <= column < len(self.columns):
                    self.region_clicked.emit(self.columns[column][0])
                return

    def image(self) -> QImage:
        """The chart as a picture (on the GUI thread; the picture may be saved on any thread)."""
        return self.view.grab().toImage()
