"""Edit history in the store: versions kept on save, numbered, compared and restored (app/models/services/versions.py)."""

from __future__ import annotations

import copy
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.builder import editing
from app.errors import InvalidInput, NotFound
from app.models.services.audiences import AudienceService
from app.models.services.segments import SegmentSettingsService
from app.models.services.versions import VersionService, current_document
from app.models.store.schema import Audience, AudienceVersion


@pytest.fixture
def versions(store, audiences: AudienceService) -> VersionService:
    return VersionService(store, lambda: "maria", lambda name_or_id: audiences.get(name_or_id).id)


def _criteria(times: int) -> dict:
    document = editing.new_document()
    node = editing.new_node(document, "purchase")
    node["frequency"] = {"operator": "ge", "value": times}
    return editing.insert(document, "root", 0, node)


def test_each_save_that_changes_something_is_a_version_and_identical_saves_are_not(
        audiences, versions, retail) -> None:
    audience = audiences.create("Buyers", workspace_ids=[retail.id], criteria=_criteria(2))
    audiences.update(audience.id, criteria=_criteria(2))  # the same content: no version
    audiences.update(audience.id, criteria=_criteria(3), tags=["q2"])
    audiences.add_tag(audience.id, "q2")  # has it already: no version
    audiences.rename(audience.id, "Big buyers")
    history = versions.history("big buyers")
    assert [v.number for v in history.versions] == [1, 2, 3]
    assert [v.saved_by for v in history.versions] == ["maria"] * 3
    assert history.versions[0].document["criteria"] == _criteria(2)
    assert history.versions[1].document["tags"] == ["q2"]
    assert history.versions[2].document["name"] == "Big buyers"
    assert history.versions[0].saved_at < history.versions[1].saved_at < history.versions[2].saved_at


def test_who_saved_is_the_authors_name_at_the_time(store, retail) -> None:
    who = iter(["maria", "maria@team.example"])
    service = AudienceService(store, user="maria", author=lambda: next(who))
    audience = service.create("Buyers", workspace_ids=[retail.id])
    service.activate(audience.id)
    found = VersionService(store, lambda: "x", lambda _: audience.id).history(audience.id)
    assert [v.saved_by for v in found.versions] == ["maria", "maria@team.example"]


def test_segment_settings_are_part_of_a_version(store, audiences, versions, retail) -> None:
    audience = audiences.create("Buyers", workspace_ids=[retail.id])
    SegmentSettingsService(store, "maria").update(audience.id, visibility="public", cpm="2.50", expiration_days=90)
    texts = [c.text for c in versions.diff("Buyers", 1, 2)]
    assert texts == ["Expiration: never → 90 days", "Visibility: private → public", "CPM: no price → $2.50"]


def test_the_difference_of_two_versions_in_words(audiences, versions, retail) -> None:
    audience = audiences.create("Buyers", workspace_ids=[retail.id], criteria=_criteria(2))
    audiences.update(audience.id, criteria=_criteria(3))
    assert [c.text for c in versions.diff("Buyers", 1, 2)] == [
        "Purchase in the last 30 days: at least 2 times → at least 3 times"]
    assert [c.text for c in versions.diff("Buyers", 2, 1)] == [
        "Purchase in the last 30 days: at least 3 times → at least 2 times"]
    assert versions.diff("Buyers", 2, 2) == []


def test_restoring_saves_a_new_version_and_never_rewrites_history(store, audiences, versions, retail) -> None:
    audience = audiences.create("Buyers", workspace_ids=[retail.id], criteria=_criteria(2), input_ids=[retail.inputs[0].id])
    audiences.update(audience.id, name="Big buyers", criteria=_criteria(3), tags=["q2"], input_ids=[])
    before = versions.history(audience.id).versions
    restored = versions.restore("Big buyers", 1)
    assert restored.number == 3 and restored.note == "restored version 1"
    after = versions.history(audience.id).versions
    assert after[:2] == before
    assert after[2].document == before[0].document
    now = audiences.get(audience.id)
    assert (now.name, now.criteria, now.tags, now.input_ids) == ("Buyers", _criteria(2), (), (retail.inputs[0].id,))
    assert versions.restore("Buyers", 3) is None  # says that already: nothing added
    assert len(versions.history(audience.id).versions) == 3
    versions.restore("Buyers", 2)  # the undo of a restore is a restore too
    assert audiences.get(audience.id).name == "Big buyers"
    assert len(versions.history(audience.id).versions) == 4


def test_undoing_a_delete_brings_the_history_back(audiences, versions, retail) -> None:
    audience = audiences.create("Buyers", workspace_ids=[retail.id])
    audiences.activate(audience.id)
    kept = versions.history(audience.id).versions
    snapshot = audiences.delete(audience.id)
    audiences.create("Other", workspace_ids=[retail.id])  # takes the next version id; the restored ones keep theirs
    audiences.restore(snapshot)
    assert versions.history(audience.id).versions == kept


def test_bad_input_is_named(audiences, versions, retail) -> None:
    audiences.create("Buyers", workspace_ids=[retail.id])
    with pytest.raises(NotFound, match='There is no audience named "Byers". Did you mean "Buyers"?'):
        versions.history("Byers")
    with pytest.raises(NotFound, match='Audience "Buyers" has versions 1 to 1; there is no version 7.'):
        versions.diff("Buyers", 1, 7)
    with pytest.raises(NotFound, match="there is no version 0"):
        versions.restore("Buyers", 0)


