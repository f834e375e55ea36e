"""Conformance: the same criteria documents count the same on DuckDB (the desktop) and ClickHouse (the server).

The data is imported once through the real importer into a DuckDB cache, copied table by table
through Parquet files into an in-process ClickHouse (chDB), and every document is counted on both:
the audience's count, every node's own count and the members must be identical. ClickHouse runs
in a session time zone other than UTC (the cache's), so a count that depended on it would differ.

- every example of tests/builder/test_compiler_examples.py that counts a document (its data, its
  documents; there the reference evaluator already agrees with DuckDB) is counted on ClickHouse too;
- hypothesis-generated workspaces and documents (tests/builder/documents.py), and mutated ones;
- the A/B bucket of a user is the same on both engines and in Python.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json

import chdb.session
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.builder.catalog import load_catalog
from app.builder.clickhouse import CLICKHOUSE, TABLES, create_tables
from app.builder.compiler import Membership, Scope, members_query
from app.builder.document import CriteriaError
from app.builder.estimator import Estimator
from app.builder.variants import BUCKETS, bucket, bucket_sql
from app.connectors.cache import Cache, first_row
from app.engines.clickhouse_counts import ClickHouseCounts, ClickHouseError, chdb_query
from tests.builder import test_compiler_examples as examples
from tests.builder.documents import CALCULATED, Facts, documents
from tests.builder.mutations import mutated
from tests.builder.reference import CacheData
from tests.builder.workspaces import NOW, load, new_cache, workspace_batches

#: Session time zones of the ClickHouse side: none is the cache's UTC; Kathmandu is +05:45 (day
#: boundaries off the hour), Kiritimati +14, Los Angeles behind UTC with daylight saving.
ZONES = ["Asia/Kathmandu", "Pacific/Kiritimati", "America/Los_Angeles"]
DATABASE = "conformance"


class ClickHouseCopy:
    """A chDB session holding a copy of one DuckDB cache's tables, refreshed when the cache changes."""

    def __init__(self, session: chdb.session.Session, directory):
        self.session = session
        self.directory = directory
        self._loaded: tuple[int, int] | None = None
        self.counts = ClickHouseCounts(chdb_query(session))

    def time_zone(self, zone: str) -> None:
        self.session.query(f"SET session_timezone = '{zone}'")

    def sync(self, cache: Cache) -> None:
        cursor = cache.cursor()
        version = int(first_row(cursor, "SELECT value FROM cache_meta WHERE key = 'data_version'")[0])
        if self._loaded == (id(cache), version):
            return
        self.session.query(f"DROP DATABASE IF EXISTS {DATABASE}")
        self.session.query(f"CREATE DATABASE {DATABASE}")
        self.session.query(f"USE {DATABASE}")
        for statement in create_tables():
            self.session.query(statement)
        for table, columns in TABLES.items():
            names = ", ".join(column for column, _ in columns)
            path = self.directory / f"{table}.parquet"
            cursor.execute(f"COPY (SELECT {names} FROM {table}) TO '{path}' (FORMAT parquet)")
            self.session.query(f"INSERT INTO {table} ({names}) SELECT {names} FROM file('{path}', Parquet)")
        self._loaded = (id(cache), version)

    def compare(self, cache: Cache, document: dict, scope: Scope, catalog, now, *, members: bool = True,
                memberships=None) -> None:
        """Count `document` on both engines; AssertionError naming the document and both answers if they differ."""
        self.sync(cache)
        duck = Estimator(cache.cursor()).estimate(document, scope=scope, catalog=catalog, now=now, exact=True,
                                                  memberships=memberships)
        house = self.counts.count(document, scope=scope, catalog=catalog, now=now, memberships=memberships)
        if (house.count, house.nodes) != (duck.count, duck.nodes):
            raise AssertionError(_disagreement(document, scope, {"(audience)": duck.count, **duck.nodes},
                                               {"(audience)": house.count, **house.nodes}))
        if members:
            sql, params = members_query(document, scope=scope, catalog=catalog, now=now, memberships=memberships)
            expected = {row[0] for row in cache.cursor().execute(sql, params).fetchall()}
            found = self.counts.members(document, scope=scope, catalog=catalog, now=now, memberships=memberships)
            assert len(found) == len(set(found)), "ClickHouse listed a member twice"
            assert set(found) == expected, json.dumps(document, indent=1)


