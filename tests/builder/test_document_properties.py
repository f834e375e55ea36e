"""Property tests (issue 24): generated criteria documents, valid and mutated, against the reader
(app/builder/document.py) and the compiler counting on a small real DuckDB cache.

- the reader never raises on any value: it lists problems, each naming a field or a node;
- a document the reader accepts is counted (exact, per node, sampled, and its members) or refused by
  the compiler's catalog checks with a CriteriaError naming its node; a generated valid document is
  always counted; nothing else is ever raised (no traceback reaches a user);
- a refusal's message is one readable line, however large the document's values.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as outcome
from hypothesis import strategies as st

from app.builder.catalog import load_catalog
from app.builder.compiler import Scope, members_query
from app.builder.document import CriteriaError, problems
from app.builder.estimator import Estimator
from tests.builder.documents import CALCULATED, Facts, documents
from tests.builder.mutations import mutated
from tests.builder.reference import CacheData
from tests.builder.workspaces import NOW, load, ms, new_cache
from tests.factories import batch, event, purchase

SCOPE = Scope(workspace_ids=(1,), realtime_days=30)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _batches() -> list[tuple[int, dict]]:
    """Twelve profiles with events of several kinds over the last weeks and attributes of every type."""
    tiers = ["gold", "Gold", "silver", "50% Outlet", "Store_1", None]
    out = []
    for index in range(12):
        at = ms(NOW) - index * 37 * 3_600_000
        events = [event("session_start", at - 1000), event(at=at), event("screen_view", at - 2000),
                  purchase(at - 3000, amount=10.0 * index)][: 1 + index % 4]
        attributes = {"$Age": 20 + index, "loyalty_tier": tiers[index % len(tiers)], "favorite_categories": ["camping", "x"][: index % 3],
                      "newsletter_opt_in": index % 2 == 0, "signup_date": f"2025-0{1 + index % 9}-1{index % 10}"}
        out.append((1, batch(1000 + index, events=events, at=at, user_attributes=attributes)))
    return out


@pytest.fixture(scope="module")
def counting():
    """A small workspace imported through the real importer into a real DuckDB cache."""
    cache = new_cache()
    try:
        load(cache, _batches())
        cursor = cache.cursor()
        catalog = load_catalog(cursor, calculated={1: CALCULATED, 2: CALCULATED})
        yield Facts(CacheData.load(cursor), catalog), Estimator(cache.cursor()), cache
    finally:
        cache.close()


def _count(estimator: Estimator, catalog, cursor, document) -> None:
    """Everything the app does with a document: exact count with per-node counts, sampled, members."""
    estimator.estimate(document, scope=SCOPE, catalog=catalog, now=NOW, exact=True)
    estimator.estimate(document, scope=SCOPE, catalog=catalog, now=NOW, exact=False)
    sql, params = members_query(document, scope=SCOPE, catalog=catalog, now=NOW)
    cursor.execute(sql, params).fetchall()


def _assert_refusal_names_its_field(error: CriteriaError) -> None:
    assert error.problems, "a refusal without problems"
    for problem in error.problems:
        assert problem.node_id or problem.path or "document" in str(problem), problem
    text = str(error)
    assert "\n" not in text and len(text) < 6000, text[:500]


@PROPERTY
@given(data=st.data())
def test_every_valid_document_is_counted(counting, data):
    facts, estimator, cache = counting
    document = data.draw(documents(facts, (1,)), label="document")
    assert problems(document) == [], json.dumps(document, indent=1)
    try:
        _count(estimator, facts.catalog, cache.cursor(), document)
    except CriteriaError as exc:
        raise AssertionError(f"a valid document was refused: {exc}\n{json.dumps(document, indent=1)}") from None


@PROPERTY
@given(data=st.data())
def test_a_mutated_document_is_counted_or_refused_naming_its_field(counting, data):
    facts, estimator, cache = counting
    document = data.draw(mutated(documents(facts, (1,))), label="document")
    found = problems(document)  # never raises
    for problem in found:
        assert problem.node_id or problem.path or problem.message.startswith("'") or "document" in str(problem)
    try:
        _count(estimator, facts.catalog, cache.cursor(), document)
    except CriteriaError as exc:
        outcome("refused by the reader" if found else "refused by the compiler")
        _assert_refusal_names_its_field(exc)
        if found:  # the reader's problems are what the count refuses with
            assert [str(p) for p in exc.problems] == [str(p) for p in found]
    else:
        outcome("counted")
        assert found == [], "the reader refused a document the compiler counted"
