"""The demo workspace: generated batches imported through the normal path, plus example audiences."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from app.builder.calculated import CalculatedAttribute
from app.connectors import demo_data, demo_revenue
from app.connectors.importer import ImportReport, SourcedBatch, import_batches
from app.errors import InvalidInput, UserError
from app.engines import membership
from app.engines.home import OpenHome
from app.models.store.store_files import home_data_names, remove_home_data
from app.paths import Home

log = logging.getLogger(__name__)

#: The inputs each demo workspace declares up front (the import adds any it sees as well).
DEMO_INPUTS = {
    "Harbor & Pine US": [("platform", "iOS"), ("platform", "Android"), ("platform", "Web"), ("feed", "CRM")],
    "Harbor & Pine EU": [("platform", "iOS"), ("platform", "Android"), ("platform", "Web")],
}


#: Events per transaction while the demo loads (see build_demo).
DEMO_PART_EVENTS = 1_000_000


class _Parts:
    """Cuts a stream of batches into parts of about `events` events, each streamed, never listed."""

    def __init__(self, batches: Iterator[SourcedBatch], events: int):
        self._batches = batches
        self._events = events
        self._next: SourcedBatch | None = next(batches, None)

    def __iter__(self) -> Iterator[Iterator[SourcedBatch]]:
        while self._next is not None:
            yield self._part()

    def _part(self) -> Iterator[SourcedBatch]:
        count = 0
        while self._next is not None and count < self._events:
            item, self._next = self._next, next(self._batches, None)
            count += len(item.batch.get("events") or ())
            yield item


@dataclass(frozen=True)
class DemoSummary:
    profiles: int
    events: int
    audiences: int
    seconds: float


def home_has_workspaces(home: Home) -> bool:
    if not home.store_path.exists():
        return False
    with OpenHome.open(home) as opened:
        return bool(opened.workspaces.list())


def build_demo(
    home: Home,
    *,
    profiles: int = 200_000,
    days: int = 60,
    seed: int = 7,
    end: dt.datetime,
    replace: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    activity: float = 1.0,
) -> DemoSummary:
    """Fill `home` with the demo workspaces; refuses a home that already holds work unless `replace`.

    With `replace` the demo is built in a folder beside the home and moves in only once complete, so
    a failure or an interruption leaves what the home held untouched."""
    started = time.perf_counter()
    check_history(days, end)
    if not replace and home_has_workspaces(home):
        raise UserError(f"The home {home.root} already holds workspaces. Use --replace to start over, or choose another --home.")
    target = Home(home.root.parent / f".{home.root.name}.demo-build") if replace else home
    if replace:
        shutil.rmtree(target.root, ignore_errors=True)  # a build interrupted before (the process killed) is not reused

    opened = OpenHome.open(target)  # outside the clean-up: a home locked by another process is left alone
    try:
        with opened:
            summary = fill_demo(opened, profiles=profiles, days=days, seed=seed, end=end, progress=progress,
                                activity=activity, discard_on_failure=False)
    except BaseException:
        # The target held no workspaces (a new home, or the build folder): a half-built demo goes entirely.
        if replace:
            shutil.rmtree(target.root, ignore_errors=True)
        else:
            remove_home_data(target)
        raise
    if replace:
        remove_home_data(home)
        home.root.mkdir(parents=True, exist_ok=True)
        for name in home_data_names(target):
            os.replace(target.root / name, home.root / name)
        shutil.rmtree(target.root, ignore_errors=True)
    summary = DemoSummary(summary.profiles, summary.events, summary.audiences, time.perf_counter() - started)
    log.info("demo built: %s", summary)
    return summary


#: The longest history the demo generates.
MAX_DAYS = 3650
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def check_history(days: int, end: dt.datetime) -> None:
    """Refuse, before anything is written, a history the batches cannot carry (mParticle times are
    milliseconds since 1970) or an absurd length."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"--days: {days:,} is out of range; the demo's history is 1 to {MAX_DAYS} days.")
    if end.year > 9000 or end - dt.timedelta(days=days) < _EPOCH:
        raise InvalidInput(f"--end: a history of {days} days ending {end.isoformat()} does not fit between 1970 and "
                           "the year 9000; choose another end, or fewer --days.")