def test_restore_refuses_a_name_another_audience_took_and_changes_nothing(audiences, versions, retail) -> None:
    audience = audiences.create("Buyers", workspace_ids=[retail.id])
    audiences.rename(audience.id, "Old buyers")
    audiences.create("Buyers", workspace_ids=[retail.id])
    with pytest.raises(InvalidInput, match='Version 1 of "Old buyers" is named "Buyers", which audience .* is called now'):
        versions.restore("Old buyers", 1)
    assert len(versions.history("Old buyers").versions) == 2
    assert audiences.get(audience.id).name == "Old buyers"


def test_a_version_from_a_newer_app_cannot_be_restored(store, audiences, versions, retail) -> None:
    audience = audiences.create("Buyers", workspace_ids=[retail.id])
    audiences.activate(audience.id)
    with store.transaction() as session:
        row = session.query(AudienceVersion).filter_by(audience_id=audience.id).order_by(AudienceVersion.saved_at).first()
        row.document = row.document | {"format": 2}
    with pytest.raises(InvalidInput, match="saved by a newer Audience Studio"):
        versions.restore("Buyers", 1)
    assert audiences.get(audience.id).status == "active"


def test_the_migration_gives_existing_audiences_a_first_version(store_path, store, audiences, retail) -> None:
    import sqlite3
    from contextlib import closing

    from alembic import command

    from app.models.store.db import alembic_config, open_store

    audience = audiences.create("Buyers", workspace_ids=[retail.id], criteria=_criteria(2), tags=["q2"],
                                input_ids=[retail.inputs[3].id])
    store.close()
    config = alembic_config(f"sqlite:///{store_path}")
    command.downgrade(config, "0008")
    command.upgrade(config, "head")
    with closing(sqlite3.connect(store_path)) as db:
        assert db.execute("SELECT audience_id, saved_by, note FROM audience_versions").fetchall() == [
            (audience.id, "maria", "first version (the history starts here)")]
    reopened = open_store(store_path)
    try:
        with reopened.transaction() as session:
            row = session.query(AudienceVersion).one()
            # Built by the migration's own frozen rules, it says exactly what the app says of the audience now.
            assert row.document == current_document(session, session.get(Audience, audience.id))
    finally:
        reopened.close()


# -- the property: restoring gives back the same document -------------------------------------------

_names = itertools.count()


@st.composite
def saves(draw, input_ids: list[int]) -> dict:
    visibility = draw(st.sampled_from(["private", "public"]))
    return {"name": draw(st.sampled_from(["A", "B", "C"])), "status": draw(st.sampled_from(["draft", "active", "inactive"])),
            "tags": draw(st.lists(st.sampled_from(["q1", "q2", "winback"]), unique=True)),
            "inputs": draw(st.lists(st.sampled_from(input_ids), unique=True)),
            "times": draw(st.integers(1, 4)), "external": draw(st.sampled_from([None, "Ext"])),
            "segment": {"visibility": visibility, "expiration_days": draw(st.sampled_from([None, 30])),
                        "cpm": draw(st.sampled_from([None, "2.50"])) if visibility == "public" else None}}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_restoring_any_version_gives_back_its_document(store, audiences, versions, retail, data) -> None:
    input_ids = [i.id for i in retail.inputs]
    prefix = f"P{next(_names)} "
    audience = audiences.create(prefix + "start", workspace_ids=[retail.id])
    segments = SegmentSettingsService(store, "maria")
    for save in data.draw(st.lists(saves(input_ids), min_size=1, max_size=4)):
        audiences.update(audience.id, name=prefix + save["name"], status=save["status"], tags=save["tags"],
                         input_ids=save["inputs"], criteria=_criteria(save["times"]), external_name=save["external"])
        segments.update(audience.id, visibility=save["segment"]["visibility"], cpm=save["segment"]["cpm"],
                        expiration_days=save["segment"]["expiration_days"])
    history = versions.history(audience.id)
    number = data.draw(st.integers(1, len(history.versions)))
    chosen = copy.deepcopy(history.version(number).document)
    versions.restore(audience.id, number)
    after = versions.history(audience.id)
    assert after.versions[-1].document == chosen
    assert after.versions[:len(history.versions)] == history.versions
    with store.transaction() as session:
        assert current_document(session, session.get(Audience, audience.id)) == chosen


def test_a_version_naming_an_input_this_laptop_lacks_is_refused_by_name(store, audiences, versions, retail) -> None:
    # A teammate's version (received by a sync) may choose an input their workspace has and this one lacks.
    from app.models.store.db import utc_now

    audience = audiences.create("Buyers", workspace_ids=[retail.id])
    with store.transaction() as session:
        document = current_document(session, session.get(Audience, audience.id))
        document = document | {"inputs": [{"kind": "feed", "name": "Loyalty"}], "status": "active"}
        session.add(AudienceVersion(audience_id=audience.id, ref="from-a-teammate", saved_by="ann", saved_at=utc_now(),
                                    document=document, on_server=True))
    with pytest.raises(InvalidInput, match='Version 2 of "Buyers" uses the input "Loyalty" \\(feed\\), which this '
                                           "audience's workspaces here do not have"):
        versions.restore("Buyers", 2)
    assert audiences.get(audience.id).status == "draft"
    assert len(versions.history("Buyers").versions) == 2
