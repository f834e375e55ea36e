"""Standard audiences on a real store and cache: date ranges, credits spent and refunded, the lifecycle on a
clock the test moves, kept membership after expiry, cancel, failure and crash recovery, and Send."""

from __future__ import annotations

import datetime as dt
from datetime import date

import pytest

from app.errors import InvalidInput
from app.models.services import standard_audiences
from app.models.services.credits import NotEnoughCredits
from app.engines.estimates import estimate_document
from app.engines.forwarding import SENT, SKIPPED, UP_TO_DATE, ForwardingEngine
from app.engines.home import OpenHome
from app.engines.members import members_sql
from app.models.store.schema import StandardCalculation
from app.models.services.standard_audiences import EXPIRY_DAYS
from app.engines.standard_calculation import StandardAudiences
from tests.builder.test_compiler_examples import doc, ms, profile
from tests.builder.workspaces import load
from tests.factories import event

UTC = dt.timezone.utc
SESSIONS = doc({"id": "s", "type": "event", "event_type": "session_start"})
#: When each profile had its one session (UTC).
SESSION_DAYS = {1: "2019-03-10", 2: "2019-11-20", 3: "2020-06-01", 4: "2018-05-05"}


class Clock:
    """The service's clock, moved by the test."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment

    def advance(self, **delta) -> None:
        self.moment += dt.timedelta(**delta)


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture
def home(home_dir):
    with OpenHome.open(home_dir, user="maria") as opened:
        yield opened


def sessions_workspace(home, name: str = "Retail"):
    """A workspace whose four profiles each had one session, on SESSION_DAYS."""
    workspace = home.workspaces.create(name, [("platform", "iOS")])
    batches = []
    for mpid, day in SESSION_DAYS.items():
        moment = dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
        batches.append((workspace.id, profile(mpid, at=moment, events=[event("session_start", ms(moment))])))
    load(home.cache, batches)
    return workspace


@pytest.fixture
def retail(home):
    return sessions_workspace(home)


@pytest.fixture
def clock():
    return Clock(dt.datetime(2025, 9, 9, 13, 0, tzinfo=UTC))


@pytest.fixture
def service(home, clock) -> StandardAudiences:
    return StandardAudiences(home, now=clock)


def members(home, audience_id: int) -> set[int]:
    cursor = home.cache.cursor()
    try:
        sql, params = members_sql(home, home.audiences.get(audience_id), cursor)
        return {row[0] for row in cursor.execute(sql, params).fetchall()}
    finally:
        cursor.close()


def calculations(home) -> list[tuple[str, int, int]]:
    with home.store.transaction() as session:
        return [(c.state, c.days_scanned, c.credits) for c in session.query(StandardCalculation).order_by("id")]


def test_a_draft_takes_a_date_range_and_stays_out_of_the_real_time_list(home, retail, service):
    draft = service.create("2019 visitors", workspace_id=retail.id, start=d("2019-01-01"), end=d("2019-12-31"),
                           criteria=SESSIONS)
    assert (draft.status, draft.tab, draft.range_text()) == ("Draft", "in_progress", "01 Jan 2019 – 31 Dec 2019")
    assert [a.name for a in service.list("in_progress")] == ["2019 visitors"]
    assert service.list("ready") == []
    assert home.audiences.list(kind="realtime") == []
    assert home.audiences.get(draft.id).kind == "standard"


@pytest.mark.parametrize(("start", "end", "message"), [
    (d("2019-01-01"), None, "both the start and the end"),
    (d("2019-02-01"), d("2019-01-01"), "ends"),
])
def test_a_bad_range_is_refused(home, retail, service, start, end, message):
    with pytest.raises(InvalidInput, match=message):
        service.create("Bad", workspace_id=retail.id, start=start, end=end)
    assert home.audiences.list() == []


def test_calculating_spends_credits_and_finds_the_members_of_the_range_not_the_real_time_window(home, retail, service, clock):
    home.credits.add(retail.id, 3, "Order 1")
    draft = service.create("2019 visitors", workspace_id=retail.id, start=d("2019-01-01"), end=d("2019-12-31"),
                           criteria=SESSIONS)
    quote = service.quote([draft.id])
    assert (quote.days, quote.credits, quote.balance, quote.enough) == (365, 1, 3, True)

    reports = []
    job = service.calculate([draft.id])
    assert service.get(draft.id).status == "Calculating"
    assert job.run(lambda done, total: reports.append((done, total))) == "done"

    ready = service.get(draft.id)
    assert (ready.status, ready.tab, ready.size, ready.calculated_at) == ("Ready", "ready", 2, clock.moment)
    assert (ready.scanned_start, ready.scanned_end) == (d("2019-01-01"), d("2019-12-31"))
    assert reports == [(1, 1)]
    # Only the sessions of 2019 count; the real-time window (the last 30 days of 2025) would find no one.
    assert members(home, draft.id) == {1, 2}
    assert (home.home.root / "standard" / ready.members_file).exists()
    assert home.credits.balance(retail.id) == 2
    assert [e.change for e in home.credits.ledger(retail.id)] == [3, -1]
    assert calculations(home) == [("done", 365, 1)]


def test_the_end_date_is_inclusive(home, retail, service):
    home.credits.add(retail.id, 1, "Order 1")
    draft = service.create("Up to 10 March", workspace_id=retail.id, start=d("2019-03-01"), end=d("2019-03-10"),
                           criteria=SESSIONS)
    service.calculate([draft.id]).run()
    assert members(home, draft.id) == {1}  # its session was at noon on the last day


def test_drafts_calculated_together_pay_for_the_union_of_their_days(home, retail, service):
    home.credits.add(retail.id, 5, "Order 1")
    ids = [service.create(f"Part {n}", workspace_id=retail.id, start=start, end=end, criteria=SESSIONS).id
           for n, (start, end) in enumerate([(d("2019-01-01"), d("2019-08-31")), (d("2019-05-01"), d("2019-12-31")),
                                             (d("2019-01-01"), d("2019-12-31"))])]
    quote = service.quote(ids)
    assert (quote.days, quote.credits) == (365, 1)
    assert service.calculate(ids).run() == "done"
    assert home.credits.balance(retail.id) == 4
    assert [service.get(i).size for i in ids] == [1, 1, 2]


def test_all_available_data_resolves_to_the_first_and_last_event_days(home, retail, service):
    home.credits.add(retail.id, 5, "Order 1")
    everything = service.create("Everyone", workspace_id=retail.id, criteria=SESSIONS)
    quote = service.quote([everything.id])
    span = (d("2018-05-05"), d("2020-06-01"))
    assert (quote.audiences[0].start, quote.audiences[0].end) == span
    assert (quote.days, quote.credits) == ((span[1] - span[0]).days + 1, 3)
    service.calculate([everything.id]).run()
    calculated = service.get(everything.id)
    assert calculated.size == 4 and (calculated.scanned_start, calculated.scanned_end) == span
    assert calculated.range_text() == "All available data (05 May 2018 – 01 Jun 2020)"


def test_a_short_balance_is_refused_and_changes_nothing(home, retail, service):
    home.credits.add(retail.id, 1, "Order 1")
    draft = service.create("Two years", workspace_id=retail.id, start=d("2018-01-01"), end=d("2020-01-01"),
                           criteria=SESSIONS)
    quote = service.quote([draft.id])
    assert (quote.credits, quote.enough) == (2, False)
    assert "needs 2 credits" in quote.shortfall_text()
    with pytest.raises(NotEnoughCredits, match="has 1 calculation credit; this calculation needs 2"):
        service.calculate([draft.id])
    assert service.get(draft.id).status == "Draft"
    assert calculations(home) == []
    assert home.credits.balance(retail.id) == 1


def test_only_drafts_of_one_workspace_are_calculated_together(home, retail, service):
    travel = home.workspaces.create("Travel", [("platform", "iOS")])
    one = service.create("Retail 2019", workspace_id=retail.id, start=d("2019-01-01"), end=d("2019-12-31"))
    other = service.create("Travel 2019", workspace_id=travel.id, start=d("2019-01-01"), end=d("2019-12-31"))
    with pytest.raises(InvalidInput, match="one workspace at a time"):
        service.quote([one.id, other.id])
    realtime = home.audiences.create("Live", workspace_ids=[retail.id])
    with pytest.raises(InvalidInput, match="real-time audience"):
        service.quote([realtime.id])


def test_the_lifecycle_on_the_services_clock(home, retail, service, clock):
    home.credits.add(retail.id, 2, "Order 1")
    draft = service.create("2019 visitors", workspace_id=retail.id, start=d("2019-01-01"), end=d("2019-12-31"),
                           criteria=SESSIONS)
    service.calculate([draft.id]).run()
    calculated_at = clock.moment
    clock.advance(days=EXPIRY_DAYS, seconds=-1)
    assert (service.get(draft.id).status, [a.id for a in service.list("ready")]) == ("Ready", [draft.id])

    clock.advance(seconds=1)
    expired = service.get(draft.id)
    assert (expired.status, expired.tab, expired.expires_at) == ("Expired", "archive", calculated_at + dt.timedelta(days=30))
    assert [a.id for a in service.list("archive")] == [draft.id] and service.list("ready") == []
    with pytest.raises(InvalidInput, match="calculate it before|expired"):
        service.send(draft.id, [1])
    with pytest.raises(InvalidInput, match="Only drafts can be calculated"):
        service.quote([draft.id])

    # Recalculating an expired audience: a clone is a draft over the same range, calculated anew.
    copy = service.clone(draft.id)
    assert (copy.name, copy.status, copy.range_start, copy.range_end) == (
        "2019 visitors (copy)", "Draft", d("2019-01-01"), d("2019-12-31"))
    service.calculate([copy.id]).run()
    assert service.get(copy.id).status == "Ready" and members(home, copy.id) == {1, 2}


def test_membership_of_an_expired_standard_audience_is_kept(home, retail, service, clock):
    home.credits.add(retail.id, 1, "Order 1")
    historic = service.create("2019 visitors", workspace_id=retail.id, start=d("2019-01-01"), end=d("2019-12-31"),
                              criteria=SESSIONS)
    service.calculate([historic.id]).run()
    clock.advance(days=EXPIRY_DAYS + 5)
    assert service.get(historic.id).expired
    was_there = home.audiences.create("Came in 2019", workspace_ids=[retail.id], criteria=doc(
        {"id": "m", "type": "audience_membership", "audience_id": historic.id, "member": True}))
    was_not = home.audiences.create("Did not come in 2019", workspace_ids=[retail.id], criteria=doc(
        {"id": "m", "type": "audience_membership", "audience_id": historic.id, "member": False}))
    assert members(home, was_there.id) == {1, 2}
    assert members(home, was_not.id) == {3, 4}
    # The builder's exact estimate (node counts included) reads the same kept members.
    estimate = estimate_document(home, was_not.criteria, workspace_ids=[retail.id], exact=True)
    assert (estimate.count, estimate.nodes["m"]) == (2, 2)


def test_cancel_between_audiences_refunds_what_the_unfinished_would_have_cost(home, retail, service):
    home.credits.add(retail.id, 5, "Order 1")
    first = service.create("2018", workspace_id=retail.id, start=d("2018-01-01"), end=d("2018-12-31"), criteria=SESSIONS)
    second = service.create("2019-2020", workspace_id=retail.id, start=d("2019-01-01"), end=d("2020-12-31"),
                            criteria=SESSIONS)
    job = service.calculate([first.id, second.id])
    assert job.quote.credits == 3 and home.credits.balance(retail.id) == 2
    assert job.run(lambda done, total: job.cancel()) == "cancelled"
    assert (service.get(first.id).status, service.get(second.id).status) == ("Ready", "Draft")
    # 2018 alone costs 1 credit: the other 2 come back.
    assert [e.change for e in home.credits.ledger(retail.id)] == [5, -3, 2]
    assert calculations(home)[0][0] == "cancelled"
    assert job.progress == (1, 2)


def test_cancel_before_it_runs_refunds_everything(home, retail, service):
    home.credits.add(retail.id, 1, "Order 1")
    draft = service.create("2019", workspace_id=retail.id, start=d("2019-01-01"), end=d("2019-12-31"), criteria=SESSIONS)
    job = service.calculate([draft.id])
    job.cancel()
    assert job.run() == "cancelled"
    assert service.get(draft.id).status == "Draft" and home.credits.balance(retail.id) == 1
    assert list((home.home.root / "standard").glob("*")) == []


def test_a_failed_calculation_is_refunded_and_leaves_the_drafts(home, retail, service):
    home.credits.add(retail.id, 1, "Order 1")
    draft = service.create("2019", workspace_id=retail.id, start=d("2019-01-01"), end=d("2019-12-31"), criteria=SESSIONS)
    (home.home.root / "standard").write_text("not a folder")  # the members cannot be written
    job = service.calculate([draft.id])
    with pytest.raises(OSError):
        job.run()
    assert job.outcome == "failed"
    assert service.get(draft.id).status == "Draft"
    assert [e.change for e in home.credits.ledger(retail.id)] == [1, -1, 1]
    assert calculations(home)[0][0] == "failed"


def test_recovery_fails_and_refunds_a_calculation_a_crash_left_running(home, retail, service):
    home.credits.add(retail.id, 1, "Order 1")
    draft = service.create("2019", workspace_id=retail.id, start=d("2019-01-01"), end=d("2019-12-31"), criteria=SESSIONS)
    job = service.calculate([draft.id])
    assert service.recover() == []  # running in this process: left alone
    standard_audiences._live_calculations.discard(job.calculation_id)  # as after a restart
    assert service.recover() == [job.calculation_id]
    assert service.get(draft.id).status == "Draft"
    assert home.credits.balance(retail.id) == 1
    assert calculations(home)[0][0] == "failed"
    assert service.recover() == []


def test_connections_forward_only_after_send_and_never_once_expired(home, retail, service, clock, tmp_path):
    home.credits.add(retail.id, 1, "Order 1")
    draft = service.create("2019", workspace_id=retail.id, start=d("2019-01-01"), end=d("2019-12-31"), criteria=SESSIONS)
    folder = tmp_path / "exports"
    folder.mkdir()
    output = home.outputs.create("Files", "file_export", {"folder": str(folder), "format": "csv",
                                                          "identity_types": ["ios_idfa", "ios_idfv", "customer_id", "email"]})
    connection = home.connections.connect(draft.id, output.id)
    engine = ForwardingEngine(home, now=clock)

    assert engine.forward_one(connection.id).outcome == SKIPPED  # not calculated yet
    service.calculate([draft.id]).run()
    unsent = engine.forward_one(connection.id)
    assert (unsent.outcome, unsent.reason) == (SKIPPED, "a standard audience is forwarded only when you press Send")

    service.send(draft.id, [connection.id])
    assert home.connections.get(connection.id).send_requested_at is not None
    sent = engine.forward_one(connection.id)
    assert sent.outcome in (SENT, UP_TO_DATE)
    assert engine.forward_one(connection.id).reason == "already sent; press Send to send it again"
    service.send(draft.id, [connection.id])  # it can be sent again
    assert engine.forward_one(connection.id).outcome in (SENT, UP_TO_DATE)

    clock.advance(days=EXPIRY_DAYS)
    assert "expired" in engine.forward_one(connection.id).reason
    other = home.outputs.create("More files", "file_export", {"folder": str(folder), "format": "csv"})
    with pytest.raises(InvalidInput, match="cannot be connected: it expired"):
        home.connections.connect(draft.id, other.id)



def test_the_builders_live_estimate_of_a_standard_draft_counts_over_its_dates(home, retail, service, clock):
    """The same builder: its estimate session counts a standard draft over the draft's dates, not the real-time window."""
    from app.engines.editing_session import EstimateSession
    from app.engines.estimates import audience_scope

    draft = service.create("Sessions in 2019", workspace_id=retail.id, start=d("2019-01-01"), end=d("2019-12-31"),
                           criteria=SESSIONS)
    whole = service.create("Sessions ever", workspace_id=retail.id, criteria=SESSIONS)
    counts = {}
    for audience_id in (draft.id, whole.id):
        session = EstimateSession(home, [retail.id], standard_audience_id=audience_id)
        try:
            counts[audience_id] = session.estimate(SESSIONS, exact=True, nodes=False, now=clock()).count
        finally:
            session.close()
    assert counts == {draft.id: 2, whole.id: 4}  # 2019's two sessions; all four with all available data
    realtime = EstimateSession(home, [retail.id])
    try:
        assert realtime.estimate(SESSIONS, exact=True, nodes=False, now=clock()).count == 0  # none in the last 30 days
    finally:
        realtime.close()
    scope = audience_scope(home, home.audiences.get(draft.id))
    assert scope.realtime_days is None and [t.date() for t in scope.date_range] == [d("2019-01-01"), d("2020-01-01")]
