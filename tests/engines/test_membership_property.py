"""The incremental membership engine against a from-scratch recount: random sequences of imports of small
batches into two workspaces, clock advances (recency windows slide), definition edits, activation and
deactivation.

After every step the engine runs (`refresh`, or `run_due` as the app's clock and the import hook do). The
reference recounts every Active audience with the members query from scratch and keeps its own log of who
entered and left:
- an audience calculated whole must hold the recount now;
- one calculated incrementally (only the profiles the loads since its last calculation touched, which the test
  tracks itself) must hold its members before with those profiles recounted now, and, when its "as of" is now,
  exactly the recount now (the incremental path is exact);
- one left as it was must hold the recount now, or (on the clock, within its interval) the recount at its
  "as of" for every profile no load touched since.
Sizes, stored members with their entry times, adds and drops of the last 24 hours, the change log and the daily
rows must be the reference's."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.engines import membership
from app.engines.home import OpenHome
from app.engines.members import members_sql
from app.paths import resolve_home
from tests.builder.test_compiler_examples import NOW, profile, session
from tests.builder.workspaces import load

HOUR = dt.timedelta(hours=1)


def _doc(*children: dict) -> dict:
    return {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": list(children)}}


def _sessions(hours: int, node: str = "s") -> dict:
    return {"id": node, "type": "event", "event_type": "session_start",
            "window": {"type": "within", "amount": hours, "unit": "hours"}}


def _tier(value: str) -> dict:
    return {"id": "t", "type": "user_attribute", "attribute": "tier", "operator": "equals", "value": value}


#: Definitions of the kinds the engine must get right: sliding windows, no window, both, a negation, counts.
DEFINITIONS = [
    _doc(_sessions(6)),
    _doc(_sessions(30)),
    _doc(_tier("gold")),
    _doc(_tier("gold"), _sessions(12)),
    _doc({"id": "g", "type": "group", "match": "all", "exclude": True, "children": [_sessions(10, "x")]}),
    _doc({**_sessions(48), "frequency": {"operator": "ge", "value": 2}}),
]

#: The audiences' workspaces (indices into the two): one each, and one spanning both.
AUDIENCE_WORKSPACES = [(0,), (0,), (1,), (0, 1)]
AUDIENCES = len(AUDIENCE_WORKSPACES)

profiles = st.builds(
    lambda mpid, tier, ages: (mpid, tier, ages),
    st.integers(1, 6), st.sampled_from([None, "gold", "silver"]), st.lists(st.integers(0, 40), max_size=3))

imports = st.tuples(st.just("import"), st.integers(0, 1), st.lists(profiles, min_size=1, max_size=6))
steps = st.one_of(
    imports, imports,  # twice as likely: the loads after a calculation are what the incremental path is for
    st.tuples(st.just("advance"), st.sampled_from([5, 10, 15, 40, 60, 180, 600, 1500])),  # minutes
    st.tuples(st.just("edit"), st.integers(0, AUDIENCES - 1), st.integers(0, len(DEFINITIONS) - 1)),
    st.tuples(st.just("activate"), st.integers(0, AUDIENCES - 1)),
    st.tuples(st.just("deactivate"), st.integers(0, AUDIENCES - 1)),
)


class Reference:
    """What a from-scratch recount at each run says, and the log of changes it implies."""

    def __init__(self):
        self.members: dict[int, dict[int, dt.datetime]] = {}  # audience → mpid → entered at
        self.log: dict[int, list[tuple[int, dt.datetime, bool]]] = {}
        self.days: dict[int, dict[dt.date, list[int]]] = {}

    def observe(self, audience_id: int, found: set[int], now: dt.datetime) -> None:
        day = self.days.setdefault(audience_id, {})
        before = self.members.get(audience_id)
        if before is None:  # the baseline
            self.members[audience_id] = {mpid: now for mpid in found}
            self.log[audience_id] = []
            day[now.date()] = [len(found), 0, 0]
            return
        entered, left = found - set(before), set(before) - found
        for mpid in left:
            del before[mpid]
        for mpid in entered:
            before[mpid] = now
        self.log[audience_id] += sorted([(m, now, False) for m in left] + [(m, now, True) for m in entered])
        row = day.setdefault(now.date(), [len(found), 0, 0])
        row[0] = len(found)
        row[1] += len(entered)
        row[2] += len(left)

    def current(self, audience_id: int, now: dt.datetime) -> None:
        """Not recalculated: it keeps its row of the day."""
        day = self.days.setdefault(audience_id, {})
        day.setdefault(now.date(), [len(self.members[audience_id]), 0, 0])

    def last_day(self, audience_id: int, now: dt.datetime) -> tuple[int, int]:
        recent = [(m, at, entered) for m, at, entered in self.log.get(audience_id, []) if now - at < 24 * HOUR]
        return sum(1 for *_, e in recent if e), sum(1 for *_, e in recent if not e)


def recount(home: OpenHome, audience, now: dt.datetime) -> set[int]:
    cursor = home.cache.cursor()
    sql, params = members_sql(home, audience, cursor, now=now)
    return {row[0] for row in cursor.execute(sql, params).fetchall()}


_template: dict[str, Path] = {}


def _fresh_home(folder: Path) -> OpenHome:
    """A home with two workspaces and four draft audiences, copied from one built once (migrations take time)."""
    if "root" not in _template:
        root = Path(tempfile.mkdtemp(prefix="membership-template-"))
        with OpenHome.open(resolve_home(root), user="maria") as home:
            workspaces = [home.workspaces.create(name, [("platform", "iOS")]) for name in ("Retail", "Online")]
            # So the catalog knows sessions and the tier attribute: the definitions compile from the start.
            load(home.cache, [(ws.id, profile(100, at=NOW - 900 * HOUR, events=[session(NOW - 900 * HOUR)],
                                              user_attributes={"tier": "bronze"})) for ws in workspaces])
            for n, chosen in enumerate(AUDIENCE_WORKSPACES):
                home.audiences.create(f"A{n}", workspace_ids=[workspaces[i].id for i in chosen],
                                      scope="multi" if len(chosen) > 1 else "single",
                                      criteria=DEFINITIONS[n % len(DEFINITIONS)])
        _template["root"] = root
    shutil.copytree(_template["root"], folder)
    return OpenHome.open(resolve_home(folder), user="maria")


def _untouched(members: set[int], touched: set[int]) -> set[int]:
    return {mpid for mpid in members if mpid not in touched}


@pytest.mark.slow  # about a minute on a quiet 2-core machine: every example builds a home, up to 7 loads and runs
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=st.lists(steps, min_size=1, max_size=7), due=st.lists(st.booleans(), min_size=7, max_size=7))
def test_the_incremental_engine_agrees_with_a_recount_from_scratch(sequence, due):
    with tempfile.TemporaryDirectory() as folder, _fresh_home(Path(folder) / "home") as home:
        workspaces = home.workspaces.list()
        audiences = [a.id for a in home.audiences.list()]
        home.audiences.activate(audiences[0])
        home.audiences.activate(audiences[2])  # the other workspace's
        reference = Reference()
        # mpids loaded since each audience's last run (what the engine may recalculate incrementally), and since
        # its members were last current as a whole (what a clock wait may leave as of an earlier moment).
        since_run: dict[int, set[int]] = {a: set() for a in audiences}
        since_current: dict[int, set[int]] = {a: set() for a in audiences}
        now = NOW
        for index, step in enumerate(sequence):
            kind = step[0]
            if kind == "import":
                target = workspaces[step[1]]
                load(home.cache, [(target.id, profile(mpid, at=now, events=[session(now - h * HOUR) for h in ages],
                                                      **({"user_attributes": {"tier": tier}} if tier else {})))
                                  for mpid, tier, ages in step[2]])
                for audience_id in audiences:
                    since_run[audience_id].update(mpid for mpid, _, _ in step[2])
                    since_current[audience_id].update(mpid for mpid, _, _ in step[2])
            elif kind == "advance":
                now += dt.timedelta(minutes=step[1])
            elif kind == "edit":
                home.audiences.set_criteria(audiences[step[1]], DEFINITIONS[step[2]])
            elif kind == "activate":
                home.audiences.activate(audiences[step[1]])
            else:
                home.audiences.deactivate(audiences[step[1]])

            report = (membership.run_due if due[index] else membership.refresh)(home, now)

            for audience in home.audiences.list():
                if audience.status != "active":
                    continue
                status = membership.status(home, audience.id, now)
                assert status.state == "ok", status.error
                stored = set(membership.stored_members(home, audience.id))
                if (audience.id, 0) in report.incremental:
                    event("incremental, as of now" if status.as_of == now else "incremental, windows wait")
                    touched = since_run[audience.id]
                    expected = _untouched(set(reference.members[audience.id]), touched) | \
                        (recount(home, audience, now) & touched)
                    assert stored == expected
                    if status.as_of == now:  # exact: what a recount from scratch finds
                        assert stored == recount(home, audience, now)
                    else:  # its windows wait for the clock, within its interval
                        assert due[index] and now - status.as_of < dt.timedelta(minutes=15)
                    reference.observe(audience.id, expected, now)
                elif (audience.id, 0) in report.calculated:
                    assert status.as_of == now
                    reference.observe(audience.id, recount(home, audience, now), now)
                else:
                    # Left as it was: right only if a recount now finds the same members, or (on the clock) if
                    # only the clock moved, its workspace's interval has not passed yet, and every profile no
                    # load touched since is as a recount at its "as of" finds it.
                    kept = set(reference.members[audience.id])
                    same = recount(home, audience, now) == kept
                    touched = since_current[audience.id]
                    waiting = (due[index] and now - status.as_of < dt.timedelta(minutes=15)
                               and _untouched(recount(home, audience, status.as_of), touched)
                               == _untouched(kept, touched))
                    assert same or waiting
                    reference.current(audience.id, now)
                since_run[audience.id] = set()
                if status.as_of == now:
                    since_current[audience.id] = set()
            for audience_id in audiences:
                if audience_id not in reference.members:
                    continue
                status = membership.status(home, audience_id, now)
                assert membership.stored_members(home, audience_id) == reference.members[audience_id]
                assert status.size == len(reference.members[audience_id])
                assert (status.adds, status.drops) == reference.last_day(audience_id, now)
                assert membership.changes(home, audience_id) == sorted(reference.log[audience_id],
                                                                       key=lambda c: (c[1], c[0]))
                assert {d.day: [d.size, d.adds, d.drops] for d in membership.history(home, audience_id)} \
                    == reference.days[audience_id]
