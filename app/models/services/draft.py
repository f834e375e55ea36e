"""A draft: what the builder edits of one audience (its details and criteria document), as a value.

Kept apart from the editing session, which brings the estimator and DuckDB, so that what only keeps or
compares drafts (autosave, the builder's undo commands, the list's activation check) stays light to
import before the main window shows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.models.services.audiences import AudienceInfo


@dataclass(frozen=True)
class Draft:
    """What the builder edits: the audience's details and its criteria document."""

    name: str
    #: Empty: partners see the audience's name.
    external_name: str
    input_ids: tuple[int, ...]
    tags: tuple[str, ...]
    criteria: dict[str, Any] = field(compare=True)

    @classmethod
    def of(cls, audience: AudienceInfo) -> Draft:
        return cls(audience.name, audience.external_name or "", tuple(sorted(audience.input_ids)), tuple(audience.tags),
                   copy.deepcopy(audience.criteria))

    def with_criteria(self, criteria: dict[str, Any]) -> Draft:
        return replace(self, criteria=criteria)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "external_name": self.external_name, "input_ids": list(self.input_ids),
                "tags": list(self.tags), "criteria": copy.deepcopy(self.criteria)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        return cls(str(data["name"]), str(data.get("external_name") or ""), tuple(int(i) for i in data.get("input_ids", ())),
                   tuple(str(t) for t in data.get("tags", ())), copy.deepcopy(data["criteria"]))
