"""Operators in the marketer's words: what the cards, their summaries, the engine's messages and Why say.

Documents keep their operator keys ("ge", "list_contains_any"); people read "at least", "contains
any of". Counts of events read "fewer than" where amounts read "less than".
"""

from __future__ import annotations

from typing import Any

OPERATOR_WORDS = {
    "contains": "contains", "not_contains": "does not contain", "equals": "is", "not_equals": "is not",
    "matches": "matches pattern", "in": "is one of", "not_in": "is none of",
    "eq": "equal to", "ne": "not equal to", "lt": "less than", "le": "at most", "gt": "more than", "ge": "at least",
    "between": "between",
    "before": "before", "after": "after", "on": "on", "between_dates": "between", "within": "in the last",
    "between_ago": "between … ago", "is_true": "is true", "is_false": "is false",
    "list_contains": "contains", "list_not_contains": "does not contain", "list_contains_any": "contains any of",
    "list_contains_all": "contains all of", "list_size": "has a size of", "exists": "exists",
    "not_exists": "does not exist",
}

#: A number of events (or a list's size) compared: "exactly 2 times", "fewer than 3 times".
COUNT_WORDS = {**OPERATOR_WORDS, "eq": "exactly", "ne": "not exactly", "lt": "fewer than"}

#: Aggregates of an event attribute.
FUNCTION_WORDS = {"sum": "total", "avg": "average", "min": "lowest", "max": "highest"}


def operator_words(operator: Any, *, count: bool = False) -> str:
    """The operator in words ("at least"); an unknown one as it is written."""
    return (COUNT_WORDS if count else OPERATOR_WORDS).get(operator, str(operator))


def value_words(value: Any) -> str:
    """A comparison's value as it is read: texts quoted, pairs joined by "and", lists by commas."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " and ".join(map(str, value)) if len(value) == 2 and all(isinstance(v, (int, float)) for v in value) \
            else ", ".join(map(str, value))
    if isinstance(value, dict):
        if "amount" in value:
            return f"{value['amount']} {value.get('unit', 'days')}"
        if "from" in value:
            return f"{value['from']} and {value['to']} {value.get('unit', 'days')}"
        if "operator" in value:
            return f"{operator_words(value['operator'], count=True)} {value_words(value.get('value'))}"
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)


def times_words(comparison: dict[str, Any]) -> str:
    """A count of events compared, in words: "at least 2 times", "fewer than 3 times", "exactly once"."""
    value = comparison.get("value")
    operator = comparison.get("operator")
    if operator == "between" and isinstance(value, list):
        return f"between {value_words(value)} times"
    times = "once" if value == 1 else f"{value} times"
    return f"{operator_words(operator, count=True)} {times}"
