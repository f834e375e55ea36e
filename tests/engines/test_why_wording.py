"""Why's evidence says operators in words ("at least 2 times", "less than 2"), as the cards do, not "ge 2"."""

from __future__ import annotations

from app.engines.insights.subjects import Subject
from app.engines.insights.why import explain
from tests.builder.test_compiler_examples import NOW, doc
from tests.engines.test_insights import SESSIONS_48H, opened  # noqa: F401 - the fixture


def test_the_evidence_names_comparisons_in_words(opened):  # noqa: F811
    from app.builder.calculated import CalculatedAttribute

    home, us, _, _ = opened
    home.calculated_attributes.create(us.id, CalculatedAttribute("Sessions", "count", "session_start", None, None, 30))
    often = {**SESSIONS_48H, "frequency": {"operator": "ge", "value": 2}}
    fewer = {"id": "few", "type": "user_attribute", "attribute": "Sessions", "calculated": True, "operator": "lt", "value": 2}
    draft = Subject.draft(doc(often, fewer), [us.id])

    nodes = {n.node_id: n for n in explain(home, draft, 1, now=NOW).nodes}

    assert nodes["s"].evidence.endswith("; needs at least 2 times")
    assert nodes["few"].evidence.endswith("compared: less than 2")
    assert " ge " not in nodes["s"].evidence and " lt " not in nodes["few"].evidence
