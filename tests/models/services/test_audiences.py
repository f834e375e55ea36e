"""Tests for AudienceService: creating, finding, listing, editing, tagging, cloning, deleting and restoring."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput, NotFound
from app.models.services.audiences import MAX_TAG_LENGTH, AudienceInfo, AudienceService
from app.models.store.db import Store
from app.models.store.schema import empty_criteria
from app.models.services.workspaces import WorkspaceInfo


def input_id(workspace: WorkspaceInfo, name: str) -> int:
    return next(i.id for i in workspace.inputs if i.name == name)


def criteria_with_country() -> dict:
    criteria = empty_criteria()
    criteria["root"]["children"].append(
        {"id": "c1", "type": "location", "field": "country", "operator": "equals", "value": "FR"}
    )
    return criteria


@pytest.fixture
def lapsed(audiences: AudienceService, retail: WorkspaceInfo) -> AudienceInfo:
    return audiences.create(
        "Lapsed buyers",
        workspace_ids=[retail.id],
        input_ids=[input_id(retail, "iOS"), input_id(retail, "CRM")],
        tags=["winback", "q2"],
    )


# -- create ----------------------------------------------------------------------------------------


def test_create_fills_in_defaults_and_the_services_user(audiences: AudienceService, retail) -> None:
    audience = audiences.create("  Lapsed buyers ", workspace_ids=[retail.id])
    assert audience.name == "Lapsed buyers"
    assert audience.external_name is None
    assert audience.effective_external_name == "Lapsed buyers"
    assert (audience.scope, audience.kind, audience.status) == ("single", "realtime", "draft")
    assert audience.criteria == empty_criteria()
    assert audience.workspace_ids == (retail.id,)
    assert audience.input_ids == ()
    assert audience.tags == ()
    assert audience.created_by == "maria"
    assert audience.created_at.tzinfo is not None
    assert audience.updated_at == audience.created_at


def test_create_keeps_external_name_inputs_tags_and_criteria(audiences: AudienceService, retail) -> None:
    ios, crm = input_id(retail, "iOS"), input_id(retail, "CRM")
    audience = audiences.create(
        "French users",
        external_name="FR users (studio)",
        workspace_ids=[retail.id],
        input_ids=[crm, ios, crm],
        criteria=criteria_with_country(),
        tags=[" zeta ", "alpha", "zeta"],
        status="active",
    )
    assert audiences.get(audience.id) == audience
    assert audience.effective_external_name == "FR users (studio)"
    assert audience.input_ids == tuple(sorted([ios, crm]))
    assert audience.tags == ("alpha", "zeta")
    assert audience.criteria == criteria_with_country()
    assert audience.status == "active"


def test_returned_criteria_are_a_copy(audiences: AudienceService, lapsed) -> None:
    lapsed.criteria["root"]["children"].append({"id": "x"})
    assert audiences.get(lapsed.id).criteria == empty_criteria()


def test_create_refuses_a_duplicate_name_ignoring_case_and_names_the_clash(
    audiences: AudienceService, retail, lapsed
) -> None:
    with pytest.raises(InvalidInput, match=rf'An audience named "Lapsed buyers" \(id {lapsed.id}\) already exists'):
        audiences.create("LAPSED BUYERS", workspace_ids=[retail.id])


def test_create_refuses_empty_and_too_long_names(audiences: AudienceService, retail) -> None:
    with pytest.raises(InvalidInput, match="An audience needs a name"):
        audiences.create("  ", workspace_ids=[retail.id])
    with pytest.raises(InvalidInput, match="is 101 characters; names are at most 100 characters"):
        audiences.create("a" * 101, workspace_ids=[retail.id])
    assert audiences.create("a" * 100, workspace_ids=[retail.id]).name == "a" * 100


def test_single_scope_needs_exactly_one_workspace(audiences: AudienceService, retail, travel) -> None:
    with pytest.raises(InvalidInput, match="needs exactly one workspace; 2 were given"):
        audiences.create("Everyone", scope="single", workspace_ids=[retail.id, travel.id])
    with pytest.raises(InvalidInput, match="needs exactly one workspace; 0 were given"):
        audiences.create("Everyone", scope="single", workspace_ids=[])


def test_multi_scope_needs_at_least_two_workspaces(audiences: AudienceService, retail, travel) -> None:
    with pytest.raises(InvalidInput, match="needs at least two workspaces; 1 was given"):
        audiences.create("Everyone", scope="multi", workspace_ids=[retail.id, retail.id])
    audience = audiences.create("Everyone", scope="multi", workspace_ids=[travel.id, retail.id])
    assert set(audience.workspace_ids) == {retail.id, travel.id}


def test_unknown_scope_status_and_workspace_are_refused(audiences: AudienceService, retail) -> None:
    with pytest.raises(InvalidInput, match='scope "global" is not known; use one of: single, multi'):
        audiences.create("A", scope="global", workspace_ids=[retail.id])
    with pytest.raises(InvalidInput, match='status "live" is not known'):
        audiences.create("A", workspace_ids=[retail.id], status="live")
    with pytest.raises(NotFound, match="no workspace with id 99"):
        audiences.create("A", workspace_ids=[99])


def test_inputs_of_another_workspace_are_refused(audiences: AudienceService, retail, travel) -> None:
    with pytest.raises(InvalidInput, match='Input "Web" \\(platform\\) belongs to workspace "Travel"'):
        audiences.create("A", workspace_ids=[retail.id], input_ids=[input_id(travel, "Web")])
    with pytest.raises(NotFound, match="no input with id 999"):
        audiences.create("A", workspace_ids=[retail.id], input_ids=[999])


def test_multi_workspace_audience_may_use_inputs_of_each_workspace(audiences: AudienceService, retail, travel) -> None:
    inputs = [input_id(retail, "CRM"), input_id(travel, "Web")]
    audience = audiences.create("Web and CRM", scope="multi", workspace_ids=[retail.id, travel.id], input_ids=inputs)
    assert audience.input_ids == tuple(sorted(inputs))


def test_criteria_must_have_version_and_root(audiences: AudienceService, retail) -> None:
    with pytest.raises(InvalidInput, match='"version" and a "root"'):
        audiences.create("A", workspace_ids=[retail.id], criteria={"root": {}})
    with pytest.raises(InvalidInput, match='"version" and a "root"'):
        audiences.create("A", workspace_ids=[retail.id], criteria=["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="cannot be saved"):
        audiences.create("A", workspace_ids=[retail.id], criteria={"version": 1, "root": {1, 2}})


def test_malformed_criteria_are_refused_naming_the_node(audiences: AudienceService, retail) -> None:
    criteria = criteria_with_country()
    criteria["root"]["children"][0]["operator"] = "is"
    with pytest.raises(InvalidInput, match="node 'c1'.*'is' is not one of"):
        audiences.create("A", workspace_ids=[retail.id], criteria=criteria)
    assert audiences.list() == [] or all(a.name != "A" for a in audiences.list())


def test_created_by_can_be_given_explicitly(audiences: AudienceService, retail) -> None:
    assert audiences.create("A", workspace_ids=[retail.id], created_by="import").created_by == "import"


# -- tags ------------------------------------------------------------------------------------------


def test_tag_of_19_characters_is_refused_with_the_limit(audiences: AudienceService, retail, lapsed) -> None:
    tag = "springsale-2026-pro"
    assert len(tag) == MAX_TAG_LENGTH + 1
    expected = f'Tag "{tag}" is 19 characters; tags are at most 18 characters.'
    with pytest.raises(InvalidInput) as refused:
        audiences.add_tag(lapsed.id, tag)
    assert str(refused.value) == expected
    with pytest.raises(InvalidInput, match="tags are at most 18 characters"):
        audiences.create("B", workspace_ids=[retail.id], tags=[tag])
    assert audiences.get(lapsed.id).tags == ("q2", "winback")


def test_tag_of_18_characters_is_kept_whole(audiences: AudienceService, lapsed) -> None:
    assert "springsale-2026-pr" in audiences.add_tag(lapsed.id, " springsale-2026-pr ").tags


def test_empty_tag_is_refused(audiences: AudienceService, lapsed) -> None:
    with pytest.raises(InvalidInput, match="A tag cannot be empty"):
        audiences.add_tag(lapsed.id, "   ")


def test_tags_are_case_sensitive_and_duplicates_are_ignored(
    audiences: AudienceService, lapsed, recorded_events
) -> None:
    audiences.add_tag(lapsed.id, "Q2")
    after = audiences.add_tag(lapsed.id, "q2")
    assert after.tags == ("Q2", "q2", "winback")
    assert recorded_events == [("audience_changed", lapsed.id)]


def test_remove_tag_removes_it_and_an_absent_tag_is_reported(audiences: AudienceService, lapsed) -> None:
    assert audiences.remove_tag(lapsed.id, "q2").tags == ("winback",)
    with pytest.raises(NotFound, match='has no tag "q2"; its tags are: "winback"'):
        audiences.remove_tag(lapsed.id, "q2")


def test_all_tags_lists_each_tag_once_sorted(audiences: AudienceService, retail, lapsed) -> None:
    audiences.create("B", workspace_ids=[retail.id], tags=["winback", "loyal"])
    assert audiences.all_tags() == ["loyal", "q2", "winback"]


# -- get and list ----------------------------------------------------------------------------------


def test_get_by_id_digits_or_name_ignoring_case(audiences: AudienceService, lapsed) -> None:
    assert audiences.get(lapsed.id) == lapsed
    assert audiences.get(str(lapsed.id)) == lapsed
    assert audiences.get("  lapsed BUYERS ") == lapsed


def test_get_with_digits_falls_back_to_a_name(audiences: AudienceService, retail, lapsed) -> None:
    named_2026 = audiences.create("2026", workspace_ids=[retail.id])
    assert audiences.get("2026") == named_2026


def test_get_unknown_name_suggests_a_close_one(audiences: AudienceService, lapsed) -> None:
    with pytest.raises(NotFound, match='no audience named "Lapsed buyer". Did you mean "Lapsed buyers"\\?'):
        audiences.get("Lapsed buyer")
    with pytest.raises(NotFound, match="no audience with id 4242"):
        audiences.get("4242")
    with pytest.raises(NotFound, match="no audience with id 4242"):
        audiences.get(4242)


def test_list_filters_by_all_of_two_tags(audiences: AudienceService, retail) -> None:
    audiences.create("Both", workspace_ids=[retail.id], tags=["winback", "q2", "vip"])
    audiences.create("Only winback", workspace_ids=[retail.id], tags=["winback"])
    audiences.create("Only q2", workspace_ids=[retail.id], tags=["q2"])
    audiences.create("Also both", workspace_ids=[retail.id], tags=["q2", "winback"])
    assert [a.name for a in audiences.list(tags_all=["winback", "q2"])] == ["Also both", "Both"]
    assert [a.name for a in audiences.list(tags_all=["winback", "missing"])] == []


def test_list_searches_names_ignoring_case(audiences: AudienceService, retail) -> None:
    for name in ("Lapsed buyers", "Big spenders", "Lapsed app users"):
        audiences.create(name, workspace_ids=[retail.id])
    assert [a.name for a in audiences.list(search="LAPSED")] == ["Lapsed app users", "Lapsed buyers"]
    assert [a.name for a in audiences.list()] == ["Big spenders", "Lapsed app users", "Lapsed buyers"]


def test_list_filters_by_scope_together_with_tags_and_search(audiences: AudienceService, retail, travel) -> None:
    audiences.create("Single vip", workspace_ids=[retail.id], tags=["vip"])
    audiences.create("Multi vip", scope="multi", workspace_ids=[retail.id, travel.id], tags=["vip"])
    audiences.create("Multi other", scope="multi", workspace_ids=[retail.id, travel.id])
    assert [a.name for a in audiences.list(scope="multi")] == ["Multi other", "Multi vip"]
    assert [a.name for a in audiences.list(scope="multi", tags_all=["vip"], search="vip")] == ["Multi vip"]


# -- edits -----------------------------------------------------------------------------------------


def test_rename_changes_the_name_and_updated_at(audiences: AudienceService, lapsed) -> None:
    renamed = audiences.rename(lapsed.id, "Lapsed shoppers")
    assert renamed.name == "Lapsed shoppers"
    assert renamed.updated_at > lapsed.updated_at
    assert renamed.created_at == lapsed.created_at
    assert audiences.get("lapsed shoppers") == renamed


def test_rename_may_change_only_the_case_of_its_own_name(audiences: AudienceService, lapsed) -> None:
    assert audiences.rename(lapsed.id, "LAPSED BUYERS").name == "LAPSED BUYERS"


def test_rename_to_another_audiences_name_is_refused(audiences: AudienceService, retail, lapsed) -> None:
    other = audiences.create("Big spenders", workspace_ids=[retail.id])
    with pytest.raises(InvalidInput, match='An audience named "Lapsed buyers"'):
        audiences.rename(other.id, "lapsed buyers")
    assert audiences.get(other.id) == other


def test_external_name_can_be_set_and_cleared(audiences: AudienceService, lapsed) -> None:
    named = audiences.set_external_name(lapsed.id, "  Lapsed (Studio) ")
    assert (named.external_name, named.effective_external_name) == ("Lapsed (Studio)", "Lapsed (Studio)")
    cleared = audiences.set_external_name(lapsed.id, "")
    assert (cleared.external_name, cleared.effective_external_name) == (None, "Lapsed buyers")


def test_set_criteria_replaces_the_document(audiences: AudienceService, lapsed) -> None:
    assert audiences.set_criteria(lapsed.id, criteria_with_country()).criteria == criteria_with_country()
    assert audiences.get(lapsed.id).criteria == criteria_with_country()
    with pytest.raises(InvalidInput, match='"version" and a "root"'):
        audiences.set_criteria(lapsed.id, {"version": 1})


def test_set_inputs_replaces_them_and_refuses_another_workspaces(
    audiences: AudienceService, retail, travel, lapsed
) -> None:
    assert audiences.set_inputs(lapsed.id, [input_id(retail, "Web")]).input_ids == (input_id(retail, "Web"),)
    with pytest.raises(InvalidInput, match='belongs to workspace "Travel"'):
        audiences.set_inputs(lapsed.id, [input_id(travel, "iOS")])
    assert audiences.set_inputs(lapsed.id, []).input_ids == ()


def test_activate_and_deactivate_set_the_status(audiences: AudienceService, lapsed) -> None:
    assert audiences.activate(lapsed.id).status == "active"
    assert audiences.deactivate(lapsed.id).status == "inactive"


def test_editing_a_missing_audience_is_not_found(audiences: AudienceService) -> None:
    with pytest.raises(NotFound, match="no audience with id 7; it may have been deleted"):
        audiences.rename(7, "X")


def test_every_write_updates_updated_at(audiences: AudienceService, retail, lapsed) -> None:
    writes = [
        lambda: audiences.rename(lapsed.id, "Lapsed 2"),
        lambda: audiences.set_external_name(lapsed.id, "Ext"),
        lambda: audiences.set_criteria(lapsed.id, criteria_with_country()),
        lambda: audiences.set_inputs(lapsed.id, [input_id(retail, "Web")]),
        lambda: audiences.add_tag(lapsed.id, "new"),
        lambda: audiences.remove_tag(lapsed.id, "new"),
        lambda: audiences.activate(lapsed.id),
        lambda: audiences.deactivate(lapsed.id),
    ]
    previous = lapsed.updated_at
    for write in writes:
        updated = write().updated_at
        assert updated > previous
        previous = updated


# -- clone, delete, restore ------------------------------------------------------------------------


def test_clone_keeps_tags_and_gets_unique_name(audiences: AudienceService, store: Store, lapsed) -> None:
    audiences.activate(lapsed.id)
    audiences.set_external_name(lapsed.id, "Lapsed ext")
    audiences.set_criteria(lapsed.id, criteria_with_country())
    cloner = AudienceService(store, user="li")
    first = cloner.clone(lapsed.id)
    second = cloner.clone(lapsed.id)
    copy_of_copy = cloner.clone(first.id)
    assert [first.name, second.name, copy_of_copy.name] == [
        "Lapsed buyers (copy)",
        "Lapsed buyers (copy 2)",
        "Lapsed buyers (copy 3)",
    ]
    assert first.tags == lapsed.tags
    assert first.input_ids == lapsed.input_ids
    assert first.workspace_ids == lapsed.workspace_ids
    assert first.criteria == criteria_with_country()
    assert (first.status, first.created_by, first.external_name) == ("draft", "li", None)
    assert first.id != lapsed.id


def test_clone_of_a_name_at_the_length_limit_stays_within_it(audiences: AudienceService, retail) -> None:
    long = audiences.create("n" * 100, workspace_ids=[retail.id])
    clone = audiences.clone(long.id)
    assert len(clone.name) == 100
    assert clone.name.endswith(" (copy)")


def test_delete_then_restore_gives_back_the_same_audience(audiences: AudienceService, retail, lapsed) -> None:
    audiences.activate(lapsed.id)
    before = audiences.get(lapsed.id)
    snapshot = audiences.delete(lapsed.id)
    with pytest.raises(NotFound):
        audiences.get(lapsed.id)
    assert audiences.all_tags() == []
    restored = audiences.restore(snapshot)
    assert restored == before
    assert audiences.get("Lapsed buyers") == before


def test_deleted_ids_are_not_reused_so_restore_gets_its_id_back(audiences: AudienceService, retail, lapsed) -> None:
    snapshot = audiences.delete(lapsed.id)
    newer = audiences.create("Newer", workspace_ids=[retail.id])
    assert newer.id != lapsed.id
    assert audiences.restore(snapshot).id == lapsed.id


def test_restore_is_refused_when_the_name_was_taken_meanwhile(audiences: AudienceService, retail, lapsed) -> None:
    snapshot = audiences.delete(lapsed.id)
    audiences.create("lapsed buyers", workspace_ids=[retail.id])
    with pytest.raises(InvalidInput, match='An audience named "lapsed buyers"'):
        audiences.restore(snapshot)


def test_restore_twice_is_refused(audiences: AudienceService, lapsed) -> None:
    snapshot = audiences.delete(lapsed.id)
    audiences.restore(snapshot)
    with pytest.raises(InvalidInput, match="cannot be restored"):
        audiences.restore(snapshot)


# -- events and failures ---------------------------------------------------------------------------


def test_writes_emit_events_after_commit(audiences: AudienceService, retail, recorded_events) -> None:
    audience = audiences.create("A", workspace_ids=[retail.id])
    audiences.rename(audience.id, "B")
    clone = audiences.clone(audience.id)
    snapshot = audiences.delete(audience.id)
    audiences.restore(snapshot)
    assert recorded_events == [
        ("audience_added", audience.id),
        ("audience_changed", audience.id),
        ("audience_added", clone.id),
        ("audience_removed", audience.id),
        ("audience_added", audience.id),
    ]


def test_subscribers_see_the_committed_audience(audiences: AudienceService, store: Store, retail) -> None:
    seen: list[AudienceInfo] = []
    store.events.subscribe(lambda kind, audience_id: seen.append(audiences.get(audience_id)))
    created = audiences.create("A", workspace_ids=[retail.id], tags=["t"])
    assert seen == [created]


def test_writes_that_change_nothing_emit_nothing(audiences: AudienceService, lapsed, recorded_events) -> None:
    audiences.rename(lapsed.id, "Lapsed buyers")
    audiences.add_tag(lapsed.id, "q2")
    audiences.deactivate(lapsed.id)
    assert audiences.deactivate(lapsed.id).updated_at > lapsed.updated_at
    assert recorded_events == [("audience_changed", lapsed.id)]


def test_a_failing_write_leaves_the_store_unchanged_and_emits_nothing(
    audiences: AudienceService, retail, lapsed, recorded_events
) -> None:
    other = audiences.create("Big spenders", workspace_ids=[retail.id], tags=["vip"])
    recorded_events.clear()
    before = audiences.list()
    with pytest.raises(InvalidInput):
        audiences.create("big SPENDERS", workspace_ids=[retail.id], tags=["new"])
    with pytest.raises(InvalidInput):
        audiences.rename(other.id, "Lapsed buyers")
    with pytest.raises(NotFound):
        audiences.remove_tag(other.id, "absent")
    assert audiences.list() == before
    assert audiences.all_tags() == ["q2", "vip", "winback"]
    assert recorded_events == []


def test_audiences_survive_reopening_the_store(store_path, retail, lapsed, store: Store) -> None:
    from app.models.store.db import open_store

    store.close()
    with open_store(store_path) as reopened:
        assert AudienceService(reopened, user="maria").get(lapsed.id) == lapsed


def test_list_filters_by_workspace(audiences: AudienceService, retail, travel) -> None:
    audiences.create("Retail only", workspace_ids=[retail.id])
    audiences.create("Travel only", workspace_ids=[travel.id])
    audiences.create("Both", scope="multi", workspace_ids=[retail.id, travel.id])
    assert [a.name for a in audiences.list(workspace_id=travel.id)] == ["Both", "Travel only"]


# -- update: several details in one transaction ------------------------------------------------------


def test_update_changes_every_given_detail_at_once(audiences: AudienceService, retail, lapsed, recorded_events) -> None:
    web = input_id(retail, "Web")
    updated = audiences.update(
        lapsed.id, name="Win-back", external_name="winback_90d", criteria=criteria_with_country(),
        input_ids=[web], tags=["q2", "spring"], status="active",
    )
    assert (updated.name, updated.external_name, updated.input_ids, updated.tags, updated.status) == (
        "Win-back", "winback_90d", (web,), ("q2", "spring"), "active")
    assert updated.criteria == criteria_with_country()
    assert updated.updated_at > lapsed.updated_at
    assert audiences.get(lapsed.id) == updated
    # One transaction, one event.
    assert recorded_events[-1:] == [("audience_changed", lapsed.id)]
    assert recorded_events.count(("audience_changed", lapsed.id)) == 1


def test_update_leaves_what_is_not_given_as_it_was(audiences: AudienceService, lapsed) -> None:
    updated = audiences.update(lapsed.id, external_name="lapsed_ext")
    assert updated.external_name == "lapsed_ext"
    assert (updated.name, updated.input_ids, updated.tags, updated.criteria, updated.status) == (
        lapsed.name, lapsed.input_ids, lapsed.tags, lapsed.criteria, lapsed.status)
    assert audiences.update(lapsed.id, external_name=None).external_name is None


def test_update_that_changes_nothing_keeps_updated_at_and_emits_nothing(
    audiences: AudienceService, lapsed, recorded_events
) -> None:
    before = list(recorded_events)
    same = audiences.update(lapsed.id, name=lapsed.name, tags=list(lapsed.tags), input_ids=lapsed.input_ids)
    assert same.updated_at == lapsed.updated_at
    assert recorded_events == before


def test_update_refused_in_one_part_writes_none_of_it(audiences: AudienceService, retail, travel, lapsed) -> None:
    audiences.create("Loyal shoppers", workspace_ids=[retail.id])
    with pytest.raises(InvalidInput, match='An audience named "Loyal shoppers"'):
        audiences.update(lapsed.id, criteria=criteria_with_country(), tags=["new"], name="loyal SHOPPERS")
    with pytest.raises(InvalidInput, match="belongs to workspace"):
        audiences.update(lapsed.id, criteria=criteria_with_country(), input_ids=[travel.inputs[0].id])
    with pytest.raises(InvalidInput, match="at most 18 characters"):
        audiences.update(lapsed.id, name="Renamed", tags=["x" * (MAX_TAG_LENGTH + 1)])
    assert audiences.get(lapsed.id) == lapsed
