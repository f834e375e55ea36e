"""A deterministic year of revenue and member-count history for the demo's segments (docs/revenue.md).

What the server would sync for a data provider selling its audiences on a marketplace: per day,
segment, agency (the data buyer) and channel, the impressions bought and the revenue they earned,
and each segment's member count. The shapes a chart should show are built in: buying slows at
weekends and peaks before the winter holidays, segments grow or shrink over the year, one segment
was only sold from the spring and one stopped being sold in the autumn, two channels (Meta and
Google Ads) never say which agency bought, and a few marketplace direct deals name no channel.
The same seed, segments and end day always give the same rows.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from app.connectors.cache import REVENUE_TABLES
from app.connectors.demo_data import EU_WORKSPACE, US_WORKSPACE

#: The currency revenue is reported in, by demo workspace (as its purchases are).
CURRENCY = {US_WORKSPACE: "USD", EU_WORKSPACE: "EUR"}

#: (agency, name, kind, country, contact, size): the buyers; bigger ones buy more segments.
AGENCIES = (
    ("northpeak", "Northpeak Media", "agency", "US", "trading@northpeak.example", 5.0),
    ("bluefin", "Bluefin Performance", "agency", "US", "desk@bluefin.example", 4.0),
    ("meridian", "Meridian Trading Desk", "trading desk", "US", "ops@meridian-td.example", 3.5),
    ("outfield", "Outfield Outdoor Co.", "brand", "US", "media@outfield.example", 1.5),
    ("copperline", "Copperline Digital", "agency", "CA", "buying@copperline.example", 2.0),
    ("alder", "Alder & Reed", "agency", "GB", "programmatic@alderreed.example", 2.5),
    ("nordlicht", "Nordlicht Media", "agency", "DE", "einkauf@nordlicht.example", 2.0),
    ("atelier", "Atelier Programmatique", "agency", "FR", "achat@atelier-prog.example", 1.5),
    ("summitgear", "Summit Gear", "brand", "US", "ads@summitgear.example", 1.0),
    ("harborview", "Harborview Analytics", "data partner", "US", "data@harborview.example", 1.0),
    ("tidewater", "Tidewater Agency", "agency", "IE", "media@tidewater.example", 1.0),
    ("vantage", "Vantage Point Ads", "trading desk", "NL", "desk@vantagepoint.example", 1.5),
)

#: (channel, share of a segment's buying, CPM factor, reports the agency). The first five are the app's own
#: channels, by the names of its directory (app/models/services/channels.py: the segments are pushed there, so
#: that is where they earn); the last three are other sources a server gets reports from (an identity
#: network, two walled gardens), which the Revenue pane labels as such (docs/revenue.md).
CHANNELS = (
    ("Harbor Data Marketplace", 1.00, 1.00, True),
    ("DSP Taxonomy API", 0.90, 0.95, True),
    ("OpenAudience Exchange", 0.55, 0.90, True),
    ("Ad Server Segments", 0.50, 1.10, True),
    ("Segment Directory", 0.30, 0.85, True),
    ("LiveRamp", 0.45, 1.05, True),
    ("Meta", 0.80, 0.80, False),
    ("Google Ads", 0.70, 0.75, False),
)

#: Ad buying by weekday, Monday first: quieter at weekends.
WEEKDAY = (1.08, 1.12, 1.12, 1.06, 1.0, 0.74, 0.68)

#: The share of a channel-less day's buying that arrives as a marketplace direct deal (no channel).
DIRECT_SHARE = 0.04


@dataclass(frozen=True)
class DemoSegment:
    """A segment as sold: its workspace, its key (the audience's name as sent) and currency."""

    workspace_id: int
    key: str
    currency: str


@dataclass(frozen=True)
class DemoRevenue:
    records: pa.Table
    counts: pa.Table
    agencies: pa.Table


def _season(day: dt.date) -> float:
    """Holiday peak in late November and December, a January lull, a small summer bump."""
    doy = day.timetuple().tm_yday
    holidays = 0.45 * math.exp(-((doy - 340) / 22) ** 2)
    january = -0.18 * math.exp(-((doy - 12) / 14) ** 2)
    summer = 0.10 * math.exp(-((doy - 190) / 30) ** 2)
    return 1.0 + holidays + january + summer


def generate(segments: Sequence[DemoSegment], *, end: dt.date, days: int = 365, seed: int = 7,
             profiles: int = 200_000) -> DemoRevenue:
    """`days` days of history ending on `end` (included) for the segments; sizes scale with `profiles`."""
    first = end - dt.timedelta(days=days - 1)
    agency_names = [a[0] for a in AGENCIES]
    agency_sizes = [a[5] for a in AGENCIES]
    rec: dict[str, list] = {name: [] for name in REVENUE_TABLES["revenue_records"][0].names}
    cnt: dict[str, list] = {name: [] for name in REVENUE_TABLES["segment_counts"][0].names}
    for number, segment in enumerate(segments):
        rng = random.Random(f"{seed}:{segment.workspace_id}:{segment.key}")  # stable when segments are added
        start_size = profiles * rng.uniform(0.02, 0.15)
        growth = rng.choice((rng.uniform(0.2, 1.2), rng.uniform(0.05, 0.3), rng.uniform(-0.35, -0.1)))
        cpm = rng.uniform(0.9, 3.2)
        # Segment 2 is only sold from the spring; segment 4 stopped being sold in the autumn.
        sold_from = first + dt.timedelta(days=110) if number == 2 else first
        sold_until = end - dt.timedelta(days=60) if number == 4 else end
        buyers = rng.sample(agency_names, k=rng.randint(3, 6)) if len(agency_names) >= 6 else agency_names
        weights = {a: agency_sizes[agency_names.index(a)] * rng.uniform(0.5, 1.5) for a in buyers}
        carried = [c for c in CHANNELS if rng.random() < 0.85] or list(CHANNELS[:1])
        members = start_size
        wander = 0.0
        for offset in range(days):
            day = first + dt.timedelta(days=offset)
            # The size drifts along its trend with a little day-to-day noise (a random walk that reverts).
            wander = 0.9 * wander + rng.gauss(0, 0.004)
            members = start_size * (1 + growth) ** (offset / days) * (1 + wander)
            cnt["workspace_id"].append(segment.workspace_id)
            cnt["day"].append(day)
            cnt["segment_key"].append(segment.key)
            cnt["members"].append(max(0, round(members)))
            if not sold_from <= day <= sold_until:
                continue
            demand = members * 0.35 * WEEKDAY[day.weekday()] * _season(day)
            for channel, share, cpm_factor, reports_agency in carried:
                buyers_today = [(a, w) for a, w in weights.items() if rng.random() < 0.75]
                if not buyers_today:
                    continue
                lines = buyers_today if reports_agency else [(None, sum(w for _, w in buyers_today))]
                for agency, weight in lines:
                    impressions = round(demand * share * weight / 8 * rng.lognormvariate(0, 0.25))
                    if impressions <= 0:
                        continue
                    # A few direct deals arrive through the marketplace without their channel.
                    direct = reports_agency and rng.random() < DIRECT_SHARE
                    rec["workspace_id"].append(segment.workspace_id)
                    rec["day"].append(day)
                    rec["segment_key"].append(segment.key)
                    rec["agency"].append(agency)
                    rec["channel"].append(None if direct else channel)
                    # Meta and Google Ads report spend only, not impressions.
                    rec["impressions"].append(impressions if reports_agency else None)
                    rec["revenue"].append(round(impressions / 1000 * cpm * cpm_factor, 2))
                    rec["currency"].append(segment.currency)
    workspace_ids = sorted({s.workspace_id for s in segments})
    agencies = {name: [] for name in REVENUE_TABLES["agencies"][0].names}
    for workspace_id in workspace_ids:
        for agency, name, kind, country, contact, _size in AGENCIES:
            for column, value in zip(agencies, (workspace_id, agency, name, kind, country, contact)):
                agencies[column].append(value)
    return DemoRevenue(
        records=_drop_duplicate_keys(pa.table(rec, schema=REVENUE_TABLES["revenue_records"][0])),
        counts=pa.table(cnt, schema=REVENUE_TABLES["segment_counts"][0]),
        agencies=pa.table(agencies, schema=REVENUE_TABLES["agencies"][0]),
    )


def _drop_duplicate_keys(records: pa.Table) -> pa.Table:
    """Direct deals of two agencies on one day share a key (no channel); the writer would keep the
    last, which would lose revenue, so they are added up here, as a channel's report would."""
    grouped = records.group_by(["workspace_id", "day", "segment_key", "agency", "channel", "currency"],
                               use_threads=False).aggregate([("impressions", "sum"), ("revenue", "sum")])
    return pa.table({
        "workspace_id": grouped["workspace_id"], "day": grouped["day"], "segment_key": grouped["segment_key"],
        "agency": grouped["agency"], "channel": grouped["channel"], "impressions": grouped["impressions_sum"],
        "revenue": grouped["revenue_sum"], "currency": grouped["currency"],
    }, schema=REVENUE_TABLES["revenue_records"][0]).sort_by([("day", "ascending"), ("segment_key", "ascending")])
