"""An audience's saved versions as documents, and the difference between two of them in words.

A version document holds everything a save can change: the name, external name, kind and status, the
tags, the inputs chosen (by kind and name, so it reads the same on every laptop), the segment settings
(expiration, visibility, CPM in cents, category) and the criteria document. `FORMAT` numbers its shape:
a version written by a newer app (a format or criteria document version this app does not know) is
refused by `check_readable` with a message saying so, rather than misread.

`diff` compares two documents and says what changed, in the marketer's words: settings changed, and
cards and groups added, removed, moved and changed ("Purchase: count at least 2 → count at least 3").
Cards are matched by their node ids (the builder keeps a card's id for its life). The result is empty
exactly when the two documents are equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from app.builder.criteria_types import entry_for
from app.builder.document import VERSION as CRITERIA_VERSION
from app.builder.editing import describe, window_words
from app.builder.wording import operator_words, value_words
from app.errors import InvalidInput

#: The shape of version documents this app writes and reads.
FORMAT = 1
#: The settings a version document holds besides its criteria, in the order a diff lists them.
SETTINGS = ("name", "external_name", "kind", "status", "tags", "inputs", "segment")
SEGMENT_SETTINGS = ("expiration_days", "visibility", "cpm_cents", "category")


def version_document(*, name: str, external_name: str | None, kind: str, status: str, tags, inputs,
                     segment: Mapping[str, Any] | None, criteria: Mapping[str, Any]) -> dict[str, Any]:
    """A version document in its one canonical form (tags and inputs sorted), so equal content is equal."""
    segment = segment or {}
    return {
        "format": FORMAT, "name": name, "external_name": external_name or None, "kind": kind, "status": status,
        "tags": sorted(tags),
        "inputs": [{"kind": k, "name": n} for k, n in sorted({(str(i["kind"]), str(i["name"])) for i in inputs})],
        "segment": {"expiration_days": segment.get("expiration_days"),
                    "visibility": segment.get("visibility") or "private",
                    "cpm_cents": segment.get("cpm_cents"), "category": segment.get("category")},
        "criteria": json.loads(json.dumps(criteria)),
    }


def check_readable(document: Any, where: str) -> None:
    """InvalidInput naming `where` unless this app can read the version document."""
    if not isinstance(document, Mapping):
        raise InvalidInput(f"{where}: the version is not a document.")
    fmt = document.get("format")
    criteria = document.get("criteria")
    criteria_version = criteria.get("version") if isinstance(criteria, Mapping) else None
    if fmt != FORMAT or criteria_version != CRITERIA_VERSION:
        raise InvalidInput(
            f"{where} was saved by a newer Audience Studio (version format {fmt!r}, criteria document version "
            f"{criteria_version!r}; this app reads format {FORMAT}, criteria version {CRITERIA_VERSION}): "
            "update the app to see it; nothing was changed.")
    missing = [key for key in (*SETTINGS, "criteria") if key not in document]
    if missing:
        raise InvalidInput(f"{where}: the version document lacks {', '.join(missing)}.")


# -- the difference in words ------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference between two versions: what kind of thing (setting, card, group), how (added, removed,
    changed, moved) and a sentence saying it."""

    part: str  # "setting", "card" or "group"
    how: str  # "added", "removed", "changed" or "moved"
    text: str

    def as_json(self) -> dict[str, str]:
        return {"part": self.part, "how": self.how, "text": self.text}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """What changed from `old` to `new` (version documents), settings first, then the criteria."""
    changes = _settings(old, new)
    for key in sorted(set(old) | set(new), key=str):
        if key not in (*SETTINGS, "criteria") and old.get(key) != new.get(key):
            changes.append(Change("setting", "changed", f"{key}: {_plain(old.get(key))} → {_plain(new.get(key))}"))
    changes += diff_criteria(old.get("criteria") or {}, new.get("criteria") or {})
    return changes