def _disagreement(document: dict, scope: Scope, duck: dict, house: dict) -> str:
    return "\n".join([
        "DuckDB and ClickHouse disagree",
        f"scope: workspaces={scope.workspace_ids} inputs={dict(scope.inputs)} realtime_days={scope.realtime_days}",
        json.dumps(document, indent=1, ensure_ascii=False),
        "node counts (id: DuckDB / ClickHouse): " + ", ".join(
            f"{n}: {duck.get(n)} / {house.get(n)}" + (" <--" if duck.get(n) != house.get(n) else "") for n in duck),
    ])


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory):
    # chDB allows one session per process: every test of this module shares it.
    session = chdb.session.Session()
    try:
        yield ClickHouseCopy(session, tmp_path_factory.mktemp("parquet"))
    finally:
        session.close()


# ---------------------------------------------------------------------------------------------------
# The examples: each hand-built example's documents, on its own data


def _counts_documents(function) -> bool:
    """Examples whose only argument is the cache and that count (not only refuse) documents."""
    source = inspect.getsource(function)
    return (list(inspect.signature(function).parameters) == ["cache"]
            and ("evaluate(" in source or "matched(" in source) and "refused(" not in source)


EXAMPLES = [f for name, f in sorted(vars(examples).items()) if name.startswith("test_") and _counts_documents(f)]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda f: f.__name__.removeprefix("test_"))
def test_example_documents_count_the_same_on_clickhouse(example, clickhouse, tmp_path, monkeypatch):
    counted = []
    original = examples.evaluate

    def evaluate(cache, document, *, workspaces=(1,), inputs=None, now=examples.NOW, realtime_days=30):
        result = original(cache, document, workspaces=workspaces, inputs=inputs, now=now, realtime_days=realtime_days)
        scope = Scope(workspace_ids=tuple(workspaces), inputs=inputs or {}, realtime_days=realtime_days)
        clickhouse.compare(cache, document, scope, load_catalog(cache.cursor()), now)
        counted.append(document)
        return result

    monkeypatch.setattr(examples, "evaluate", evaluate)
    clickhouse.time_zone("Asia/Kathmandu")
    cache = Cache(tmp_path / "cache.duckdb")
    try:
        example(cache)
    finally:
        cache.close()
    assert counted, "the example counted no document"


# ---------------------------------------------------------------------------------------------------
# Generated workspaces and documents

SCOPES = [((1,), {}), ((1, 2), {}), ((1,), {1: ("iOS",)}), ((1, 2), {1: ("iOS", "crm"), 2: ("Android",)})]


