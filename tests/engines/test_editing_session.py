"""Editing one audience without Qt: drafts saved through the audience service, autosaves, estimates, cancelling."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from app.builder import editing
from app.builder.document import CriteriaError
from app.builder.estimator import EstimateCancelled
from app.errors import InvalidInput
from app.models.services.autosave import autosave_path, find_autosaves, remove_autosave, write_autosave
from app.engines.editing_session import Draft, EstimateSession, load_editor_context, save_draft, set_attribute_type
from app.engines.estimates import estimate_document
from app.engines.home import OpenHome
from tests.ui.editor_homes import document, fill_home, multi_group_document

NAME = "Engaged valuable shoppers"


@pytest.fixture
def opened(home_dir):
    ids = fill_home(home_dir, audiences={NAME: multi_group_document(), "Other": document()})
    with OpenHome.open(home_dir, user="maria") as home:
        home.ids = ids
        yield home


def test_the_context_offers_audiences_without_membership_criteria(opened):
    context = load_editor_context(opened, opened.ids[NAME])
    assert context.audience.name == NAME
    assert context.workspace_ids == (opened.ids["workspace"],)
    assert context.membership_choices == ((opened.ids["Other"], "Other"),)
    assert "tier" in context.catalog.attributes[opened.ids["workspace"]]


def test_saving_a_draft_stores_details_and_criteria(opened):
    audience = opened.audiences.get(opened.ids[NAME])
    ios = next(i.id for i in opened.workspaces.get(opened.ids["workspace"]).inputs if i.name == "iOS")
    draft = Draft("Valuable shoppers", "vs_2026", (ios,), ("spring", "vip"), editing.remove(audience.criteria, "london"))

    saved = save_draft(opened, audience.id, draft)

    assert (saved.name, saved.external_name, saved.input_ids, saved.tags) == ("Valuable shoppers", "vs_2026", (ios,), ("spring", "vip"))
    assert saved.criteria == draft.criteria and saved.status == "draft"
    assert Draft.of(saved) == draft


def test_a_bad_tag_is_refused_before_anything_is_written(opened):
    audience = opened.audiences.get(opened.ids[NAME])
    draft = Draft("Renamed", "", (), ("this-tag-is-far-too-long",), editing.remove(audience.criteria, "london"))
    with pytest.raises(InvalidInput, match="at most 18 characters"):
        save_draft(opened, audience.id, draft)
    assert opened.audiences.get(audience.id) == audience


def test_activating_checks_the_criteria_against_the_cache(opened):
    audience = opened.audiences.get(opened.ids[NAME])
    bad = editing.update(audience.criteria, "gold", {"attribute": "shoe_size"})
    with pytest.raises(CriteriaError, match="shoe_size"):
        save_draft(opened, audience.id, Draft.of(audience).with_criteria(bad), activate=True)
    assert opened.audiences.get(audience.id).status == "draft"
    assert save_draft(opened, audience.id, Draft.of(audience), activate=True).status == "active"


def test_autosaves_are_written_whole_found_and_removed(opened, home_dir):
    audience = opened.audiences.get(opened.ids[NAME])
    draft = Draft.of(audience)
    moment = dt.datetime(2026, 5, 1, 12, tzinfo=dt.timezone.utc)

    path = write_autosave(home_dir, audience.id, audience.name, draft, now=moment)
    write_autosave(opened, audience.id, audience.name, draft, now=moment + dt.timedelta(seconds=5))

    assert path == autosave_path(home_dir, audience.id)
    assert [p.name for p in home_dir.autosave_dir.iterdir()] == [path.name]  # no temporary files left
    [found] = find_autosaves(home_dir)
    assert (found.audience_id, found.audience_name, found.draft) == (audience.id, NAME, draft)
    assert found.saved_at == moment + dt.timedelta(seconds=5)
    remove_autosave(home_dir, audience.id)
    assert find_autosaves(home_dir) == []


def test_an_unreadable_autosave_is_skipped(opened, home_dir, caplog):
    home_dir.autosave_dir.mkdir(parents=True, exist_ok=True)
    (home_dir.autosave_dir / "audience-7.json").write_text("{not json")
    (home_dir.autosave_dir / "audience-8.json").write_text(json.dumps({"audience_id": 8}))
    assert find_autosaves(home_dir) == []
    assert "cannot be read" in caplog.text


def test_the_session_estimates_like_the_engine_and_can_be_cancelled_from_another_thread(opened):
    audience = opened.audiences.get(opened.ids[NAME])
    session = EstimateSession(opened, audience.workspace_ids)
    exact = session.estimate(audience.criteria, exact=True)
    assert exact.count == estimate_document(opened, audience.criteria, workspace_ids=audience.workspace_ids,
                                            exact=True).count
    assert set(exact.nodes) >= {"gold", "ios", "engaged", "valuable", "london"}

    # Cancelling while nothing runs does not spoil the next estimate.
    session.cancel()
    assert session.estimate(audience.criteria, exact=False).exact is False

    # A query interrupted while it runs ends as EstimateCancelled.
    cursor = session._cursor
    timer = threading.Timer(0.2, session.cancel)
    timer.start()
    with pytest.raises(EstimateCancelled):
        try:
            cursor.execute("SELECT count(*) FROM range(10000000000) a").fetchall()
        except Exception as exc:  # the raw interrupt, translated as the estimator does
            raise EstimateCancelled(str(exc)) from exc
    timer.join()
    session.close()


def test_a_membership_card_without_its_audience_asks_for_one(opened):
    node = {"id": "m", "type": "audience_membership", "audience_id": 0, "member": True, "exclude": False}
    document = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": [node]}}
    with pytest.raises(CriteriaError, match="no audience chosen yet: choose the audience whose members to count"):
        estimate_document(opened, document, workspace_ids=[opened.ids["workspace"]], exact=True)


# -- one catalog per editor: a changed attribute type reaches the estimates -----------------------------

AGE = {"id": "age", "type": "user_attribute", "exclude": False, "attribute": "age", "operator": "ge", "value": 40}


def test_a_type_changed_in_the_store_reaches_an_open_session(opened):
    workspace = opened.ids["workspace"]
    session = EstimateSession(opened, (workspace,))
    counted = session.estimate(document(AGE), exact=True, nodes=False)
    assert counted.count == estimate_document(opened, document(AGE), workspace_ids=[workspace], exact=True).count > 0

    # Changed elsewhere (Preferences, another editor, the CLI): the open session refuses a number comparison now.
    opened.workspaces.set_attribute_type(workspace, "age", "string")
    with pytest.raises(CriteriaError, match="'ge' does not fit user attribute 'age', which holds string values"):
        session.estimate(document(AGE), exact=True, nodes=False)

    # And back: it counts again, the same users.
    opened.workspaces.set_attribute_type(workspace, "age", "number")
    assert session.estimate(document(AGE), exact=True, nodes=False).count == counted.count
    session.close()


def test_the_editor_and_its_session_share_one_catalog(opened):
    context = load_editor_context(opened, opened.ids[NAME])
    session = EstimateSession(opened, context.workspace_ids, catalog=context.catalogs)
    assert session.estimate(document(AGE), exact=True, nodes=False).count > 0
    before = context.catalog.fingerprint

    catalog = set_attribute_type(opened, context.workspace_ids, "age", "string", context.catalogs)

    assert catalog is context.catalog  # what the cards show is what the estimates use
    assert context.catalog.attribute_type(context.workspace_ids, "age") == "string"
    assert context.catalog.fingerprint != before
    with pytest.raises(CriteriaError, match="does not fit user attribute 'age'"):
        session.estimate(document(AGE), exact=True, nodes=False)
    session.close()


def test_a_sync_or_import_makes_the_catalog_read_again(opened):
    from app.connectors.importer import SourcedBatch, import_batches

    context = load_editor_context(opened, opened.ids[NAME])
    workspace = opened.ids["workspace"]
    assert context.catalogs.fresh() is context.catalog  # nothing changed: not read again
    assert context.catalog.attribute_type((workspace,), "shoe_size") is None

    stamp = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    batch = {"mpid": 999, "timestamp_unixtime_ms": stamp, "environment": "production", "events": [], "user_attributes": {"shoe_size": 44},
             "application_info": {"os": "IOS"}}
    import_batches(opened.cache, [SourcedBatch(workspace, None, batch, "test", "batch 999")], source="test")

    assert context.catalogs.fresh().attribute_type((workspace,), "shoe_size") == "number"
    assert context.catalog.attribute_type((workspace,), "shoe_size") == "number"


def test_the_estimators_cache_is_kept_per_catalog(opened):
    from app.builder.estimator import Estimator
    from app.engines.estimates import catalog_for, counting_moment, scope_for

    workspace = opened.ids["workspace"]
    cursor = opened.cache.cursor()
    try:
        estimator = Estimator(cursor)
        scope = scope_for(opened, [workspace], ())
        now = counting_moment(scope, dt.datetime.now(dt.timezone.utc))
        numbers = catalog_for(opened, cursor)
        assert estimator.estimate(document(AGE), scope=scope, catalog=numbers, now=now, exact=True).count > 0
        opened.workspaces.set_attribute_type(workspace, "age", "string")
        strings = catalog_for(opened, cursor)
        assert strings.fingerprint != numbers.fingerprint
        # The same document, scope and moment: not the answer cached for the other catalog.
        with pytest.raises(CriteriaError, match="does not fit user attribute 'age'"):
            estimator.estimate(document(AGE), scope=scope, catalog=strings, now=now, exact=True)
    finally:
        cursor.close()
