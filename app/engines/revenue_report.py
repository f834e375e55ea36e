"""What the Revenue pane shows, read from the cache as plain functions (the pane runs them off the GUI
thread): the choices for its controls, and the data of one redraw, in parts: a redraw reads first the
part the tab shown needs, then the rest. The aggregations themselves are app.engines.revenue's."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from app.engines import revenue as R
from app.engines import segment_members
from app.engines.home import OpenHome
from app.engines.revenue_channels import ChannelSources, channel_sources, label_channels, label_series

#: The compare modes: a dimension of app.engines.revenue, or two periods.
COMPARE_MODES = ("segment", "agency", "channel", "period")
#: The parts of a redraw's data, one per tab of the pane (in the tabs' order).
PARTS = ("series", "breakdowns", "members", "comparison")


@dataclass(frozen=True)
class Setup:
    """The choices the controls offer, read once per (re)load of the pane."""

    currencies: list[str]
    days: tuple[dt.date, dt.date] | None  # first and last day with revenue; None: no revenue
    public_segments: frozenset[str]  # the sellable segments' keys (public in the segment settings)
    private_with_revenue: list[str]  # segments with records that are not public: not sold
    segments: list[str]  # every segment key with records or member counts, sellable first
    agencies: list[tuple[str | None, str]]  # (key, label); None: Unknown
    channels: list[tuple[str | None, str]]  # labelled: the app's own channels, other sources marked
    #: segment keys that are this home's audiences: their member counts come from the membership history
    home_segments: Mapping[str, segment_members.HomeSegment] = dataclasses.field(default_factory=dict)
    #: the latest day of the membership history (None: no audience calculated yet)
    history_last: dt.date | None = None
    #: what each revenue channel is to this app (revenue_channels)
    channel_sources: ChannelSources = dataclasses.field(default_factory=ChannelSources)


@dataclass(frozen=True)
class Request:
    """One redraw: the filter, the granularity, and what the other charts ask for."""

    filter: R.RevenueFilter
    granularity: str
    member_segments: tuple[str, ...]
    compare_mode: str  # one of COMPARE_MODES
    compare_a: str | None
    compare_b: str | None
    compare_other_start: dt.date
    #: home audiences' member counts run to this day when it is later than the range's end (the range
    #: reaches the last day with revenue: the last point is then the audience's size today)
    members_history_end: dt.date | None = None
    home_segments: Mapping[str, segment_members.HomeSegment] = dataclasses.field(default_factory=dict, hash=False,
                                                                                  compare=False)
    channel_sources: ChannelSources = dataclasses.field(default_factory=ChannelSources, compare=False)


@dataclass(frozen=True)
class Charts:
    """What one redraw shows, as far as it is read (None: a part not read yet)."""

    request: Request
    total: R.Total
    series: R.Series | None = None
    breakdowns: Mapping[str, R.Breakdown] = dataclasses.field(default_factory=dict)  # by dimension
    members: list[R.Series] | None = None
    comparison: R.Comparison | None = None

    @property
    def view(self) -> R.RevenueView | None:
        """The total, the series and the three breakdowns, once they are all read."""
        if self.series is None or not self.has("breakdowns"):
            return None
        return R.RevenueView(self.total, self.series, self.breakdowns["segment"], self.breakdowns["agency"],
                             self.breakdowns["channel"])

    def has(self, part: str) -> bool:
        if part == "breakdowns":
            return all(dimension in self.breakdowns for dimension in R.DIMENSIONS)
        return getattr(self, part) is not None

    def missing(self) -> tuple[str, ...]:
        return tuple(part for part in PARTS if not self.has(part))

    def merged(self, other: Charts) -> Charts:
        """These charts with the parts `other` read (of the same request); what these have is kept
        (it may be shown already)."""
        found = {f.name: getattr(other, f.name) for f in dataclasses.fields(other)
                 if f.name not in ("request", "total", "breakdowns") and getattr(other, f.name) is not None
                 and getattr(self, f.name) is None}
        return dataclasses.replace(self, breakdowns={**other.breakdowns, **self.breakdowns}, **found)


def public_segment_keys(home: OpenHome) -> tuple[frozenset[str], frozenset[str]]:
    """(public, private) segment keys: an audience's key is its effective external name."""
    public, private = set(), set()
    for audience in home.audiences.list():
        info = home.segments.get(audience.id)
        (public if info.is_public else private).add(audience.effective_external_name)
    return frozenset(public), frozenset(private - public)