def _settings(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    names = {"name": "Name", "external_name": "External name", "kind": "Kind", "status": "Status"}
    for key, label in names.items():
        if old.get(key) != new.get(key):
            out.append(Change("setting", "changed", f"{label}: {_text(old.get(key))} → {_text(new.get(key))}"))
    old_tags, new_tags = old.get("tags") or [], new.get("tags") or []
    for tag in new_tags:
        if tag not in old_tags:
            out.append(Change("setting", "added", f"Tag added: {tag}"))
    for tag in old_tags:
        if tag not in new_tags:
            out.append(Change("setting", "removed", f"Tag removed: {tag}"))
    if old_tags != new_tags and sorted(old_tags) == sorted(new_tags):
        out.append(Change("setting", "changed", f"Tags reordered: {', '.join(old_tags)} → {', '.join(new_tags)}"))
    old_inputs, new_inputs = old.get("inputs") or [], new.get("inputs") or []
    for item in new_inputs:
        if item not in old_inputs:
            out.append(Change("setting", "added", f"Input added: {_input(item)}"))
    for item in old_inputs:
        if item not in new_inputs:
            out.append(Change("setting", "removed", f"Input removed: {_input(item)}"))
    if old_inputs != new_inputs and sorted(map(_plain, old_inputs)) == sorted(map(_plain, new_inputs)):
        out.append(Change("setting", "changed", "Inputs reordered"))
    old_segment, new_segment = old.get("segment") or {}, new.get("segment") or {}
    if old.get("segment") != new.get("segment"):
        said = False
        for key in SEGMENT_SETTINGS:
            if old_segment.get(key) != new_segment.get(key):
                out.append(Change("setting", "changed", f"{_SEGMENT_LABELS[key]}: {_segment_words(key, old_segment.get(key))}"
                                                        f" → {_segment_words(key, new_segment.get(key))}"))
                said = True
        if not said:  # keys beyond the known four, or a missing block against an empty one
            out.append(Change("setting", "changed", f"Segment settings: {_plain(old.get('segment'))} → {_plain(new.get('segment'))}"))
    return out


_SEGMENT_LABELS = {"expiration_days": "Expiration", "visibility": "Visibility", "cpm_cents": "CPM",
                   "category": "Category"}


def _segment_words(key: str, value: Any) -> str:
    if value is None:
        return {"expiration_days": "never", "cpm_cents": "no price", "category": "none"}.get(key, "none")
    if key == "expiration_days":
        return f"{value} day{'s' if value != 1 else ''}"
    if key == "cpm_cents" and isinstance(value, int):
        return f"${value / 100:,.2f}"
    return str(value)


def _input(item: Any) -> str:
    if isinstance(item, Mapping):
        return f"{item.get('name')} ({item.get('kind')})"
    return _plain(item)


def _text(value: Any) -> str:
    return "(none)" if value is None or value == "" else f"“{value}”" if isinstance(value, str) else _plain(value)


def _plain(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


# -- criteria ---------------------------------------------------------------------------------------


def diff_criteria(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Cards and groups added, removed, moved and changed between two criteria documents (ids unique in each)."""
    out: list[Change] = []
    if old.get("version") != new.get("version"):
        out.append(Change("setting", "changed", f"Criteria document version: {old.get('version')} → {new.get('version')}"))
    for key in sorted((set(old) | set(new)) - {"version", "root"}, key=str):
        if old.get(key) != new.get(key):
            out.append(Change("setting", "changed", f"Criteria {key}: {_plain(old.get(key))} → {_plain(new.get(key))}"))
    old_nodes, new_nodes = _index(old.get("root")), _index(new.get("root"))
    # Removed and added: only the outermost node of a removed or added branch is named (its cards went with it).
    for node_id, (node, parent, _) in old_nodes.items():
        if node_id not in new_nodes and (parent is None or parent not in old_nodes or parent in new_nodes):
            out.append(Change(_part(node), "removed", f"{_kind(node)} removed: {_subject(node, old_nodes)}"
                                                       f"{_from(parent, old_nodes)}"))
    for node_id, (node, parent, _) in new_nodes.items():
        if node_id not in old_nodes and (parent is None or parent not in new_nodes or parent in old_nodes):
            out.append(Change(_part(node), "added", f"{_kind(node)} added: {_subject(node, new_nodes)}"
                                                     f"{_into(parent, new_nodes)}"))
    for node_id, (node, parent, _) in new_nodes.items():
        if node_id not in old_nodes:
            continue
        before, old_parent, _ = old_nodes[node_id]
        if old_parent != parent:
            out.append(Change(_part(node), "moved", f"{_kind(node)} moved: {_subject(node, new_nodes)}, "
                                                     f"from {_group_name(old_parent, old_nodes)} to {_group_name(parent, new_nodes)}"))
        out += _node_changes(before, node, new_nodes)
        if node.get("type") == "group" or before.get("type") == "group":
            kept_before = [c.get("id") for c in before.get("children") or [] if c.get("id") in _children_ids(node)]
            kept_after = [c.get("id") for c in node.get("children") or [] if c.get("id") in _children_ids(before)]
            if kept_before != kept_after:
                out.append(Change("group", "changed", f"Order changed in {_group_name(node_id, new_nodes)}: "
                                                       + ", ".join(_subject(new_nodes[i][0], new_nodes) for i in kept_after)))
    return out


def _index(root: Any) -> dict[Any, tuple[dict[str, Any], Any, int]]:
    """node id -> (node, its parent's id or None, its place among its siblings)."""
    found: dict[Any, tuple[dict[str, Any], Any, int]] = {}
    if not isinstance(root, Mapping):
        return found

    def visit(node: Mapping[str, Any], parent: Any, place: int) -> None:
        found[node.get("id")] = (dict(node), parent, place)
        for index, child in enumerate(node.get("children") or []):
            visit(child, node.get("id"), index)

    visit(root, None, 0)
    return found


def _children_ids(node: Mapping[str, Any]) -> set[Any]:
    return {c.get("id") for c in node.get("children") or []}


def _part(node: Mapping[str, Any]) -> str:
    return "group" if node.get("type") == "group" else "card"


def _kind(node: Mapping[str, Any]) -> str:
    return "Group" if node.get("type") == "group" else "Card"


def _title(node: Mapping[str, Any]) -> str:
    """What a card is about, as its title on the canvas says it ("Purchase", "User attribute “tier”")."""
    if node.get("label"):
        return f"“{node['label']}”"
    try:
        title = entry_for(node).label
    except Exception:  # a type this app does not know: named by its key
        title = str(node.get("type"))
    for key in ("event_name", "attribute", "identity_type"):
        if node.get(key):
            return f"{title} “{node[key]}”"
    return title


def _subject(node: Mapping[str, Any], nodes: Mapping[Any, tuple]) -> str:
    if node.get("type") == "group":
        return _group_name(node.get("id"), nodes)
    return _safe_describe(node)


def _safe_describe(node: Mapping[str, Any]) -> str:
    try:
        return describe(node)
    except Exception:  # a malformed or unknown node still gets named
        return _title(node)


def _group_name(node_id: Any, nodes: Mapping[Any, tuple]) -> str:
    if node_id is None or node_id not in nodes:
        return "(nowhere)"
    node, parent, _ = nodes[node_id]
    if parent is None:
        return "the top group"
    if node.get("label"):
        return f"group “{node['label']}”"
    count = len(node.get("children") or [])
    match = "all" if node.get("match") == "all" else "any"
    return f"the group “{match} of {count}” ({node_id})"


def _from(parent: Any, nodes: Mapping[Any, tuple]) -> str:
    return "" if parent is None or nodes[parent][1] is None else f", from {_group_name(parent, nodes)}"


def _into(parent: Any, nodes: Mapping[Any, tuple]) -> str:
    return "" if parent is None or nodes[parent][1] is None else f", in {_group_name(parent, nodes)}"


_FIELD_WORDS = {"exclude": "excluded", "match": "matches", "window": "when", "frequency": "",
                "label": "label", "operator": "comparison", "value": "value"}


def _node_changes(old: Mapping[str, Any], new: Mapping[str, Any], nodes: Mapping[Any, tuple]) -> list[Change]:
    """The node's own fields (its children aside) that changed, each in words."""
    keys = [k for k in sorted((set(old) | set(new)) - {"children", "id"}, key=str) if old.get(k) != new.get(k)]
    if not keys:
        return []
    subject = _group_name(new.get("id"), nodes) if new.get("type") == "group" else _title(old)
    if new.get("type") == "event" and "window" not in keys and new.get("window"):
        subject += f" {window_words(new.get('window'))}"  # "Purchase in the last 30 days"
    if new.get("type") == "group":
        kind = "group"
        subject = subject[0].upper() + subject[1:]
    else:
        kind = "card"
    parts = []
    if "operator" in keys or "value" in keys:
        parts.append(f"{_comparison(old)} → {_comparison(new)}")
    for key in keys:
        if key in ("operator", "value"):
            continue
        parts.append(f"{_FIELD_WORDS.get(key, key.replace('_', ' '))} {_field_words(key, old.get(key))} → "
                     f"{_field_words(key, new.get(key))}".strip())
    return [Change(kind, "changed", f"{subject}: {'; '.join(parts)}")]


def _comparison(node: Mapping[str, Any]) -> str:
    words = f"{operator_words(node.get('operator')) if node.get('operator') else ''} {value_words(node.get('value'))}".strip()
    return words or "(none)"


def _field_words(key: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if key == "window" and isinstance(value, Mapping):
        return window_words(value) or _plain(value)
    if key == "frequency" and isinstance(value, Mapping):
        times = value.get("value")
        return (f"{operator_words(value.get('operator'), count=True)} {value_words(times)} "
                f"time{'' if times == 1 else 's'}")
    if key == "exclude":
        return "yes" if value else "no"
    if key == "match" and isinstance(value, str):
        return f"{value} of"
    if isinstance(value, str):
        return f"“{value}”"
    if isinstance(value, (int, float, bool)):
        return str(value)
    return _plain(value)