@pytest.mark.slow  # about 35 s: a workspace per example, copied into ClickHouse
@settings(max_examples=15, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate), print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_generated_documents_count_the_same_on_both_engines(clickhouse, data):
    cache = new_cache()
    try:
        load(cache, data.draw(workspace_batches(), label="batches"))
        clickhouse.time_zone(data.draw(st.sampled_from(ZONES), label="ClickHouse session time zone"))
        cursor = cache.cursor()
        catalog = load_catalog(cursor, calculated={ws: CALCULATED for ws in (1, 2)})
        facts = Facts(CacheData.load(cursor), catalog)
        for index in range(6):
            workspace_ids, inputs = data.draw(st.sampled_from(SCOPES), label=f"scope {index}")
            realtime_days = data.draw(st.sampled_from([30, 7]), label=f"realtime days {index}")
            # A standard audience's dates (events in [start, end)) instead of the real-time window, now and then.
            date_range = data.draw(st.sampled_from([None, None, (NOW - dt.timedelta(days=12), NOW - dt.timedelta(hours=30))]),
                                   label=f"date range {index}")
            document = data.draw(documents(facts, workspace_ids), label=f"document {index}")
            scope = Scope(workspace_ids=workspace_ids, inputs=inputs, realtime_days=realtime_days, date_range=date_range)
            clickhouse.compare(cache, document, scope, catalog, NOW, members=index % 3 == 0)
        # Membership of another audience (compiled into the same query): in or not in it, with other criteria.
        workspace_ids, inputs = data.draw(st.sampled_from(SCOPES), label="target scope")
        target = Membership("Target", data.draw(documents(facts, workspace_ids), label="target document"),
                            Scope(workspace_ids=workspace_ids, inputs=inputs))
        others = data.draw(documents(facts, (1,)), label="document beside membership")
        document = {"version": 1, "root": {"id": "root", "type": "group", "match": data.draw(st.sampled_from(["all", "any"])),
                                           "children": [{"id": "m1", "type": "audience_membership", "audience_id": 7,
                                                         "member": data.draw(st.booleans(), label="member")},
                                                        *others["root"]["children"]]}}
        clickhouse.compare(cache, document, Scope(workspace_ids=(1,)), catalog, NOW,
                           memberships=lambda audience_id: target if audience_id == 7 else None)
    finally:
        cache.close()


@settings(max_examples=8, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate), print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_documents_are_refused_or_counted_the_same(clickhouse, data):
    """A broken document is refused by both (the same compiler, before any query) or counted the same."""
    cache = new_cache()
    try:
        load(cache, data.draw(workspace_batches(max_profiles=15), label="batches"))
        clickhouse.time_zone("Asia/Kathmandu")
        cursor = cache.cursor()
        catalog = load_catalog(cursor, calculated={ws: CALCULATED for ws in (1, 2)})
        facts = Facts(CacheData.load(cursor), catalog)
        scope = Scope(workspace_ids=(1, 2))
        for index in range(4):
            document = data.draw(mutated(documents(facts, (1, 2))), label=f"mutated document {index}")
            try:
                clickhouse.compare(cache, document, scope, catalog, NOW, members=False)
            except CriteriaError:
                with pytest.raises(CriteriaError):
                    clickhouse.counts.count(document, scope=scope, catalog=catalog, now=NOW)
    finally:
        cache.close()


@pytest.mark.parametrize("test", [
    {"operator": "list_size", "value": {"operator": "eq", "value": 0}},
    {"operator": "list_size", "value": {"operator": "lt", "value": 2}},
    {"operator": "list_not_contains", "value": "camping"},
    {"operator": "list_contains_any", "value": ["camping", "gold"]},
])
def test_list_tests_skip_values_that_are_not_lists(clickhouse, cache, test):
    """'tags' overridden to a list: a user whose value is text has no list, on both engines (DuckDB: NULL)."""
    load(cache, [(1, examples.profile(1, user_attributes={"tags": []})),
                 (1, examples.profile(2, user_attributes={"tags": ["Camping", "hiking"]})),
                 (1, examples.profile(3, user_attributes={"tags": "gold"}))])
    clickhouse.time_zone("Asia/Kathmandu")
    catalog = load_catalog(cache.cursor(), overrides={1: {"tags": "list"}})
    document = examples.doc({"id": "t", "type": "user_attribute", "attribute": "tags", **test})
    clickhouse.compare(cache, document, Scope(workspace_ids=(1,)), catalog, NOW)


def _search(mpid: int, *queries: str | None, hours_ago: int = 5) -> tuple[int, dict]:
    """A profile with one search per query (None: a search without one), all at the same moment."""
    at = examples.ms(NOW - dt.timedelta(hours=hours_ago))
    events = [examples.event("custom_event", at, custom_attributes={} if q is None else {"query": q}) for q in queries]
    return 1, examples.profile(mpid, events=events)


