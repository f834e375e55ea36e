"""Calculated attributes: per-user values an admin defines over a workspace's events.

A calculated attribute ("Purchases in the last 30 days", "Lifetime revenue", "Favourite category")
is worked out from the cache's events at the moment an audience is calculated, so it is never
stale. Criteria use it like a user attribute of the type its calculation gives (`user_attribute`
with `"calculated": true`). This module holds the definition and its rules; the compiler turns it
into SQL and the workspace store keeps the definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Calculation → what it needs and the type of value it gives.
CALCULATIONS: dict[str, tuple[bool, str, str]] = {
    # name: (needs an event attribute, value type, description)
    "count": (False, "number", "how many matching events"),
    "sum": (True, "number", "the total of a numeric attribute"),
    "average": (True, "number", "the average of a numeric attribute"),
    "min": (True, "number", "the smallest value of a numeric attribute"),
    "max": (True, "number", "the largest value of a numeric attribute"),
    "first_value": (True, "string", "the attribute's value on the earliest matching event"),
    "last_value": (True, "string", "the attribute's value on the latest matching event"),
    "most_frequent": (True, "string", "the attribute's most frequent value (ties: the first alphabetically)"),
    "unique_values": (True, "list", "every distinct value of the attribute"),
    "first_time": (False, "date", "when the earliest matching event happened"),
    "last_time": (False, "date", "when the latest matching event happened"),
}

#: Calculations whose value is defined for every user: 0 for users without matching events.
ZERO_WHEN_NO_EVENTS = frozenset({"count", "sum"})

EVENT_TYPES = ("custom_event", "commerce_event", "screen_view", "session_start", "session_end", "crash_report",
               "install", "upgrade", "uninstall", "attribution")

MAX_WINDOW_DAYS = 3650
MAX_NAME_LENGTH = 64


@dataclass(frozen=True)
class CalculatedAttribute:
    """One definition: over which events (type, optional name, optional window) it calculates what."""

    name: str
    calculation: str
    event_type: str
    event_name: str | None = None
    #: The event attribute the calculation reads ("revenue" is the event's revenue); None for count and times.
    attribute: str | None = None
    #: Only events of the last N days (relative to the moment of calculation); None: all of them.
    window_days: int | None = None

    @property
    def value_type(self) -> str:
        return CALCULATIONS[self.calculation][1]

    def describe(self) -> str:
        """In words, for lists and tooltips: "sum of revenue of purchase commerce_event events, last 30 days"."""
        what = self.calculation.replace("_", " ")
        if self.attribute:
            what += f" of {self.attribute}"
        events = f"{self.event_name} {self.event_type}" if self.event_name else self.event_type
        span = f", last {self.window_days} days" if self.window_days else ", all time"
        return f"{what} over {events} events{span}"


def problems(definition: CalculatedAttribute) -> list[str]:
    """What is wrong with a definition, in words a user can act on (empty when it is usable)."""
    found = []
    name = definition.name.strip()
    if not name:
        found.append("a calculated attribute needs a name")
    elif len(name) > MAX_NAME_LENGTH:
        found.append(f"the name is {len(name)} characters long; at most {MAX_NAME_LENGTH} fit")
    if definition.calculation not in CALCULATIONS:
        found.append(f"{definition.calculation!r} is not a calculation; use one of: {', '.join(CALCULATIONS)}")
        return found
    if definition.event_type not in EVENT_TYPES:
        found.append(f"{definition.event_type!r} is not an event type; use one of: {', '.join(EVENT_TYPES)}")
    needs_attribute = CALCULATIONS[definition.calculation][0]
    if needs_attribute and not definition.attribute:
        found.append(f"{definition.calculation} needs the event attribute it reads")
    if not needs_attribute and definition.attribute:
        found.append(f"{definition.calculation} reads no attribute; leave the attribute empty")
    if definition.window_days is not None and not 1 <= definition.window_days <= MAX_WINDOW_DAYS:
        found.append(f"the window must be 1 to {MAX_WINDOW_DAYS} days, or empty for all time")
    return found
