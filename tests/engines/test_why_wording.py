"""Why's evidence says operators in words ("at least 2 times", "less than 2"), as the cards do, not "ge 2"."""

from __future__ import annotations

import pytest

from app.builder.calculated import CalculatedAttribute
from app.engines.home import OpenHome
from app.engines.insights.subjects import Subject
from app.engines.insights.why import explain
from app.paths import Home
from tests.builder.test_compiler_examples import NOW, doc
from tests.builder.workspaces import load
from tests.engines.test_insights import HOUR, SESSIONS_48H, person


@pytest.fixture
def opened(home_dir: Home):
    with OpenHome.open(home_dir, user="maria") as home:
        us = home.workspaces.create("US", [("platform", "iOS")])
        load(home.cache, [(us.id, person(1, "ada@example.com", "gold", "iOS", [NOW - 2 * HOUR, NOW - 5 * HOUR]))])
        yield home, us


def test_the_evidence_names_comparisons_in_words(opened):
    home, us = opened
    home.calculated_attributes.create(us.id, CalculatedAttribute("Sessions", "count", "session_start", None, None, 30))
    often = {**SESSIONS_48H, "frequency": {"operator": "ge", "value": 2}}
    fewer = {"id": "few", "type": "user_attribute", "attribute": "Sessions", "calculated": True, "operator": "lt", "value": 2}
    draft = Subject.draft(doc(often, fewer), [us.id])

    nodes = {n.node_id: n for n in explain(home, draft, 1, now=NOW).nodes}

    assert nodes["s"].evidence.endswith("; needs at least 2 times")
    assert nodes["few"].evidence.endswith("compared: less than 2")
    assert " ge " not in nodes["s"].evidence and " lt " not in nodes["few"].evidence