@pytest.mark.parametrize("attribute, operator, value", [
    ("Searches", "exists", None), ("Searches", "not_exists", None), ("Searches", "list_size", {"operator": "le", "value": 1}),
    ("Usual search", "equals", "boots"), ("Usual search", "equals", "tent"), ("Usual search", "not_exists", None),
    ("First search", "equals", "tent"), ("Last search", "equals", "boots"), ("First search", "exists", None),
])
def test_calculated_values_agree_on_ties_and_missing_values(clickhouse, cache, attribute, operator, value):
    """Most frequent with a tie (the first alphabetically), first/last at one moment (the first imported), and
    users whose events carry no value (no value: DuckDB's NULL list, left out by ClickHouse)."""
    load(cache, [_search(1, "tent", "boots"), _search(2, "tent", "tent", "boots"), _search(3, None, None),
                 _search(4, "boots", None), _search(5, None, "Tent")])
    clickhouse.time_zone("Pacific/Kiritimati")
    catalog = load_catalog(cache.cursor(), calculated={1: CALCULATED})
    node = {"id": "c", "type": "user_attribute", "attribute": attribute, "calculated": True, "operator": operator}
    if value is not None:
        node["value"] = value
    clickhouse.compare(cache, examples.doc(node), Scope(workspace_ids=(1,)), catalog, NOW)


# ---------------------------------------------------------------------------------------------------
# A/B buckets, parameters, refusals


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.text(min_size=1, max_size=20), mpids=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20))
def test_ab_buckets_are_the_same_on_both_engines(clickhouse, seed, mpids):
    import duckdb

    expected = [bucket(seed, mpid) for mpid in mpids]
    with duckdb.connect() as con:
        duck = [con.execute(f"SELECT {bucket_sql('m')} FROM (SELECT ?::BIGINT AS m)", [seed, mpid]).fetchall()[0][0]
                for mpid in mpids]
    sql, values = CLICKHOUSE.bind(f"SELECT {bucket_sql('m', CLICKHOUSE)} FROM (SELECT arrayJoin(?) AS m)", [seed, mpids])
    house = [int(row[0]) for row in chdb_query(clickhouse.session)(sql + " SETTINGS max_threads = 1", values)]
    assert duck == expected
    assert sorted(house) == sorted(expected) and all(0 <= b < BUCKETS for b in house)


def test_a_refused_query_names_clickhouse_in_one_line(clickhouse):
    with pytest.raises(ClickHouseError) as caught:
        chdb_query(clickhouse.session)("SELECT * FROM no_such_table_here", {})
    message = str(caught.value)
    assert "chDB" in message and "no_such_table_here" in message and "\n" not in message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_categories=["Cs"]), max_size=30))
def test_text_values_reach_clickhouse_unchanged(clickhouse, text):
    """Backslashes, quotes, tabs and new lines in a value arrive as typed (String and Array(String) alike)."""
    sql, values = CLICKHOUSE.bind("SELECT ?, ?", [text, [text, "x"]])
    answer = clickhouse.session.query(sql, "JSONCompact", params=values).data()
    assert json.loads(answer)["data"] == [[text, [text, "x"]]]


def test_a_document_that_cannot_be_counted_is_refused_before_any_query(clickhouse, cache):
    load(cache, [(1, examples.profile(1, user_attributes={"tier": "gold"}))])
    sent = []
    run = chdb_query(clickhouse.session)
    counts = ClickHouseCounts(lambda sql, values: sent.append(sql) or run(sql, values))
    clickhouse.sync(cache)
    document = examples.doc(examples.attr("a", "no_such_attribute", "equals", "x"))
    with pytest.raises(CriteriaError, match="no_such_attribute"):
        counts.count(document, scope=Scope(workspace_ids=(1,)), catalog=load_catalog(cache.cursor()), now=NOW)
    assert sent == []
    counted = counts.count(examples.doc(examples.attr("a", "tier", "equals", "GOLD")), scope=Scope(workspace_ids=(1,)),
                           catalog=load_catalog(cache.cursor()), now=NOW)
    assert (counted.count, counted.nodes) == (1, {"a": 1, "root": 1}) and len(sent) == 2