def fill_demo(
    opened: OpenHome,
    *,
    profiles: int,
    days: int,
    seed: int = 7,
    end: dt.datetime,
    progress: Callable[[int, int | None], None] | None = None,
    activity: float = 1.0,
    discard_on_failure: bool = True,
) -> DemoSummary:
    """Add the demo workspaces, their data and example audiences to an open home that holds no workspaces.

    What the app's welcome runs (the window keeps its home open). `progress` may raise to stop the
    build (the welcome's Cancel); then, or on any failure, what was added is removed again.
    """
    started = time.perf_counter()
    if opened.workspaces.list():
        raise UserError("The home already holds workspaces; the demo goes into an empty home.")
    ids: dict[str, int] = {}
    try:
        ids.update({name: opened.workspaces.create(name, DEMO_INPUTS.get(name, [])).id for name in demo_data.WORKSPACES})
        report = _load_demo(opened, ids, profiles=profiles, days=days, seed=seed, end=end, activity=activity,
                            progress=progress)
        for workspace_id, inputs in report.inputs.items():
            opened.workspaces.ensure_inputs(workspace_id, sorted(inputs))
        opened.cache.optimize()
        opened.cache.refresh_catalogs()
        create_calculated_attributes(opened, ids)
        audiences = create_example_audiences(opened, ids)
        add_demo_revenue(opened, ids, seed=seed, end=end, profiles=profiles)
        publish_demo_segments(opened)
        # Its Active audiences are calculated now, as after any import (the list shows them at once).
        membership.after_load(opened)
        profile_count = opened.cache.cursor().execute("SELECT count(DISTINCT mpid) FROM profiles").fetchall()[0][0]
    except BaseException:
        if discard_on_failure:
            discard_workspaces(opened, list(ids.values()))
        raise
    return DemoSummary(profile_count, report.events, audiences, time.perf_counter() - started)


def discard_workspaces(opened: OpenHome, workspace_ids: list[int]) -> None:
    """Remove workspaces with their audiences from the store and their rows from the cache."""
    chosen = set(workspace_ids)
    for audience in opened.audiences.list():
        if chosen & set(audience.workspace_ids):
            opened.audiences.delete(audience.id)
    for workspace_id in workspace_ids:
        opened.workspaces.delete(workspace_id)
    opened.cache.forget_workspaces(workspace_ids)
    log.info("discarded workspaces %s", workspace_ids)


def _load_demo(opened: OpenHome, ids: dict[str, int], *, profiles: int, days: int, seed: int, end: dt.datetime,
               activity: float, progress: Callable[[int, int | None], None] | None) -> ImportReport:
    """Generate and import the demo's batches in parts of about DEMO_PART_EVENTS events.

    Each part is its own transaction: DuckDB holds a transaction's rows in memory until it commits,
    and a 40M-event demo in one transaction would need tens of GB. build_demo removes a half-built
    demo, so the user still gets all or nothing.
    """
    expected = demo_data.estimated_events(profiles, days, activity)
    events_seen = 0

    def batches() -> Iterator[SourcedBatch]:
        nonlocal events_seen
        generated = demo_data.generate(profiles=profiles, days=days, seed=seed, end=end, activity=activity)
        for number, item in enumerate(generated, start=1):
            events_seen += len(item.batch.get("events") or ())
            yield SourcedBatch(ids[item.workspace], item.feed, item.batch, "demo", f"batch {number}")

    def report_progress(_batches: int) -> None:
        if progress is not None:
            progress(events_seen, expected)

    report = ImportReport()
    description = f"demo: {profiles:,} profiles, {days} days, seed {seed}"
    for part in _Parts(batches(), DEMO_PART_EVENTS):
        piece = import_batches(opened.cache, part, source="demo", description=description, refresh=False,
                               progress=report_progress)
        report.batches += piece.batches
        report.events += piece.events
        for workspace_id, inputs in piece.inputs.items():
            report.inputs.setdefault(workspace_id, set()).update(inputs)
    return report


# -- example audiences ------------------------------------------------------------------------------


def _group(node_id: str, children: list, match: str = "all", exclude: bool = False) -> dict:
    return {"id": node_id, "type": "group", "match": match, "exclude": exclude, "children": children}