def load_setup(home: OpenHome) -> Setup:
    cursor = home.cache.cursor()
    days = R.revenue_days(cursor)
    public, _private = public_segment_keys(home)
    if days is None:
        return Setup([], None, public, [], [], [], [])
    ours = segment_members.home_segments(home)
    sources = channel_sources(home)
    with_revenue = [row[0] for row in cursor.execute(
        "SELECT segment_key FROM revenue_daily_segments GROUP BY segment_key ORDER BY segment_key").fetchall()]
    counted = [row[0] for row in cursor.execute(
        "SELECT DISTINCT segment_key FROM segment_counts ORDER BY segment_key").fetchall()]
    # The public home audiences too: their member counts are the membership engine's, revenue or not.
    sellable_here = {key for key in ours if key in public}
    segments = sorted(set(with_revenue) | set(counted) | sellable_here, key=lambda s: (s not in public, s.casefold()))
    names = dict(cursor.execute(
        "SELECT agency, any_value(name) FROM agencies GROUP BY agency").fetchall())
    agencies = [(key, R.UNKNOWN if key is None else names.get(key) or key) for (key,) in cursor.execute(
        "SELECT DISTINCT agency FROM revenue_records ORDER BY agency NULLS LAST").fetchall()]
    channels = [(key, sources.label(key)) for (key,) in cursor.execute(
        "SELECT DISTINCT channel FROM revenue_records ORDER BY channel NULLS LAST").fetchall()]
    channels.sort(key=lambda choice: sources.order(choice[0]))  # the app's own channels first, Unknown last
    return Setup(R.currencies(cursor), days, public, [s for s in with_revenue if s not in public],
                 segments, agencies, channels, ours, segment_members.last_history_day(home), sources)


def load_charts(home: OpenHome, request: Request, parts: Collection[str] = PARTS, *,
                total: R.Total | None = None, dimension: str | None = None) -> Charts:
    """The `parts` of a redraw's data (see PARTS), and its total unless given (the summary line
    shows it whichever tab is shown; the breakdowns come with it). With `dimension`, the one
    breakdown the Breakdown tab shows, a third of the time of all three and the series."""
    cursor = home.cache.cursor()
    f, granularity = request.filter, request.granularity
    series = members = comparison = None
    breakdowns: dict[str, R.Breakdown] = {}
    if "breakdowns" in parts:
        view = R.revenue_view(cursor, f, granularity)
        total, series = view.total, view.series
        breakdowns = {"segment": view.by_segment, "agency": view.by_agency, "channel": view.by_channel}
    elif total is None:
        total = R.revenue_total(cursor, f)
    if dimension is not None and dimension not in breakdowns:
        breakdowns[dimension] = R.breakdown(cursor, f, dimension)
    if "channel" in breakdowns:
        breakdowns["channel"] = label_channels(breakdowns["channel"], request.channel_sources)
    if "series" in parts and series is None:
        series = R.revenue_series(cursor, f, granularity)
    if "members" in parts:
        members = segment_members.member_series(
            cursor, list(request.member_segments), request.home_segments, f.start, f.end, granularity,
            history_end=request.members_history_end, workspace_ids=f.workspace_ids)
    if "comparison" in parts:
        if request.compare_mode == "period":
            comparison = R.compare_periods(cursor, f, granularity, request.compare_other_start)
        else:
            comparison = R.compare(cursor, f, granularity, request.compare_mode, request.compare_a,
                                   request.compare_b)
            if request.compare_mode == "channel":  # the app's names, other sources marked
                comparison = R.Comparison(label_series(comparison.a, request.compare_a, request.channel_sources),
                                          label_series(comparison.b, request.compare_b, request.channel_sources))
    return Charts(request, total, series, breakdowns, members, comparison)


def previous_period_start(f: R.RevenueFilter) -> dt.date:
    """The default other period of a compare: as many days, just before the range."""
    return f.start - (f.end - f.start) - dt.timedelta(days=1)


def with_range(f: R.RevenueFilter, start: dt.date, end: dt.date) -> R.RevenueFilter:
    return dataclasses.replace(f, start=start, end=end)
