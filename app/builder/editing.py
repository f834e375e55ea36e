"""Editing criteria documents: new nodes from the palette, and the edits the builder makes.

Every edit is a pure function: it takes a document and returns a new one, never changing its
input, so the builder's undo stack can keep the documents before and after each edit as they are.
An edit that makes no sense (moving a group into itself, removing the root, an unknown node) raises
EditError naming the node.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable, Iterable, Iterator, Mapping

from app.builder.catalog import Catalog
from app.builder.criteria_types import PALETTE, PaletteEntry, check_parts, entry_for
from app.builder.document import empty_document, walk
from app.builder.wording import FUNCTION_WORDS, operator_words, times_words, value_words
from app.errors import InvalidInput

ROOT_ID = "root"


class EditError(InvalidInput):
    """An edit that cannot be made; the message names the node."""


# -- the palette -----------------------------------------------------------------------------------
# The palette's entries are declared with their criteria types in app/builder/criteria_types.py.

#: Product actions of ecommerce events, as mParticle names them, with the words users know.
PRODUCT_ACTIONS = {
    "add_to_cart": "Add to cart", "remove_from_cart": "Remove from cart", "checkout": "Checkout",
    "checkout_option": "Checkout option", "click": "Product click", "view_detail": "View product detail",
    "purchase": "Purchase", "refund": "Refund", "add_to_wishlist": "Add to wishlist",
    "remove_from_wishlist": "Remove from wishlist",
}

#: Every event type of the criteria language, with its user-facing name.
EVENT_TYPES = {
    "custom_event": "Custom event", "commerce_event": "Ecommerce event", "screen_view": "Screen view",
    "session_start": "Session start", "session_end": "Session end", "install": "Install", "upgrade": "Upgrade",
    "uninstall": "Uninstall", "crash_report": "Crash", "attribution": "Attribution event",
    "application_state_transition": "App state change", "user_attribute_change": "User attribute change",
    "user_identity_change": "User identity change", "push_registration": "Push registration",
    "push_message": "Push message", "opt_out": "Opt-out",
}


def palette_entry(key: str) -> PaletteEntry:
    try:
        return PALETTE[key]
    except KeyError:
        raise EditError(f"There is no criteria type {key!r} in the palette.") from None


# -- reading a document ----------------------------------------------------------------------------


def node_ids(document: Mapping[str, Any]) -> list[str]:
    return [node["id"] for _, node in walk(document["root"])]


def find(document: Mapping[str, Any], node_id: str) -> dict[str, Any]:
    """The node with this id (the document's own dict: do not change it)."""
    for _, node in walk(document["root"]):
        if node.get("id") == node_id:
            return node
    raise EditError(f"There is no node {node_id!r} in the audience's criteria.")


def parent_of(document: Mapping[str, Any], node_id: str) -> tuple[str, int]:
    """(id of the group holding the node, the node's index in it); EditError for the root."""
    for _, node in walk(document["root"]):
        if node.get("type") == "group":
            for index, child in enumerate(node["children"]):
                if child.get("id") == node_id:
                    return node["id"], index
    if document["root"].get("id") == node_id:
        raise EditError("The audience's top group has no parent.")
    raise EditError(f"There is no node {node_id!r} in the audience's criteria.")


def ancestors(document: Mapping[str, Any], node_id: str) -> list[str]:
    """Ids of the groups around the node, innermost first."""
    out: list[str] = []
    current = node_id
    while current != document["root"]["id"]:
        current, _ = parent_of(document, current)
        out.append(current)
    return out


def criteria_count(document: Mapping[str, Any]) -> int:
    """How many criteria (not groups) the document holds."""
    return sum(1 for _, node in walk(document["root"]) if node.get("type") != "group")


# -- ids -------------------------------------------------------------------------------------------

_ID_STEM = re.compile(r"[^A-Za-z0-9_.-]+")


def new_node_id(document: Mapping[str, Any], stem: str = "criterion", taken: Iterable[str] = ()) -> str:
    """An id unused in the document (and in `taken`): "stem-1", "stem-2", …"""
    used = set(node_ids(document)) | set(taken)
    stem = _ID_STEM.sub("-", stem).strip("-")[:50] or "criterion"
    number = 1
    while f"{stem}-{number}" in used:
        number += 1
    return f"{stem}-{number}"


def new_node(document: Mapping[str, Any], key: str, *, catalog: Catalog | None = None,
             workspace_ids: tuple[int, ...] = ()) -> dict[str, Any]:
    """A new node of palette type `key` with an id unused in `document`.

    With a catalog, names the node picks by default (an event name, an attribute) come from what
    the cache knows about the workspaces, so the new criterion counts someone straight away.
    """
    entry = palette_entry(key)
    node = {"id": new_node_id(document, entry.id_stem), **entry.make()}
    if catalog is not None and workspace_ids:
        node = fit_to_catalog(node, catalog, workspace_ids)
    return node


def fit_to_catalog(node: dict[str, Any], catalog: Catalog, workspace_ids: tuple[int, ...]) -> dict[str, Any]:
    """A copy of a freshly made node whose default names are replaced by ones the cache knows."""
    node = copy.deepcopy(node)
    if node["type"] == "event" and node["event_type"] == "custom_event" and "event_name" not in node:
        names = catalog.event_names(workspace_ids, "custom_event")
        names = [n for n in names if n != "attribution"]
        if names:
            node["event_name"] = names[0]
    elif node["type"] == "event" and node["event_type"] == "screen_view" and "event_name" not in node:
        pass  # any screen is a sensible default
    elif node["type"] == "user_attribute" and node.get("calculated"):
        defined = sorted({name for ws in workspace_ids for name in getattr(catalog, "calculated", {}).get(ws, {})})
        if defined and node["attribute"] not in defined:
            node["attribute"] = defined[0]
    elif node["type"] == "user_attribute":
        known = sorted({name for ws in workspace_ids for name in catalog.attributes.get(ws, {})})
        if known and node["attribute"] not in known:
            preferred = [n for n in known if not n.startswith("$")] or known
            node["attribute"] = preferred[0]
    elif node["type"] == "identity":
        known = sorted(set().union(*(catalog.identity_types.get(ws, frozenset()) for ws in workspace_ids)))
        if known and node["identity_type"] not in known:
            node["identity_type"] = known[0]
    return node


def renumbered(document: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `node` (and its descendants) with ids unused in `document` (for duplicating and pasting)."""
    taken: set[str] = set(node_ids(document))
    out = copy.deepcopy(dict(node))

    def renumber(item: dict[str, Any]) -> None:
        stem = re.sub(r"-\d+$", "", item.get("id", "")) or entry_for(item).id_stem
        item["id"] = new_node_id(document, stem, taken)
        taken.add(item["id"])
        for child in item.get("children", []) if item.get("type") == "group" else []:
            renumber(child)

    renumber(out)
    return out


# -- edits -----------------------------------------------------------------------------------------


def _copy(document: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(document))


def _nodes(root: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for _, node in walk(root):
        yield node


def _find_in(document: dict[str, Any], node_id: str) -> dict[str, Any]:
    for node in _nodes(document["root"]):
        if node.get("id") == node_id:
            return node
    raise EditError(f"There is no node {node_id!r} in the audience's criteria.")


def _group_in(document: dict[str, Any], group_id: str) -> dict[str, Any]:
    group = _find_in(document, group_id)
    if group.get("type") != "group":
        raise EditError(f"Node {group_id!r} is a criterion, not a group; criteria can only go into groups.")
    return group


def insert(document: Mapping[str, Any], parent_id: str, index: int, node: Mapping[str, Any]) -> dict[str, Any]:
    """Put `node` into group `parent_id` at `index` (clamped to the group's ends)."""
    out = _copy(document)
    group = _group_in(out, parent_id)
    taken = set(node_ids(out))
    clash = [n["id"] for n in _nodes(dict(node)) if n.get("id") in taken]
    if clash:
        raise EditError(f"The audience already has a node {clash[0]!r}; each node needs its own id.")
    index = max(0, min(index, len(group["children"])))
    group["children"].insert(index, copy.deepcopy(dict(node)))
    return out


def remove(document: Mapping[str, Any], node_id: str) -> dict[str, Any]:
    """The document without the node (and, for a group, everything in it)."""
    if node_id == document["root"]["id"]:
        raise EditError("The audience's top group cannot be removed.")
    out = _copy(document)
    parent_id, index = parent_of(out, node_id)
    del _group_in(out, parent_id)["children"][index]
    return out


def move(document: Mapping[str, Any], node_id: str, new_parent_id: str, index: int) -> dict[str, Any]:
    """Move a node into group `new_parent_id`, before the child now at `index` (len: at the end).

    `index` counts the group's children as they are before the move, the way a drop target names
    a place ("before this card"), so moving a node down within its own group needs no adjusting.
    """
    if node_id == document["root"]["id"]:
        raise EditError("The audience's top group cannot be moved.")
    if new_parent_id == node_id or node_id in ancestors(document, new_parent_id):
        raise EditError(f"Group {node_id!r} cannot be moved into itself or into a group inside it.")
    out = _copy(document)
    old_parent_id, old_index = parent_of(out, node_id)
    target = _group_in(out, new_parent_id)
    index = max(0, min(index, len(target["children"])))
    source = _group_in(out, old_parent_id)
    node = source["children"].pop(old_index)
    if old_parent_id == new_parent_id and old_index < index:
        index -= 1
    target["children"].insert(index, node)
    return out


def can_move(document: Mapping[str, Any], node_id: str, new_parent_id: str) -> bool:
    """Whether `move` would accept this (a group never goes into itself or its descendants)."""
    if node_id == document["root"]["id"]:
        return False
    try:
        find(document, node_id)
        target = find(document, new_parent_id)
    except EditError:
        return False
    if target.get("type") != "group":
        return False
    return new_parent_id != node_id and node_id not in ancestors(document, new_parent_id)


def update(document: Mapping[str, Any], node_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Set fields of a node; a field set to None is removed. The id, type and children stay as they are."""
    fixed = {"id", "type", "children"} & set(changes)
    if fixed:
        raise EditError(f"The {', '.join(sorted(fixed))} of node {node_id!r} cannot be changed by an edit.")
    out = _copy(document)
    node = _find_in(out, node_id)
    for key, value in changes.items():
        if value is None:
            node.pop(key, None)
        else:
            node[key] = copy.deepcopy(value)
    return out


def replace(document: Mapping[str, Any], node_id: str, node: Mapping[str, Any]) -> dict[str, Any]:
    """Put `node` in place of the node with this id; it keeps that id (editors rebuild a criterion whole)."""
    out = _copy(document)
    old = _find_in(out, node_id)
    if node.get("type") != old.get("type") or (old.get("type") == "group"):
        raise EditError(f"Node {node_id!r} can only be replaced by a criterion of the same type.")
    old.clear()
    old.update(copy.deepcopy(dict(node)))
    old["id"] = node_id
    return out


def set_exclude(document: Mapping[str, Any], node_id: str, exclude: bool) -> dict[str, Any]:
    return update(document, node_id, {"exclude": bool(exclude)})


def set_match(document: Mapping[str, Any], group_id: str, match: str) -> dict[str, Any]:
    if match not in ("all", "any"):
        raise EditError(f"A group matches 'all' or 'any' of its criteria, not {match!r}.")
    out = _copy(document)
    _group_in(out, group_id)["match"] = match
    return out


def wrap_in_group(document: Mapping[str, Any], node_ids_: Iterable[str] | str, *, match: str = "all",
                  group_id: str | None = None) -> dict[str, Any]:
    """Put sibling nodes into a new group where the first of them was; returns the new document.

    The new group's id is `group_id` or a fresh one (`wrapped_group_id` tells which it will be).
    """
    ids = [node_ids_] if isinstance(node_ids_, str) else list(node_ids_)
    if not ids:
        raise EditError("Choose the criteria to put into a group.")
    if document["root"]["id"] in ids:
        raise EditError("The audience's top group cannot be put into a group.")
    parents = {parent_of(document, node_id)[0] for node_id in ids}
    if len(parents) != 1:
        raise EditError("Only criteria of the same group can be grouped together.")
    [parent_id] = parents
    out = _copy(document)
    parent = _group_in(out, parent_id)
    positions = sorted(parent_of(out, node_id)[1] for node_id in ids)
    children = [parent["children"][i] for i in positions]
    for i in reversed(positions):
        del parent["children"][i]
    new_id = group_id or wrapped_group_id(document)
    parent["children"].insert(positions[0], {"id": new_id, "type": "group", "match": match, "exclude": False,
                                             "children": children})
    return out


def wrapped_group_id(document: Mapping[str, Any]) -> str:
    return new_node_id(document, "group")


def ungroup(document: Mapping[str, Any], group_id: str) -> dict[str, Any]:
    """Put a group's children where the group was, and drop the group."""
    if group_id == document["root"]["id"]:
        raise EditError("The audience's top group cannot be ungrouped.")
    out = _copy(document)
    parent_id, index = parent_of(out, group_id)
    group = _group_in(out, group_id)
    parent = _group_in(out, parent_id)
    parent["children"][index:index + 1] = group["children"]
    return out


def move_by(document: Mapping[str, Any], node_id: str, step: int) -> dict[str, Any]:
    """Move a node one place up (step -1) or down (+1) among its siblings; at the group's edge it
    leaves the group, going just before (or after) it. At the top group's edges nothing changes."""
    parent_id, index = parent_of(document, node_id)
    siblings = find(document, parent_id)["children"]
    target = index + step
    if 0 <= target < len(siblings):
        return move(document, node_id, parent_id, target + (1 if step > 0 else 0))
    if parent_id == document["root"]["id"]:
        return _copy(document)
    grand_id, parent_index = parent_of(document, parent_id)
    return move(document, node_id, grand_id, parent_index + (1 if step > 0 else 0))


def new_document() -> dict[str, Any]:
    return empty_document()


# -- words -----------------------------------------------------------------------------------------

def window_words(window: Mapping[str, Any] | None) -> str:
    if not window:
        return "at any time"
    kind = window.get("type")
    if kind == "within":
        return f"in the last {window.get('amount')} {window.get('unit')}"
    if kind == "between_ago":
        return f"between {window.get('from')} and {window.get('to')} {window.get('unit')} ago"
    if kind in ("before", "after", "on"):
        return f"{kind} {window.get('date')}"
    if kind == "between_dates":
        return f"between {window.get('from')} and {window.get('to')}"
    return ""


def describe(node: Mapping[str, Any], audience_names: Mapping[int, str] | None = None) -> str:
    """A one-line summary in the marketer's words ("Purchase, at least 2 times, in the last 30 days").

    `audience_names` (id to name) lets a membership criterion name its audience, as the builder shows it."""
    kind = node.get("type")
    not_ = "not " if node.get("exclude") else ""
    if kind == "group":
        count = len(node.get("children", []))
        return f"{not_}{'all' if node.get('match') == 'all' else 'any'} of {count} criteri{'on' if count == 1 else 'a'}"
    summary = SUMMARIES.get(kind or "")
    return summary(node, not_, audience_names or {}) if summary else str(kind)


def _operator_words(node: Mapping[str, Any]) -> str:
    operator = node.get("operator", "")
    return f"{operator_words(operator) if operator else ''} {value_words(node.get('value'))}"


def _event_summary(node: Mapping[str, Any], not_: str, _names: Mapping[int, str]) -> str:
    parts = [entry_for(node).label]
    if node.get("event_name"):
        parts[0] += f" “{node['event_name']}”"
    frequency = node.get("frequency")
    if frequency:
        parts.append(times_words(frequency))
    aggregate = node.get("aggregate")
    if aggregate:
        parts.append(f"{FUNCTION_WORDS.get(aggregate['function'], aggregate['function'])} {aggregate['attribute']} "
                     f"{operator_words(aggregate['operator'])} {value_words(aggregate.get('value'))}")
    parts.append(window_words(node.get("window")))
    return not_ + ", ".join(parts)


def _membership_summary(node: Mapping[str, Any], not_: str, names: Mapping[int, str]) -> str:
    where = "in" if node.get("member") else "not in"
    audience_id = node.get("audience_id")
    if not audience_id:
        return f"{not_}{where} an audience not chosen yet"
    if audience_id in names:
        return f"{not_}{where} “{names[audience_id]}”"
    return f"{not_}{where} audience {audience_id}"


def _consent_summary(node: Mapping[str, Any], not_: str, _names: Mapping[int, str]) -> str:
    if node.get("regulation") == "ccpa":
        return not_ + ("opted out of data sale" if node.get("opted_out") else "not opted out of data sale")
    return f"{not_}{'consented' if node.get('consented') else 'not consented'} to {node.get('purpose')}"


def _location_summary(node: Mapping[str, Any], not_: str, _names: Mapping[int, str]) -> str:
    if node.get("operator") == "within":
        return f"{not_}within {node.get('radius')} {node.get('unit', 'km')} of {node.get('latitude')}, {node.get('longitude')}"
    return f"{not_}{node.get('field')} {_operator_words(node)}".strip()


def _cart_abandonment_summary(node: Mapping[str, Any], not_: str, _names: Mapping[int, str]) -> str:
    wait = node.get("no_purchase_within", {})
    return f"{not_}added to cart {window_words(node.get('window'))}, no purchase within {wait.get('amount')} {wait.get('unit')}"


#: Each criterion type's one-line summary (the card's subtitle), by the type's key: checked against
#: app/builder/criteria_types.py here, like the compiler's and the card editors' tables.
SUMMARIES: dict[str, Callable[[Mapping[str, Any], str, Mapping[int, str]], str]] = {
    "event": _event_summary,
    "user_attribute": lambda node, not_, _names: f"{not_}{node.get('attribute')} {_operator_words(node)}".strip(),
    "audience_membership": _membership_summary,
    "identity": lambda node, not_, _names: f"{not_}{node.get('identity_type')} {_operator_words(node)}".strip(),
    "consent": _consent_summary,
    "device": lambda node, not_, _names: f"{not_}{node.get('field', '').replace('_', ' ')} {_operator_words(node)}".strip(),
    "first_seen": lambda node, not_, _names: f"{not_}first seen {_operator_words(node)}".strip(),
    "location": _location_summary,
    "attribution": lambda node, not_, _names: f"{not_}{node.get('kind')} {node.get('field')} {_operator_words(node)}".strip(),
    "cart_abandonment": _cart_abandonment_summary,
}
check_parts("summary", SUMMARIES)
