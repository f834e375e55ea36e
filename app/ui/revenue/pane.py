"""The Revenue pane: revenue over time, by segment, agency or channel, member counts, and compares,
with export of each chart as PNG and its data as CSV (issue 8; data: app/engines/revenue.py).

Every query runs in a worker (tasks.run); a change of range, granularity, currency, filter or
compare redraws: first the data of the tab in view (a fraction of the whole), then, once that is
painted, the other tabs' data, which their charts show when chosen (only the tab in view is drawn,
so a redraw costs one chart's update on the GUI thread; docs/performance.md › Revenue redraws).
Only public segments earn: the pane passes the public segments' keys (segment settings in the
store) to the aggregations and says how many segments with revenue are private.
pyqtgraph is imported when the first chart is built, so a home without revenue never loads it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.engines import revenue as R
from app.engines.home import OpenHome
from app.ui.home import HomeConnection
from app.ui.kit.newest import NewestWins, Ticket
from app.ui.kit.pane import Pane, PaneBus
from app.ui.pane_actions import pane_action
from app.ui.revenue.controls import RANGES, FilterButton, range_of
from app.ui.revenue.export import write_csv, write_png
from app.engines.revenue_channels import NOT_SET_UP, OTHER, SET_UP
from app.engines.revenue_report import (
    PARTS,
    Charts,
    Request,
    Setup,
    load_charts,
    load_setup,
    previous_period_start,
)
from app.ui.workers import Tasks, failure_message

#: Store changes that may change which segments are public (segment settings emit audience_changed).
RELOAD_ON = {"audience_changed", "workspace_changed"}
#: How long after the tab's new charts the other tabs' data is read: the paint goes first (reading
#: beside it made it two to three times slower on two cores), and a quick next change reads nothing.
REST_DELAY_MS = 150
TABS = ("Over time", "Breakdown", "Member counts", "Compare")
COMPARE_LABELS = {"segment": "Two segments", "agency": "Two agencies", "channel": "Two channels",
                  "period": "Two periods"}
MEMBERS_NOTE = "This home's audiences: daily sizes from the membership engine, as in the Audiences list · " \
               "other segments: reported by the server"
MEMBERS_TOOLTIP = ("A segment that is one of this home's audiences shows its size day by day as the membership "
                   "engine calculated it (the Audiences list's Size is its last point); its line starts when the "
                   "audience was first calculated, and a draft has none. Any other segment shows the member "
                   "counts the server reported with its revenue, marked “reported by the server”.")
#: The breakdown table's Source column, by revenue_channels kind (None: the Unknown part).
CHANNEL_SOURCE_TEXT = {SET_UP: "App channel, set up", NOT_SET_UP: "App channel, not set up",
                       OTHER: "Other source", None: "Not reported"}
NO_REVENUE = ("No revenue yet",
              ("Revenue records arrive with sync from your team's server; the demo workspace has a year of them "
               "(<code>audience-studio demo</code>, or Help › Welcome…)."))


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())


class RevenuePane(Pane):
    """Controls on top, a summary line, then tabs of charts; loads in workers, redraws on change (the
    newest redraw wins: a slow answer to older controls is never shown over a newer one)."""

    key = "revenue"
    title = "Revenue"
    tooltip = "Where the money comes from: revenue over time, by segment, agency and channel; compare; export"
    icon = QStyle.StandardPixmap.SP_FileDialogInfoView
    reload_on = frozenset(RELOAD_ON)
    #: a sync brings revenue, and the membership clock new sizes for the member counts: read again
    reload_on_cache_change = True
    loading_label = "Reading revenue"

    #: the controls' choices were (re)loaded from the home
    loaded = Signal()
    #: a redraw's new data is shown in the tab in view (the other tabs' data is still being read)
    shown = Signal()
    #: a redraw's data is all read: every tab shows it, or will when it is chosen
    redrawn = Signal()
    #: an export finished: the file written
    exported = Signal(str)

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 bus: PaneBus | None = None) -> None:
        super().__init__(connection, tasks, parent, bus=bus)
        self.setup: Setup | None = None
        self.charts: Charts | None = None
        self.time_chart = self.bar_chart = self.member_chart = self.compare_chart = self.compare_chart_b = None
        self.compare_area = None
        #: one ticket per redraw: the charts show only the newest redraw's data
        self._redraws = NewestWins()
        self._redraw: Ticket | None = None
        #: tabs whose charts do not show `self.charts` yet: a redraw updates the tab shown, the others
        #: when they are shown (each chart costs tens of milliseconds on the GUI thread)
        self._stale: set[int] = set()
        self._filling = False
        self._pending = False
        # Several controls change at once (a reload refills them): one redraw after the burst.
        self._redraw_timer = QTimer(self, singleShot=True, interval=0, timeout=self.redraw)
        self._rest_timer = QTimer(self, singleShot=True, interval=REST_DELAY_MS, timeout=self._read_rest)

        self.range = QComboBox(accessibleName="Time range", toolTip="Which days to show, up to the last day with revenue")
        for label, days in RANGES:
            self.range.addItem(label, days)
        self.range.setCurrentIndex(3)
        self.start = QDateEdit(calendarPopup=True, accessibleName="First day", toolTip="The first day shown (UTC)")
        self.end = QDateEdit(calendarPopup=True, accessibleName="Last day", toolTip="The last day shown (UTC)")
        for edit in (self.start, self.end):
            edit.setDisplayFormat("yyyy-MM-dd")
        self.granularity = QComboBox(accessibleName="Granularity", toolTip="Sum revenue per day, ISO week or month")
        for name in R.GRANULARITIES:
            self.granularity.addItem(name.capitalize(), name)
        self.granularity.setCurrentIndex(1)
        self.currency = QComboBox(accessibleName="Currency", toolTip="Revenue in other currencies is never added in")
        self.segments = FilterButton("Segments")
        self.agencies = FilterButton("Agencies")
        self.channels = FilterButton("Channels")

        self.export_png_action = pane_action(self, "Export &PNG…", "Ctrl+Shift+P", "Save the chart shown as a picture",
                                             lambda: self.export_png())
        self.export_csv_action = pane_action(self, "Export &CSV…", "Ctrl+Shift+C", "Save the data of the chart shown",
                                             lambda: self.export_csv())
        # Two rows (what is shown, then which parts of it and export), so the pane fits a narrow window.
        controls = QVBoxLayout()
        when, which = QHBoxLayout(), QHBoxLayout()
        when.addWidget(QLabel("Range:"))
        for widget in (self.range, self.start, QLabel("–"), self.end, self.granularity, self.currency):
            when.addWidget(widget)
        when.addStretch(1)
        for widget in (self.segments, self.agencies, self.channels):
            which.addWidget(widget)
        which.addStretch(1)
        for action in (self.export_png_action, self.export_csv_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            which.addWidget(button)
        controls.addLayout(when)
        controls.addLayout(which)
        self.summary = QLabel(accessibleName="Revenue total")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.private_note = QLabel(accessibleName="Private segments")
        self.private_note.setToolTip("Only public segments earn revenue: make a segment public in its Segment tab")
        self.private_note.setStyleSheet("color: palette(placeholder-text);")
        summary_row = QHBoxLayout()
        summary_row.addWidget(self.summary)
        summary_row.addStretch(1)
        summary_row.addWidget(self.private_note)

        # The tabs' chart slots are filled when the first data arrives (pyqtgraph is imported then).
        self.tabs = QTabWidget(accessibleName="Revenue charts")
        self.time_slot, self.breakdown_slot, self.member_slot, self.compare_slot = (QVBoxLayout() for _ in TABS)
        self.dimension = QComboBox(accessibleName="Breakdown by", toolTip="Break the revenue down by segment, agency or channel")
        for name in R.DIMENSIONS:
            self.dimension.addItem(f"By {name}", name)
        self.parts_table = QTableWidget(accessibleName="Breakdown parts")
        self.parts_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.parts_table.setAlternatingRowColors(True)
        self.parts_table.verticalHeader().setVisible(False)
        # Column widths from the first rows (the biggest parts): measuring all 500 segments' rows took
        # a third of a redraw's GUI time.
        self.parts_table.horizontalHeader().setResizeContentsPrecision(60)
        self.compare_mode = QComboBox(accessibleName="Compare", toolTip="What to compare, overlaid")
        for mode, label in COMPARE_LABELS.items():
            self.compare_mode.addItem(label, mode)
        self.compare_a = QComboBox(accessibleName="Compare first", toolTip="The first line")
        self.compare_b = QComboBox(accessibleName="Compare second", toolTip="The second line")
        self.other_start = QDateEdit(calendarPopup=True, accessibleName="Other period starts",
                                     toolTip="The other period: as many days as the range, from this day")
        self.other_start.setDisplayFormat("yyyy-MM-dd")
        self.vs = QLabel("vs")
        self.side_by_side = QCheckBox("Side by side", accessibleName="Side by side",
                                      toolTip="Two charts with the same revenue scale instead of two lines in one")
        self.side_by_side.toggled.connect(lambda _on: self._show_comparison())
        self.other_label = QLabel("other period from")
        self.members_note = QLabel(MEMBERS_NOTE, accessibleName="Where member counts come from",
                                   toolTip=MEMBERS_TOOLTIP)
        self.members_note.setStyleSheet("color: palette(placeholder-text);")
        headers = (None, [self.dimension], [self.members_note],
                   [self.compare_mode, self.compare_a, self.vs, self.compare_b, self.other_label, self.other_start,
                    self.side_by_side])
        slots = (self.time_slot, self.breakdown_slot, self.member_slot, self.compare_slot)
        for title, layout_slot, header in zip(TABS, slots, headers):
            page = QWidget()
            outer = QVBoxLayout(page)
            if header:
                row = QHBoxLayout()
                for widget in header:
                    row.addWidget(widget)
                row.addStretch(1)
                outer.addLayout(row)
            outer.addLayout(layout_slot, 1)
            self.tabs.addTab(page, title)
        self.tabs.setTabToolTip(0, "Total revenue per day, week or month")
        self.tabs.setTabToolTip(1, "Revenue by segment, agency (the data buyer) or channel, with each part's share")
        self.tabs.setTabToolTip(2, "Each chosen segment's member count over time, overlaid")
        self.tabs.setTabToolTip(3, "Two segments, agencies, channels or periods, overlaid")

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(controls)
        layout.addLayout(summary_row)
        layout.addWidget(self.tabs, 1)
        self.empty.show_message("Loading revenue…")
        # Scrolls rather than forcing its width on the window when the window is narrow.
        scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(scroll)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.busy_bar)
        outer.addWidget(self.stack)

        self.range.currentIndexChanged.connect(self._on_range_chosen)
        for edit in (self.start, self.end, self.other_start):
            edit.dateChanged.connect(self._changed)
        for combo in (self.granularity, self.currency, self.dimension, self.compare_a, self.compare_b):
            combo.currentIndexChanged.connect(self._changed)
        self.compare_mode.currentIndexChanged.connect(self._on_compare_mode)
        for button in (self.segments, self.agencies, self.channels):
            button.changed.connect(self._changed)
        self.tabs.currentChanged.connect(self._on_tab_chosen)
        self._update_enabled()

    # -- loading -----------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the controls' choices (and which segments are public), then redraw."""
        self.refresh()

    def reader(self, home: OpenHome):
        return lambda: load_setup(home)

    def show_data(self, setup: Setup) -> None:
        self.setup = setup
        if setup.days is None:
            self.empty.show_message(*NO_REVENUE)
            self.stack.setCurrentWidget(self.empty)
            self.loaded.emit()
            return
        self._filling = True
        first, last = setup.days
        for edit in (self.start, self.end, self.other_start):
            edit.setDateRange(_qdate(first - dt.timedelta(days=3660)), _qdate(last))
        if self.range.currentData() != 0:
            start, end = range_of(self.range.currentData(), first, last)
            self.start.setDate(_qdate(start))
            self.end.setDate(_qdate(end))
        chosen = self.currency.currentText()
        self.currency.clear()
        self.currency.addItems(setup.currencies)
        if chosen in setup.currencies:
            self.currency.setCurrentText(chosen)
        self.currency.setVisible(len(setup.currencies) > 1)
        self.segments.set_choices([(s, s if s in setup.public_segments else f"{s} (private)") for s in setup.segments])
        self.agencies.set_choices(setup.agencies)
        self.channels.set_choices(setup.channels)
        self._fill_compare_choices()
        self._update_dates_enabled()
        count = len(setup.private_with_revenue)
        self.private_note.setText(f"{count} private segment{'s are' if count != 1 else ' is'} not sold" if count else "")
        self.private_note.setToolTip("Only public segments earn revenue (their Segment tab makes them public). "
                                     f"Not sold: {', '.join(setup.private_with_revenue)}" if count else "")
        self.stack.setCurrentIndex(1)
        self._filling = False
        self.loaded.emit()
        self._redraw_timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending:
            self._redraw_timer.start()

    def _fill_compare_choices(self) -> None:
        setup, mode = self.setup, self.compare_mode.currentData()
        if setup is None:
            return
        if mode == "segment":
            choices = [(s, s) for s in setup.segments if s in setup.public_segments]
        else:
            choices = {"agency": setup.agencies, "channel": setup.channels}.get(mode, [])
        for combo, default in ((self.compare_a, 0), (self.compare_b, 1)):
            previous = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for key, label in choices:
                combo.addItem(label, key)
            keys = [k for k, _ in choices]
            combo.setCurrentIndex(keys.index(previous) if previous in keys and combo.count() else
                                  min(default, combo.count() - 1))
            combo.blockSignals(False)
        periods = mode == "period"
        for widget in (self.compare_a, self.vs, self.compare_b):
            widget.setVisible(not periods)
        self.other_start.setVisible(periods)
        self.other_label.setVisible(periods)

    def request(self) -> Request | None:
        """What the controls ask for, or None before the first load."""
        if self.setup is None or self.setup.days is None or not self.currency.currentText():
            return None
        start, end = _day(self.start.date()), _day(self.end.date())
        if end < start:
            start, end = end, start
        f = R.RevenueFilter(start=start, end=end, currency=self.currency.currentText(),
                            segments=self.segments.selected(), agencies=self.agencies.selected(),
                            channels=self.channels.selected(), public_segments=self.setup.public_segments)
        chosen = self.segments.selected()
        members = [s for s in self.setup.segments if (chosen is None and s in self.setup.public_segments)
                   or (chosen is not None and s in chosen)]
        mode = self.compare_mode.currentData()
        # A range up to the last day with revenue means "until now": home audiences' member counts then
        # run to their latest history day, so the last point is the size the Audiences list shows.
        history_end = self.setup.history_last if end >= self.setup.days[1] else None
        return Request(f, self.granularity.currentData(), tuple(members[:8]), mode,
                       self.compare_a.currentData(), self.compare_b.currentData(),
                       _day(self.other_start.date()), history_end, self.setup.home_segments,
                       self.setup.channel_sources)

    def redraw(self) -> None:
        home, request = self.home, self.request()
        if home is None or request is None:
            return
        # A hidden pane waits until it is shown: no queries and no pyqtgraph import at start-up.
        self._pending = not self.isVisible()
        if self._pending:
            return
        if request.compare_mode != "period" and self.compare_a.count() == 0:
            request = dataclasses.replace(request, compare_mode="period")
        ticket = self._redraw = self._redraws.begin()  # an older redraw's answers are dropped from now on
        self._rest_timer.stop()
        # The tab in view first (its data alone is a fraction of the whole), then the rest.
        first = PARTS[self.tabs.currentIndex()]
        if first == "breakdowns":  # the one breakdown shown
            dimension = self.dimension.currentData()
            read = lambda: load_charts(home, request, (), dimension=dimension)
        else:
            read = lambda: load_charts(home, request, (first,))
        self.tasks.run(read, label="Adding up revenue",
                       on_success=ticket.deliver(self._on_charts), on_failure=ticket.deliver(self._on_failure))

    def _on_charts(self, charts: Charts) -> None:
        self.charts = charts
        self._ensure_charts()
        currency, total = charts.request.filter.currency, charts.total
        impressions = "not reported" if total.impressions is None else f"{total.impressions:,}"
        self.summary.setText(f"<b>{total.revenue:,.2f} {currency}</b> earned · {impressions} impressions · "
                             f"{total.records:,} records · {charts.request.filter.start} – {charts.request.filter.end}")
        self._stale = set(range(len(TABS)))
        self._show_tab()
        self._update_enabled()
        self.shown.emit()
        if charts.missing():
            self._rest_timer.start()
        else:
            self.redrawn.emit()

    def _read_rest(self) -> None:
        """Read the other tabs' data of the latest redraw."""
        home, charts, ticket = self.home, self.charts, self._redraw
        if home is None or charts is None or ticket is None or self._redraw_timer.isActive():
            return  # the controls changed again: the next redraw reads it
        self.tasks.run(lambda: load_charts(home, charts.request, charts.missing(), total=charts.total),
                       label="Adding up revenue", on_success=ticket.deliver(self._on_rest),
                       on_failure=ticket.deliver(self._on_failure))

    def _on_rest(self, rest: Charts) -> None:
        self.charts = self.charts.merged(rest)
        self._show_tab()  # the user may have chosen a tab whose data had not come yet
        self.redrawn.emit()

    def _show_tab(self) -> None:
        """Bring the charts of the tab shown up to date with `self.charts`, once its data is read."""
        index = self.tabs.currentIndex()
        if self.charts is None or index not in self._stale:
            return
        if index == 1 and self.dimension.currentData() not in self.charts.breakdowns:
            return
        if index != 1 and not self.charts.has(PARTS[index]):
            return
        self._stale.discard(index)
        currency = self.charts.request.filter.currency
        if index == 0:
            self.time_chart.plot.setLabel("left", f"Revenue ({currency})")
            self.time_chart.show_series([self.charts.series])
        elif index == 1:
            breakdown = self.shown_breakdown()
            sources = self.charts.request.channel_sources
            channels = breakdown.dimension == "channel"
            notes = {p.key: sources.describe(p.key) for p in breakdown.parts} if channels else {}
            others = frozenset(p.key for p in breakdown.parts if channels and sources.kind(p.key) == OTHER)
            self.bar_chart.show_breakdown(breakdown, currency, notes, others)
            self._fill_parts_table()
        elif index == 2:
            self.member_chart.plot.setLabel("left", "Members")
            request = self.charts.request
            self.member_chart.show_series(self.charts.members, days=(
                request.filter.start, max(request.filter.end, request.members_history_end or request.filter.end)))
        else:
            for chart in (self.compare_chart, self.compare_chart_b):
                chart.plot.setLabel("left", f"Revenue ({currency})")
            self._show_comparison()

    def _on_tab_chosen(self, _index: int) -> None:
        self._show_tab()
        self._update_enabled()

    def _show_comparison(self) -> None:
        """Overlaid: two lines in one chart (two periods aligned on the first's days); side by side:
        each in its own chart on its own days, the revenue axes linked so heights compare."""
        if self.charts is None or self.charts.comparison is None:
            return
        comparison = self.charts.comparison
        if self.side_by_side.isChecked():
            self.compare_chart.show_series([comparison.a])
            self.compare_chart_b.show_series([comparison.b], first_colour=1)  # the colour it has overlaid
        else:
            aligned = comparison.a.buckets if self.charts.request.compare_mode == "period" else None
            self.compare_chart.show_series([comparison.a, comparison.b], x_buckets=aligned)
        self.compare_chart_b.setVisible(self.side_by_side.isChecked())

    def shown_breakdown(self) -> R.Breakdown:
        return self.charts.breakdowns[self.dimension.currentData()]

    def _ensure_charts(self) -> None:
        if self.time_chart is not None:
            return
        from app.ui.revenue.charts import BarChart, TimeChart, money

        def in_currency(value: float) -> str:
            return money(value, self.currency.currentText())

        self.time_chart = TimeChart("Revenue over time", in_currency)
        self.time_slot.addWidget(self.time_chart)
        self.bar_chart = BarChart()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.bar_chart)
        split.addWidget(self.parts_table)
        split.setSizes([620, 420])
        self.breakdown_slot.addWidget(split)
        self.member_chart = TimeChart("Members over time", lambda v: f"{v:,.0f} members")
        self.member_slot.addWidget(self.member_chart)
        self.compare_chart = TimeChart("Compare", in_currency)
        self.compare_chart_b = TimeChart("Compare", in_currency)
        self.compare_chart_b.plot.setYLink(self.compare_chart.plot)
        self.compare_chart_b.setVisible(False)
        self.compare_area = QWidget()
        pair = QHBoxLayout(self.compare_area)
        pair.setContentsMargins(0, 0, 0, 0)
        pair.addWidget(self.compare_chart)
        pair.addWidget(self.compare_chart_b)
        self.compare_slot.addWidget(self.compare_area)

    def _fill_parts_table(self) -> None:
        breakdown, currency = self.shown_breakdown(), self.currency.currentText()
        agency = breakdown.dimension == "agency"
        channel = breakdown.dimension == "channel"
        sources = self.charts.request.channel_sources
        numbers = [f"Revenue ({currency})", "Share", "Impressions"]
        # The numbers first (the labels already say "(other source)"); Source after them, its detail in tooltips.
        headers = [breakdown.dimension.capitalize(), *numbers]
        if agency:
            headers += ["Kind", "Country", "Contact"]
        if channel:
            headers += ["Source"]
        self.parts_table.clear()
        self.parts_table.setColumnCount(len(headers))
        self.parts_table.setHorizontalHeaderLabels(headers)
        self.parts_table.setRowCount(len(breakdown.parts))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row, part in enumerate(breakdown.parts):
            d = part.details
            cells = [part.label, f"{part.revenue:,.2f}", f"{part.share:.1%}",
                     "not reported" if part.impressions is None else f"{part.impressions:,}"]
            if agency:
                cells += [(getattr(d, name) or "") if d else "" for name in ("kind", "country", "contact")]
            if channel:
                cells += [CHANNEL_SOURCE_TEXT[sources.kind(part.key)]]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if headers[column] in numbers:
                    item.setTextAlignment(right)
                if part.unknown:
                    item.setToolTip(f"Revenue whose {breakdown.dimension} the channel did not report")
                elif channel:
                    item.setToolTip(sources.describe(part.key))
                self.parts_table.setItem(row, column, item)
        self.parts_table.resizeColumnsToContents()

    def _on_failure(self, exc: BaseException) -> None:
        self.tasks.error_reported.emit(failure_message(exc, "Reading revenue"))

    # -- controls ----------------------------------------------------------------------------------

    def _changed(self, *_args) -> None:
        if self._filling:
            return
        if self.sender() is self.dimension and self.charts is not None:
            self._stale.add(1)  # drawn now if that breakdown is read, else when the rest of the data comes
            self._show_tab()
            return
        self._redraw_timer.start()

    def _on_range_chosen(self, _index: int) -> None:
        self._update_dates_enabled()
        days = self.range.currentData()
        if days != 0 and self.setup is not None and self.setup.days is not None:
            self._filling = True
            start, end = range_of(days, *self.setup.days)
            self.start.setDate(_qdate(start))
            self.end.setDate(_qdate(end))
            self._filling = False
            self._redraw_timer.start()

    def _on_compare_mode(self, _index: int) -> None:
        self._fill_compare_choices()
        if self.request() is not None and self.compare_mode.currentData() == "period":
            self._filling = True
            self.other_start.setDate(_qdate(previous_period_start(self.request().filter)))
            self._filling = False
        self._redraw_timer.start()

    def _update_dates_enabled(self) -> None:
        custom = self.range.currentData() == 0
        self.start.setEnabled(custom)
        self.end.setEnabled(custom)

    def _update_enabled(self) -> None:
        ready = self.charts is not None
        self.export_png_action.setEnabled(ready)
        self.export_csv_action.setEnabled(ready)

    # -- export ------------------------------------------------------------------------------------

    def shown_chart(self):
        return (self.time_chart, self.bar_chart, self.member_chart, self.compare_area)[self.tabs.currentIndex()]

    def _shown_table(self) -> list[list]:
        if self.tabs.currentIndex() == 3:  # both lines, whether overlaid or side by side
            return R.series_table(self.compare_chart.series + (self.compare_chart_b.series
                                                               if self.side_by_side.isChecked() else []))
        return self.shown_chart().table()

    def _ask_path(self, what: str, suffix: str, path: Path | str | None) -> Path | None:
        if path is not None:
            return Path(path)
        name = f"revenue-{TABS[self.tabs.currentIndex()].lower().replace(' ', '-')}.{suffix}"
        chosen, _ = QFileDialog.getSaveFileName(self, f"Export {what}", name, f"{suffix.upper()} files (*.{suffix})")
        if not chosen:
            return None
        return Path(chosen if chosen.lower().endswith(f".{suffix}") else f"{chosen}.{suffix}")

    def export_png(self, path: Path | str | None = None) -> None:
        """Save the chart shown as a PNG (the picture is taken here, the file written in a worker)."""
        chart = self.shown_chart()
        if chart is None:
            return
        target = self._ask_path("PNG", "png", path)
        if target is None:
            return
        image = chart.grab().toImage()
        self.tasks.run(lambda: write_png(image, target), label="Exporting the chart",
                       on_success=lambda p: self.exported.emit(str(p)), on_failure=self._on_failure)

    def export_csv(self, path: Path | str | None = None) -> None:
        """Save the data of the chart shown as CSV (written in a worker)."""
        chart = self.shown_chart()
        if chart is None:
            return
        target = self._ask_path("CSV", "csv", path)
        if target is None:
            return
        rows = self._shown_table()
        self.tasks.run(lambda: write_csv(rows, target), label="Exporting the chart's data",
                       on_success=lambda p: self.exported.emit(str(p)), on_failure=self._on_failure)
