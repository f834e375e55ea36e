"""Property tests: the compiler's counts equal an independent Python evaluation (tests/builder/reference.py).

Each example draws a small random workspace (profiles in workspaces 1 and 2, events over ~40 days
around NOW, attributes of every type with % _ \\ * ? and mixed case, identities, devices with
versions, locations, consent, attribution), imports it through the real importer into a fresh
cache, then draws several random documents (depth <= 3, every criterion type but audience
membership) and scopes, and compares the exact estimate's count and every node's count.

A failure prints the document, the scope, the nodes whose counts differ and, for the innermost of
them, the users on which compiler and reference disagree with their rows.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.builder.catalog import load_catalog
from app.builder.compiler import Scope, members_query
from app.builder.document import CriteriaError, walk
from app.builder.estimator import Estimator
from tests.builder.documents import CALCULATED, Facts, documents
from tests.builder.reference import CacheData, Reference
from tests.builder.workspaces import NOW, load, new_cache, workspace_batches

DOCUMENTS_PER_WORKSPACE = 8

# (workspace ids, inputs): single and multi-workspace audiences, with and without chosen inputs.
SCOPES = [
    ((1,), {}), ((1,), {}), ((1, 2), {}), ((2, 1), {}),
    ((1,), {1: ("iOS",)}), ((1,), {1: ("crm", "Web")}), ((1, 2), {1: ("iOS", "crm"), 2: ("Android",)}),
]



def _explain(cursor, tables: CacheData, reference: Reference, document: dict, scope: Scope, catalog,
             expected: dict[str, int], actual: dict[str, int]) -> str:
    differing = [node_id for node_id in expected if expected.get(node_id) != actual.get(node_id)]
    lines = [
        "compiler and reference disagree",
        f"scope: workspaces={scope.workspace_ids} inputs={dict(scope.inputs)} realtime_days={scope.realtime_days} now={NOW.isoformat()}",
        "document:", json.dumps(document, indent=1, ensure_ascii=False),
        "node counts (id: reference / compiler): " + ", ".join(
            f"{n}: {expected.get(n)} / {actual.get(n)}" + (" <--" if n in differing else "") for n in expected),
    ]
    # The innermost differing node (nodes are counted children first): show who differs and why.
    nodes = {node["id"]: node for _, node in walk(document["root"])}
    # "(audience)" is the count query's answer, "root" the per-node query's: both explained by the root.
    differing = [("root" if node_id == "(audience)" else node_id) for node_id in differing]
    differing = [node_id for node_id in differing if node_id in nodes]
    if differing:
        node = nodes[differing[0]]
        single = {"version": 1, "root": {"id": "explain-root", "type": "group", "match": "all", "children": [node]}}
        if node["id"] == "root":
            single = document
        try:
            sql, params = members_query(single, scope=scope, catalog=catalog, now=NOW)
            compiler_members = {row[0] for row in cursor.execute(sql, params).fetchall()}
            reference_members = set(reference.members(single))
            only_reference = sorted(reference_members - compiler_members)[:3]
            only_compiler = sorted(compiler_members - reference_members)[:3]
            lines.append(f"node {node['id']!r}: only the reference matches {only_reference}; only the compiler matches {only_compiler}")
            for mpid in only_reference + only_compiler:
                lines.append(f"  mpid {mpid}:")
                for table in ("profiles", "attributes", "identities", "devices", "locations", "consent", "attribution", "events"):
                    for row in getattr(tables, table):
                        if row["mpid"] == mpid:
                            shown = {k: v for k, v in row.items() if k not in ("mpid", "event_id", "updated_at", "bucket") and v not in (None, {}, [])}
                            lines.append(f"    {table}: {shown}")
        except Exception as exc:  # the explanation must never hide the failure itself
            lines.append(f"(could not list the differing users: {exc!r})")
    return "\n".join(lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          # No shrinking: a workspace per example makes it take minutes; the failure message already
          # narrows the disagreement down to one node and the users it differs on.
          phases=(Phase.explicit, Phase.reuse, Phase.generate), print_blob=True)
@given(st.data())
def test_exact_counts_match_reference(data):
    batches = data.draw(workspace_batches(), label="batches")
    cache = new_cache()
    try:
        load(cache, batches)
        cursor = cache.cursor()
        calculated = {ws: CALCULATED for ws in (1, 2)}
        catalog = load_catalog(cursor, calculated=calculated)
        tables = CacheData.load(cursor)
        facts = Facts(tables, catalog)
        estimator = Estimator(cache.cursor())
        for index in range(DOCUMENTS_PER_WORKSPACE):
            workspace_ids, inputs = data.draw(st.sampled_from(SCOPES), label=f"scope {index}")
            realtime_days = data.draw(st.sampled_from([30, 30, 7]), label=f"realtime days {index}")
            document = data.draw(documents(facts, workspace_ids), label=f"document {index}")
            scope = Scope(workspace_ids=workspace_ids, inputs=inputs, realtime_days=realtime_days)
            reference = Reference(tables, workspace_ids, NOW, inputs, realtime_days, calculated=calculated)
            expected_count, expected_nodes = reference.evaluate(document)
            try:
                result = estimator.estimate(document, scope=scope, catalog=catalog, now=NOW, exact=True)
            except CriteriaError as exc:
                raise AssertionError(f"the compiler refused a valid document: {exc}\n{json.dumps(document, indent=1)}") from None
            if result.count != expected_count or result.nodes != expected_nodes:
                raise AssertionError(_explain(cursor, tables, reference, document, scope, catalog,
                                              {"(audience)": expected_count, **expected_nodes},
                                              {"(audience)": result.count, **result.nodes}))
            assert result.universe == len(reference.universe)
            if index % 4 == 0:  # the members query (downloads, membership criteria) compiles the same way
                sql, params = members_query(document, scope=scope, catalog=catalog, now=NOW)
                members = {row[0] for row in cursor.execute(sql, params).fetchall()}
                assert members == reference.members(document), json.dumps(document, indent=1)
    finally:
        cache.close()