def _document(*children: dict, match: str = "all") -> dict:
    return {"version": 1, "root": _group("root", list(children), match)}


def _within(amount: int, unit: str) -> dict:
    return {"type": "within", "amount": amount, "unit": unit}


def example_audiences(us: int, eu: int) -> list[dict]:
    """A handful of audiences a marketer at Harbor & Pine would keep: drafts and active, tagged."""
    return [
        {
            "name": "New installers, under 3 sessions", "external_name": "HP - Onboarding nudge",
            "workspaces": [us], "status": "active", "tags": ["onboarding", "mobile"],
            "criteria": _document(
                {"id": "installed", "type": "event", "exclude": False, "event_type": "install", "window": _within(72, "hours")},
                {"id": "few-sessions", "type": "event", "exclude": False, "event_type": "session_start",
                 "frequency": {"operator": "lt", "value": 3}, "window": _within(30, "days")},
            ),
        },
        {
            "name": "High-value Gmail shoppers (US)", "external_name": None,
            "workspaces": [us], "status": "active", "tags": ["ecommerce", "vip"],
            "criteria": _document(
                {"id": "purchases", "type": "event", "exclude": False, "event_type": "commerce_event", "product_action": "purchase",
                 "conditions": [{"attribute": "revenue", "operator": "gt", "value": 50}],
                 "frequency": {"operator": "ge", "value": 2}, "window": _within(30, "days")},
                {"id": "in-us", "type": "location", "exclude": False, "field": "country", "operator": "equals", "value": "US"},
                {"id": "gmail", "type": "identity", "exclude": False, "identity_type": "email", "operator": "contains", "value": "gmail"},
            ),
        },
        {
            "name": "Cart abandoners, last 7 days", "external_name": "HP - Cart reminder",
            "workspaces": [us], "status": "draft", "tags": ["ecommerce", "retargeting"],
            "criteria": _document(
                {"id": "abandoned", "type": "cart_abandonment", "exclude": False, "window": _within(7, "days"),
                 "no_purchase_within": {"amount": 24, "unit": "hours"}},
            ),
        },
        {
            "name": "Campers near Denver", "external_name": None,
            "workspaces": [us], "status": "draft", "tags": ["geo", "camping"],
            "criteria": _document(
                {"id": "near-denver", "type": "location", "exclude": False, "operator": "within",
                 "latitude": 39.7392, "longitude": -104.9903, "radius": 50, "unit": "km"},
                {"id": "likes-camping", "type": "user_attribute", "exclude": False, "attribute": "favorite_categories",
                 "operator": "list_contains", "value": "camping"},
            ),
        },
        {
            "name": "Lapsed Android users", "external_name": "HP - Win back Android",
            "workspaces": [us], "status": "inactive", "tags": ["winback", "mobile"],
            "criteria": _document(
                {"id": "android", "type": "device", "exclude": False, "field": "platform", "operator": "equals", "value": "Android"},
                _group("recently-active", [
                    {"id": "session-14d", "type": "event", "exclude": False, "event_type": "session_start", "window": _within(14, "days")},
                    {"id": "purchase-14d", "type": "event", "exclude": False, "event_type": "commerce_event",
                     "product_action": "purchase", "window": _within(14, "days")},
                ], match="any", exclude=True),
            ),
        },
        {
            "name": "Big spenders gone quiet", "external_name": "HP - VIP reactivation",
            "workspaces": [us], "status": "draft", "tags": ["vip", "winback"],
            "criteria": _document(
                {"id": "lifetime-revenue", "type": "user_attribute", "exclude": False, "calculated": True,
                 "attribute": "Lifetime revenue", "operator": "ge", "value": 300},
                {"id": "few-purchases", "type": "user_attribute", "exclude": False, "calculated": True,
                 "attribute": "Purchases (30 days)", "operator": "lt", "value": 1},
            ),
        },
        {
            "name": "EU marketing consent", "external_name": None,
            "workspaces": [eu], "status": "active", "tags": ["gdpr"],
            "criteria": _document(
                {"id": "consented", "type": "consent", "exclude": False, "regulation": "gdpr", "purpose": "marketing", "consented": True},
            ),
        },
        {
            "name": "Gold and platinum members, US + EU", "external_name": None,
            "workspaces": [us, eu], "status": "draft", "tags": ["loyalty"],
            "criteria": _document(
                {"id": "tier-us", "type": "user_attribute", "exclude": False, "workspace_id": us, "attribute": "loyalty_tier",
                 "operator": "in", "value": ["gold", "platinum"]},
                {"id": "tier-eu", "type": "user_attribute", "exclude": False, "workspace_id": eu, "attribute": "loyalty_tier",
                 "operator": "in", "value": ["gold", "platinum"]},
                match="any",
            ),
        },
    ]


