"""The difference between two versions of an audience, in words (app/builder/history.py)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.builder import editing
from app.builder.document import problems
from app.builder.history import FORMAT, check_readable, diff, version_document
from app.errors import InvalidInput


def _document(children=(), **settings_) -> dict:
    criteria = editing.new_document()
    criteria["root"]["children"] = [copy.deepcopy(c) for c in children]
    values = {"name": "Buyers", "external_name": None, "kind": "realtime", "status": "draft", "tags": [],
              "inputs": [], "segment": None, "criteria": criteria} | settings_
    return version_document(**values)


def _purchase(times: int, node_id: str = "purchase-1") -> dict:
    node = editing.new_node(editing.new_document(), "purchase")
    node["id"] = node_id
    node["frequency"] = {"operator": "ge", "value": times}
    return node


def _texts(old, new) -> list[str]:
    return [change.text for change in diff(old, new)]


def test_a_changed_count_is_said_in_words() -> None:
    texts = _texts(_document([_purchase(2)]), _document([_purchase(3)]))
    assert len(texts) == 1
    assert texts == ["Purchase in the last 30 days: at least 2 times → at least 3 times"]


def test_cards_and_groups_added_and_removed_are_named_once_per_branch() -> None:
    attribute = editing.new_node(editing.new_document(), "user_attribute")
    group = {"id": "g", "type": "group", "match": "any", "exclude": False, "children": [attribute]}
    old, new = _document([_purchase(2)]), _document([group])
    changes = diff(old, new)
    assert [(c.part, c.how) for c in changes] == [("card", "removed"), ("group", "added")]
    assert changes[0].text == "Card removed: Purchase, at least 2 times, in the last 30 days"
    assert changes[1].text == "Group added: the group “any of 1” (g)"


def test_a_card_moved_into_a_group_is_a_move() -> None:
    other = _purchase(5, "purchase-2")
    old = _document([_purchase(2), {"id": "g", "type": "group", "match": "all", "exclude": False, "children": [other]}])
    new = _document([{"id": "g", "type": "group", "match": "all", "exclude": False, "children": [other, _purchase(2)]}])
    changes = diff(old, new)
    assert [(c.part, c.how) for c in changes] == [("card", "moved")]
    assert "from the top group to" in changes[0].text


def test_settings_changes_are_named() -> None:
    old = _document(name="Buyers", status="draft", tags=["q1"], segment={"visibility": "public", "cpm_cents": 250})
    new = _document(name="Big buyers", status="active", tags=["q2"], segment={"visibility": "public", "cpm_cents": 300,
                                                                                "expiration_days": 90})
    texts = _texts(old, new)
    assert "Name: “Buyers” → “Big buyers”" in texts
    assert "Status: “draft” → “active”" in texts
    assert "Tag added: q2" in texts and "Tag removed: q1" in texts
    assert "CPM: $2.50 → $3.00" in texts
    assert "Expiration: never → 90 days" in texts


def test_a_version_from_a_newer_app_is_refused_by_name() -> None:
    newer = _document() | {"format": FORMAT + 1}
    with pytest.raises(InvalidInput, match="Version 4 of .Buyers. was saved by a newer Audience Studio"):
        check_readable(newer, 'Version 4 of "Buyers"')
    newer_criteria = _document()
    newer_criteria["criteria"]["version"] = 99
    with pytest.raises(InvalidInput, match="criteria document version 99"):
        check_readable(newer_criteria, "Version 2")


# -- the property: empty exactly when equal --------------------------------------------------------

_KINDS = ["purchase", "user_attribute", "session_start", "install", "consent_gdpr", "device", "first_seen"]


@st.composite
def criteria_trees(draw, depth: int = 0) -> dict:
    ids = draw(st.shared(st.builds(lambda: iter(range(10_000))), key="ids"))
    children = []
    for _ in range(draw(st.integers(0 if depth == 0 else 1, 3))):
        if depth < 2 and draw(st.booleans()) and draw(st.booleans()):
            children.append(draw(criteria_trees(depth + 1)))
            continue
        node = editing.new_node(editing.new_document(), draw(st.sampled_from(_KINDS)))
        node["id"] = f"n{next(ids)}"
        node["exclude"] = draw(st.booleans())
        if node.get("window", {}).get("type") == "within":
            node["window"]["amount"] = draw(st.integers(1, 90))
        if draw(st.booleans()):
            node["label"] = draw(st.sampled_from(["VIP", "Recent", "Loyal"]))
        children.append(node)
    node_id = "root" if depth == 0 else f"g{next(ids)}"
    return {"id": node_id, "type": "group", "match": draw(st.sampled_from(["all", "any"])), "exclude": False,
            "children": children}


@st.composite
def version_documents(draw) -> dict:
    criteria = {"version": 1, "root": draw(criteria_trees())}
    visibility = draw(st.sampled_from(["private", "public"]))
    return version_document(
        name=draw(st.sampled_from(["Buyers", "Lapsed", "VIP"])), external_name=draw(st.sampled_from([None, "Ext"])),
        kind="realtime", status=draw(st.sampled_from(["draft", "active", "inactive"])),
        tags=draw(st.lists(st.sampled_from(["q1", "q2", "winback"]), unique=True)),
        inputs=draw(st.lists(st.sampled_from([{"kind": "platform", "name": "iOS"}, {"kind": "feed", "name": "CRM"}]),
                             unique_by=lambda i: i["name"])),
        segment={"visibility": visibility, "expiration_days": draw(st.sampled_from([None, 30, 90])),
                 "cpm_cents": draw(st.sampled_from([None, 250])) if visibility == "public" else None,
                 "category": draw(st.sampled_from([None, "Retail"]))},
        criteria=criteria)


@st.composite
def nearby(draw, document: dict) -> dict:
    """A small edit of `document`, or the same document: pairs that are often equal and often nearly so."""
    changed = copy.deepcopy(document)
    nodes = [node for node in _nodes(changed["criteria"]["root"])]
    how = draw(st.sampled_from(["same", "node field", "remove", "setting", "swap"]))
    if how == "node field":
        node = draw(st.sampled_from(nodes))
        node["exclude"] = not node.get("exclude")
    elif how == "remove" and any(len(n.get("children") or []) > 1 for n in nodes):
        # Never the last child: an empty group is not a valid document (the generator found that once in CI).
        parent = draw(st.sampled_from([n for n in nodes if len(n.get("children") or []) > 1]))
        parent["children"].pop(draw(st.integers(0, len(parent["children"]) - 1)))
    elif how == "setting":
        changed["status"] = "inactive" if changed["status"] != "inactive" else "draft"
    elif how == "swap":
        groups = [n for n in nodes if len(n.get("children") or []) > 1]
        if groups:
            group = draw(st.sampled_from(groups))
            group["children"].reverse()
    return changed


def _nodes(node: dict):
    yield node
    for child in node.get("children") or []:
        yield from _nodes(child)


@st.composite
def pairs(draw) -> tuple[dict, dict]:
    first = draw(version_documents())
    second = draw(st.one_of(nearby(first), version_documents()))
    return first, second


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs())
def test_the_difference_is_empty_exactly_when_the_versions_are_equal(pair) -> None:
    old, new = pair
    assert not problems(old["criteria"]) and not problems(new["criteria"])
    changes = diff(old, new)
    assert (changes == []) == (old == new), changes
    assert all(change.text for change in changes)
    assert (diff(new, old) == []) == (old == new)
