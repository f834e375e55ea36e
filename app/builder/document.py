"""The criteria document: its JSON Schema, structural checks naming the node at fault, canonical form.

Checks here need no cache: shape (the JSON Schema in criteria.schema.json), unique node ids and
empty groups. Checks against the cache's catalog (unknown events or attributes, operators that do
not fit a type) belong to the compiler, which knows the catalog.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator

import jsonschema

from app.builder.criteria_types import completed_schema
from app.errors import InvalidInput

VERSION = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: the node it concerns (its id, when it has one) and where."""

    node_id: str | None
    path: str  # e.g. "root.children[0].window.amount"
    message: str

    def __str__(self) -> str:
        where = f"node {self.node_id!r}" if self.node_id else self.path or "document"
        detail = f" ({self.path})" if self.node_id and self.path else ""
        return f"{where}{detail}: {self.message}"


class CriteriaError(InvalidInput):
    """A criteria document cannot be used; `problems` lists every reason, each naming its node."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of version 1 documents (also published as docs' reference)."""
    text = resources.files("app.builder").joinpath("criteria.schema.json").read_text(encoding="utf-8")
    return completed_schema(json.loads(text))  # its node types come from the criteria types' registry


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def empty_document() -> dict[str, Any]:
    return {"version": VERSION, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": []}}


def problems(document: Any) -> list[Problem]:
    """Everything structurally wrong with `document` (an empty list when it is well formed)."""
    found: list[Problem] = []
    for error in sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        found.append(Problem(_node_id_at(document, list(error.absolute_path)), _path_text(error.absolute_path), _message(error)))
    if found:
        return found
    seen: dict[str, str] = {}
    for path, node in walk(document["root"]):
        node_id = node["id"]
        if node_id in seen:
            found.append(Problem(node_id, path, f"the id is used twice (also at {seen[node_id]}); ids must be unique"))
        seen.setdefault(node_id, path)
        if node["type"] == "group" and not node["children"] and path != "root":
            found.append(Problem(node_id, path, "the group is empty; add a criterion to it or remove it"))
    return found


def check(document: Any) -> dict[str, Any]:
    """The document, if well formed; otherwise CriteriaError with every problem."""
    found = problems(document)
    if found:
        raise CriteriaError(found)
    return document


def walk(node: dict[str, Any], path: str = "root") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every node of a tree, depth first, with its path."""
    yield path, node
    if node.get("type") == "group":
        for index, child in enumerate(node.get("children", [])):
            yield from walk(child, f"{path}.children[{index}]")


def canonical(document: dict[str, Any]) -> str:
    """A stable text of the document's meaning: keys sorted, labels and defaults dropped.

    Two documents with the same canonical text select the same users, so estimates are cached by it.
    """
    def strip(node: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in node.items() if k != "label" and not (k in ("exclude", "calculated") and v is False)}
        if node.get("type") == "group":
            out["children"] = [strip(child) for child in node["children"]]
        return out

    return json.dumps({"version": document["version"], "root": strip(copy.deepcopy(document["root"]))},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _path_text(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _node_id_at(document: Any, parts: list) -> str | None:
    """The id of the innermost node (group or criterion) that contains the failing field."""
    found = None
    current = document
    for part in parts:
        if isinstance(current, dict) and isinstance(current.get("id"), str) and "type" in current:
            found = current["id"]
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            break
    if isinstance(current, dict) and isinstance(current.get("id"), str) and "type" in current:
        found = current["id"]
    return found


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        return error.message.replace("is a required property", "is missing")
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown field").replace(" were unexpected", "").replace(" was unexpected", "")
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{error.instance!r} is not one of: {allowed}"
    return error.message
