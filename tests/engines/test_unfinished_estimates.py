"""The editing session counts what is finished and says what it left out; activation refuses unfinished parts."""

from __future__ import annotations

import pytest

from app.builder import editing
from app.builder.document import CriteriaError
from app.builder.unfinished import without
from app.engines.editing_session import Draft, EstimateSession, save_draft
from app.engines.estimates import estimate_document
from app.engines.home import OpenHome
from tests.ui.editor_homes import fill_home, multi_group_document

NAME = "Engaged valuable shoppers"


@pytest.fixture
def opened(home_dir):
    ids = fill_home(home_dir, audiences={NAME: multi_group_document()})
    with OpenHome.open(home_dir, user="maria") as home:
        home.ids = ids
        yield home


def _exact(home, document):
    return estimate_document(home, document, workspace_ids=[home.ids["workspace"]], exact=True)


def test_an_unfinished_value_and_an_unknown_attribute_are_left_out_and_named(opened):
    criteria = opened.audiences.get(opened.ids[NAME]).criteria
    criteria = editing.update(criteria, "gold", {"value": ""})          # "tier is …": nothing typed yet
    criteria = editing.update(criteria, "ios", {"field": "platform", "operator": "in", "value": []})
    session = EstimateSession(opened, [opened.ids["workspace"]])
    try:
        estimate = session.estimate(criteria, exact=True)
    finally:
        session.close()

    assert {p.node_id for p in estimate.left_out} == {"gold", "ios"}
    expected = _exact(opened, without(criteria, {"gold", "ios"}))
    assert estimate.count == expected.count and estimate.count > 0
    assert "gold" not in estimate.nodes and "valuable" not in estimate.nodes  # a group of nothing but those goes


def test_nothing_finished_enough_to_count_is_refused_not_counted_as_zero(opened):
    only = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": [
        {"id": "t", "type": "user_attribute", "exclude": False, "attribute": "tier", "operator": "equals", "value": ""}]}}
    session = EstimateSession(opened, [opened.ids["workspace"]])
    try:
        with pytest.raises(CriteriaError, match="type a value to compare with"):
            session.estimate(only, exact=True)
    finally:
        session.close()


def test_activation_refuses_unfinished_parts(opened):
    audience = opened.audiences.get(opened.ids[NAME])
    criteria = editing.update(audience.criteria, "gold", {"value": " "})
    with pytest.raises(CriteriaError, match="type a value"):
        save_draft(opened, audience.id, Draft(audience.name, "", (), (), criteria), activate=True)
    assert opened.audiences.get(audience.id).status != "active"
