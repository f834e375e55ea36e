"""Names shown in widgets that read "&" as a shortcut marker (check boxes, buttons, tabs, group boxes,
form labels): a workspace called "Harbor & Pine US" must not appear as "Harbor _Pine US"."""

from __future__ import annotations


def literal(text: str) -> str:
    """`text` with each "&" doubled, which Qt shows as one "&" instead of underlining the next letter."""
    return text.replace("&", "&&")
