"""The criteria types: one declaration per type of node a criteria document can hold.

Each `CriterionType` says, once, what the rest of the app needs to know about a type: its key (the
node's `"type"` in documents), its name and description in the marketer's words, which definition
of criteria.schema.json gives its fields, and the palette entries that start a new card of it
(each with its palette section, tooltip and the default node it makes). Everything else is derived
from or checked against `TYPES`:

- the JSON Schema's list of node types and its dispatch to each type's fields are generated from
  it when the schema is loaded (`completed_schema`, used by `app.builder.document.schema`);
- the palette (`app.ui.editor.palette`) and the canvas's "Add criterion" menu show `sections()`;
- the compiler's table of compile functions, the card editors' table (`app.ui.editor.editors`) and
  the cards' summaries (`app.builder.editing.SUMMARIES`) are checked with `check_parts` when they
  are imported: a type without its part, or a part for a type declared nowhere here, stops the app
  at start-up with a message naming both.

Adding a type is one entry in `TYPES`, its fields in criteria.schema.json, a compile function, a
card editor and a summary (docs/criteria.md, "Adding a criterion type").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping


class RegistryError(Exception):
    """The criteria types and one of the parts derived from them disagree (a programming error)."""


@dataclass(frozen=True)
class PaletteEntry:
    """One entry of the palette: a way to start a new card, with the default node it makes."""

    key: str
    label: str
    group: str
    tooltip: str
    #: A fresh default node (without its id): valid on its own, ready to be edited.
    make: Callable[[], dict[str, Any]]
    #: Stem of the ids given to nodes made from this entry ("install" → "install-2").
    id_stem: str = "criterion"


@dataclass(frozen=True)
class CriterionType:
    """One type of node of the criteria language."""

    #: The node's "type" in documents.
    key: str
    #: What the marketer calls it.
    label: str
    #: What it selects (one sentence; docs/criteria.md has the whole story).
    description: str
    #: The palette entries that start a card of this type, in the order the palette shows them.
    entries: tuple[PaletteEntry, ...]
    #: Which of `entries` a node of this type looks like (its key); None: the first entry.
    entry_of: Callable[[Mapping[str, Any]], str] | None = None
    #: A group holds other nodes: the tree code handles it, so it has no compile function and no card editor.
    container: bool = False
    #: The definition of its fields in criteria.schema.json's $defs (by default, its key).
    schema_name: str = ""

    def __post_init__(self) -> None:
        for entry in self.entries:
            made = entry.make()
            if made.get("type") != self.key:
                raise RegistryError(f"palette entry {entry.key!r} makes a {made.get('type')!r} node, "
                                    f"not a {self.key!r} node")

    @property
    def schema_ref(self) -> str:
        return f"#/$defs/{self.schema_name or self.key}"

    def entry_for(self, node: Mapping[str, Any]) -> PaletteEntry:
        key = self.entry_of(node) if self.entry_of else self.entries[0].key
        for entry in self.entries:
            if entry.key == key:
                return entry
        raise RegistryError(f"the {self.key!r} type has no palette entry {key!r}")


# -- default nodes ---------------------------------------------------------------------------------


def _within(amount: int, unit: str) -> dict[str, Any]:
    return {"type": "within", "amount": amount, "unit": unit}


def _event(event_type: str, **extra: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {"type": "event", "exclude": False, "event_type": event_type, **copy.deepcopy(extra)}


def _node(**fields: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {"exclude": False, **copy.deepcopy(fields)}


_LAST_30_DAYS = _within(30, "days")

#: The palette's sections, in the order they are shown.
PALETTE_GROUPS = ("Events", "Ecommerce", "Users", "Devices & location", "Identities & consent", "Attribution",
                  "Audiences", "Structure")

# -- which entry a node looks like (the card's title) ---------------------------------------------

_EVENT_ENTRIES = ("custom_event", "session_start", "screen_view", "install", "upgrade", "uninstall", "crash_report",
                  "session_end", "application_state_transition", "push_registration", "push_message",
                  "user_attribute_change", "user_identity_change", "opt_out")
_PRODUCT_ACTION_ENTRIES = ("add_to_cart", "purchase", "view_detail", "checkout")


def _event_entry(node: Mapping[str, Any]) -> str:
    event_type = node.get("event_type")
    if event_type == "commerce_event":
        if node.get("aggregate"):
            return "purchase_revenue"
        action = node.get("product_action")
        return action if action in _PRODUCT_ACTION_ENTRIES else "commerce_event"
    if event_type == "attribution":
        return "attribution_event"
    return event_type if event_type in _EVENT_ENTRIES else "custom_event"


# -- the types -------------------------------------------------------------------------------------

TYPES: tuple[CriterionType, ...] = (
    CriterionType(
        "group", "Group", "A group of criteria matched together: all of them (and) or any of them (or).",
        (PaletteEntry("group", "Group", "Structure",
                      "A group of criteria matched together: all of them, or any of them; drop criteria into it",
                      _node(type="group", match="any", children=[]), "group"),),
        container=True),
    CriterionType(
        "event", "Event", "Users with matching events: which, how often, how much and when.",
        (
            PaletteEntry("custom_event", "Custom event", "Events",
                         "Users who triggered one of your app's own events (e.g. Search), optionally with conditions "
                         "on its attributes, how often, and when", _event("custom_event", window=_LAST_30_DAYS), "event"),
            PaletteEntry("session_start", "Session", "Events", "Users who opened the app or site: how many sessions, and when",
                         _event("session_start", window=_LAST_30_DAYS), "session"),
            PaletteEntry("screen_view", "Screen view", "Events", "Users who viewed a screen or page, optionally a named one",
                         _event("screen_view", window=_LAST_30_DAYS), "screen-view"),
            PaletteEntry("install", "Install", "Events", "Users who installed the app, and when",
                         _event("install", window=_within(7, "days")), "install"),
            PaletteEntry("upgrade", "Upgrade", "Events", "Users who upgraded the app to a new version",
                         _event("upgrade", window=_LAST_30_DAYS), "upgrade"),
            PaletteEntry("uninstall", "Uninstall", "Events", "Users whose app was uninstalled",
                         _event("uninstall", window=_LAST_30_DAYS), "uninstall"),
            PaletteEntry("crash_report", "Crash", "Events", "Users whose app crashed",
                         _event("crash_report", window=_within(7, "days")), "crash"),
            PaletteEntry("session_end", "Session end", "Events", "Users whose sessions ended",
                         _event("session_end", window=_LAST_30_DAYS), "session-end"),
            PaletteEntry("application_state_transition", "App state change", "Events",
                         "Users whose app started, came to the foreground or went to the background",
                         _event("application_state_transition", window=_LAST_30_DAYS), "app-state"),
            PaletteEntry("push_registration", "Push registration", "Events", "Users who registered for push notifications",
                         _event("push_registration", window=_LAST_30_DAYS), "push-registration"),
            PaletteEntry("push_message", "Push message", "Events", "Users who received or opened a push notification",
                         _event("push_message", window=_LAST_30_DAYS), "push-message"),
            PaletteEntry("user_attribute_change", "User attribute change", "Events", "Users one of whose attributes changed",
                         _event("user_attribute_change", window=_LAST_30_DAYS), "attribute-change"),
            PaletteEntry("user_identity_change", "User identity change", "Events", "Users one of whose identities changed",
                         _event("user_identity_change", window=_LAST_30_DAYS), "identity-change"),
            PaletteEntry("opt_out", "Opt-out", "Events", "Users who opted out of tracking",
                         _event("opt_out", window=_LAST_30_DAYS), "opt-out"),
            PaletteEntry("add_to_cart", "Add to cart", "Ecommerce", "Users who added a product to their cart",
                         _event("commerce_event", product_action="add_to_cart", window=_LAST_30_DAYS), "add-to-cart"),
            PaletteEntry("purchase", "Purchase", "Ecommerce", "Users who bought something: how often, and when",
                         _event("commerce_event", product_action="purchase", window=_LAST_30_DAYS), "purchase"),
            PaletteEntry("purchase_revenue", "Total purchase revenue", "Ecommerce",
                         "Users whose purchases add up to more (or less) than an amount",
                         _event("commerce_event", product_action="purchase", window=_LAST_30_DAYS,
                                aggregate={"function": "sum", "attribute": "revenue", "operator": "gt", "value": 100}),
                         "revenue"),
            PaletteEntry("view_detail", "Product view", "Ecommerce", "Users who viewed a product's details",
                         _event("commerce_event", product_action="view_detail", window=_LAST_30_DAYS), "product-view"),
            PaletteEntry("checkout", "Checkout", "Ecommerce", "Users who started a checkout",
                         _event("commerce_event", product_action="checkout", window=_LAST_30_DAYS), "checkout"),
            PaletteEntry("commerce_event", "Other product action", "Ecommerce",
                         "Users with any ecommerce event: refunds, wishlists, product clicks…",
                         _event("commerce_event", product_action="refund", window=_LAST_30_DAYS), "commerce"),
            PaletteEntry("attribution_event", "Attribution event", "Attribution",
                         "Users with an attribution event (custom events named attribution), by its attributes",
                         _event("attribution", window=_LAST_30_DAYS), "attribution-event"),
        ),
        entry_of=_event_entry),
    CriterionType(
        "user_attribute", "User attribute",
        "Users by one of their attributes, or by an attribute calculated from their events.",
        (
            PaletteEntry("user_attribute", "User attribute", "Users",
                         "Users by one of their attributes: text, number, date, yes/no or list",
                         _node(type="user_attribute", attribute="$Country", operator="exists"), "attribute"),
            PaletteEntry("calculated_attribute", "Calculated attribute", "Users",
                         "Users by an attribute calculated from their activity (e.g. lifetime value)",
                         _node(type="user_attribute", calculated=True, attribute="lifetime_value", operator="exists"),
                         "calculated"),
        ),
        entry_of=lambda node: "calculated_attribute" if node.get("calculated") else "user_attribute"),
    CriterionType(
        "audience_membership", "Audience membership", "Users who are (or are not) in another audience.",
        (PaletteEntry("audience_membership", "Audience membership", "Audiences",
                      "Users who are (or are not) in another audience",
                      _node(type="audience_membership", audience_id=0, member=True), "membership"),)),
    CriterionType(
        "identity", "Identity", "Users who have (or lack) an identity, or whose identity matches text.",
        (PaletteEntry("identity", "Identity", "Identities & consent",
                      "Users who have (or lack) an identity such as an email or an advertising id, or whose identity "
                      "matches text", _node(type="identity", identity_type="email", operator="exists"), "identity"),)),
    CriterionType(
        "consent", "Consent", "Users by their GDPR consent to a purpose or their CCPA opt-out.",
        (
            PaletteEntry("consent_gdpr", "GDPR consent", "Identities & consent",
                         "Users who consented (or not) to a GDPR purpose; no record counts as no consent",
                         _node(type="consent", regulation="gdpr", purpose="marketing", consented=True), "gdpr"),
            PaletteEntry("consent_ccpa", "CCPA opt-out", "Identities & consent",
                         "Users who opted out (or not) of data sale under the CCPA",
                         _node(type="consent", regulation="ccpa", opted_out=False), "ccpa"),
        ),
        entry_of=lambda node: "consent_ccpa" if node.get("regulation") == "ccpa" else "consent_gdpr"),
    CriterionType(
        "device", "Device", "Users by platform, OS and its version, device model, carrier, app version or build.",
        (PaletteEntry("device", "Device, OS or carrier", "Devices & location",
                      "Users by platform, OS and its version, device model, carrier, app version or build",
                      _node(type="device", field="platform", operator="equals", value="iOS"), "device"),)),
    CriterionType(
        "first_seen", "First seen", "Users by when they were first seen.",
        (PaletteEntry("first_seen", "First seen", "Users", "Users by when they were first seen",
                      _node(type="first_seen", operator="within", value={"amount": 7, "unit": "days"}), "first-seen"),)),
    CriterionType(
        "location", "Location", "Users in a place, or within a distance of a point.",
        (
            PaletteEntry("location", "Place", "Devices & location", "Users in a city, state, zip code, DMA or country",
                         _node(type="location", field="country", operator="equals", value="US"), "place"),
            PaletteEntry("location_near", "Near a place", "Devices & location",
                         "Users within a distance of a point (great-circle distance)",
                         _node(type="location", operator="within", latitude=40.7128, longitude=-74.006, radius=50,
                               unit="km"), "near"),
        ),
        entry_of=lambda node: "location_near" if node.get("operator") == "within" else "location"),
    CriterionType(
        "attribution", "Attribution", "Users whose install or uninstall was attributed to a publisher or campaign.",
        (
            PaletteEntry("install_attribution", "Install attribution", "Attribution",
                         "Users whose install was attributed to a publisher or campaign",
                         _node(type="attribution", kind="install", field="publisher", operator="exists"),
                         "install-attribution"),
            PaletteEntry("uninstall_attribution", "Uninstall attribution", "Attribution",
                         "Users whose uninstall was attributed to a publisher or campaign",
                         _node(type="attribution", kind="uninstall", field="publisher", operator="exists"),
                         "uninstall-attribution"),
        ),
        entry_of=lambda node: "uninstall_attribution" if node.get("kind") == "uninstall" else "install_attribution"),
    CriterionType(
        "cart_abandonment", "Cart abandonment", "Users who added to cart and did not buy within a time after it.",
        (PaletteEntry("cart_abandonment", "Cart abandonment", "Ecommerce",
                      "Users who added to cart and did not buy within a time after it",
                      _node(type="cart_abandonment", window=_within(7, "days"),
                            no_purchase_within={"amount": 24, "unit": "hours"}), "abandoned-cart"),)),
)

BY_KEY: dict[str, CriterionType] = {kind.key: kind for kind in TYPES}


def _check_declarations(types: Iterable[CriterionType]) -> None:
    types = list(types)
    keys = [kind.key for kind in types]
    entries = [entry for kind in types for entry in kind.entries]
    for what, names in (("type", keys), ("palette entry", [entry.key for entry in entries])):
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise RegistryError(f"criteria {what} declared twice: {', '.join(twice)}")
    unknown = sorted({entry.group for entry in entries} - set(PALETTE_GROUPS))
    if unknown:
        raise RegistryError(f"palette sections missing from PALETTE_GROUPS: {', '.join(unknown)}")


_check_declarations(TYPES)


def get(key: str) -> CriterionType:
    try:
        return BY_KEY[key]
    except KeyError:
        raise RegistryError(f"there is no criteria type {key!r}") from None


def criterion_keys(types: Iterable[CriterionType] = TYPES) -> tuple[str, ...]:
    """The types that are criteria (not groups): each has a compile function and a card editor."""
    return tuple(kind.key for kind in types if not kind.container)


# -- the palette -----------------------------------------------------------------------------------

#: Every palette entry by its key, type by type.
PALETTE: dict[str, PaletteEntry] = {entry.key: entry for kind in TYPES for entry in kind.entries}


def sections(types: Iterable[CriterionType] = TYPES) -> list[tuple[str, list[PaletteEntry]]]:
    """The palette as it is shown: each section of PALETTE_GROUPS with its entries (none left out)."""
    entries = [entry for kind in types for entry in kind.entries]
    return [(section, [entry for entry in entries if entry.group == section]) for section in PALETTE_GROUPS]


def entry_for(node: Mapping[str, Any]) -> PaletteEntry:
    """The palette entry a node looks like (its title on the canvas); a node of no known type: Group."""
    kind = BY_KEY.get(node.get("type") or "")
    return kind.entry_for(node) if kind is not None else PALETTE["group"]


# -- parts checked against the types ---------------------------------------------------------------


def check_parts(part: str, parts: Mapping[str, Any], types: Iterable[CriterionType] = TYPES) -> None:
    """RegistryError unless `parts` (a table by type key: compile functions, card editors…) holds
    exactly one part for every criterion type and nothing else."""
    expected = set(criterion_keys(types))
    missing = sorted(expected - set(parts))
    unknown = sorted(set(parts) - expected)
    if missing or unknown:
        said = []
        if missing:
            said.append(f"no {part} for {', '.join(missing)}")
        if unknown:
            said.append(f"a {part} for {', '.join(unknown)}, which app/builder/criteria_types.py does not declare")
        raise RegistryError("The criteria types and their parts disagree: " + "; ".join(said) + ".")


# -- the JSON Schema -------------------------------------------------------------------------------


def completed_schema(schema: dict[str, Any], types: Iterable[CriterionType] = TYPES) -> dict[str, Any]:
    """criteria.schema.json with its `node` definition filled in: every type's key, and for each,
    the definition of its fields (RegistryError when the file has none for a type)."""
    types = list(types)
    definitions = schema.get("$defs", {})
    missing = [kind.key for kind in types if kind.schema_ref.rsplit("/", 1)[1] not in definitions]
    if missing:
        raise RegistryError(f"criteria.schema.json has no definition for the criteria type(s) {', '.join(missing)}")
    out = copy.deepcopy(schema)
    node = out["$defs"]["node"]
    node["properties"] = {"type": {"enum": [kind.key for kind in types]}}
    node["allOf"] = [{"if": {"properties": {"type": {"const": kind.key}}}, "then": {"$ref": kind.schema_ref}}
                     for kind in types]
    return out


def declared_in_schema(schema: Mapping[str, Any]) -> set[str]:
    """The node types the schema's definitions describe (each definition whose `type` is a const)."""
    found = set()
    for definition in schema.get("$defs", {}).values():
        const = definition.get("properties", {}).get("type", {}).get("const") if isinstance(definition, dict) else None
        if isinstance(const, str):
            found.add(const)
    return found


__all__ = ["PALETTE", "PALETTE_GROUPS", "TYPES", "BY_KEY", "CriterionType", "PaletteEntry", "RegistryError",
           "check_parts", "completed_schema", "criterion_keys", "declared_in_schema", "entry_for", "get", "sections"]