#: The demo's segments on the marketplace: (audience name, CPM in USD, category). The others stay private,
#: so the demo shows both kinds (only public segments earn revenue).
DEMO_PUBLIC_SEGMENTS = (
    ("New installers, under 3 sessions", "1.20", "Retail > App users > New"),
    ("High-value Gmail shoppers (US)", "4.50", "Retail > Shoppers > High value"),
    ("Cart abandoners, last 7 days", "3.00", "Retail > Shoppers > Intent"),
    ("Campers near Denver", "2.25", "Retail > Outdoor > Camping"),
    ("Lapsed Android users", "0.90", "Retail > App users > Lapsed"),
    ("Gold and platinum members, US + EU", "5.00", "Retail > Loyalty"),
)


def publish_demo_segments(opened: OpenHome) -> None:
    """Offer most example audiences on the marketplace with a price and a category (segment settings)."""
    by_name = {a.name: a.id for a in opened.audiences.list()}
    for name, cpm, category in DEMO_PUBLIC_SEGMENTS:
        if name in by_name:
            opened.segments.update(by_name[name], visibility="public", cpm=cpm, category=category,
                                   expiration_days=90)


def add_demo_revenue(opened: OpenHome, workspace_ids: dict[str, int], *, seed: int, end: dt.datetime,
                     profiles: int) -> int:
    """A year of revenue and member counts for the example audiences, up to the day before `end`,
    as the server's sync would bring them (app/connectors/demo_revenue.py). Returns the records."""
    us, eu = (workspace_ids[name] for name in demo_data.WORKSPACES)
    currency = {workspace_ids[name]: demo_revenue.CURRENCY[name] for name in demo_data.WORKSPACES}
    segments = [demo_revenue.DemoSegment(workspace_id, spec["external_name"] or spec["name"], currency[workspace_id])
                for spec in example_audiences(us, eu) for workspace_id in spec["workspaces"]]
    last_day = end.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    data = demo_revenue.generate(segments, end=last_day, seed=seed, profiles=profiles)
    with opened.cache.writing(source="demo", description="demo revenue") as writer:
        writer.add_agencies(data.agencies)
        writer.add_segment_counts(data.counts)
        return writer.add_revenue(data.records)


#: Calculated attributes every demo workspace defines.
DEMO_CALCULATED = (
    CalculatedAttribute("Purchases (30 days)", "count", "commerce_event", "purchase", None, 30),
    CalculatedAttribute("Lifetime revenue", "sum", "commerce_event", "purchase", "revenue", None),
    CalculatedAttribute("Last purchase", "last_time", "commerce_event", "purchase", None, None),
    CalculatedAttribute("Favourite wishlist category", "most_frequent", "custom_event", "Add to Wishlist", "category", None),
    CalculatedAttribute("Searches (7 days)", "count", "custom_event", "Search", None, 7),
)


def create_calculated_attributes(opened: OpenHome, workspace_ids: dict[str, int]) -> None:
    for workspace_id in workspace_ids.values():
        for definition in DEMO_CALCULATED:
            opened.calculated_attributes.create(workspace_id, definition)


def create_example_audiences(opened: OpenHome, workspace_ids: dict[str, int]) -> int:
    us, eu = (workspace_ids[name] for name in demo_data.WORKSPACES)
    service = opened.audiences
    for spec in example_audiences(us, eu):
        audience = service.create(
            spec["name"], external_name=spec["external_name"],
            scope="multi" if len(spec["workspaces"]) > 1 else "single",
            workspace_ids=spec["workspaces"], criteria=spec["criteria"], tags=spec["tags"],
        )
        if spec["status"] == "active":
            service.activate(audience.id)
        elif spec["status"] == "inactive":
            service.deactivate(audience.id)
    return len(example_audiences(us, eu))
