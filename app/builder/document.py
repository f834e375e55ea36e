"""The criteria document: reading it, its JSON Schema, structural checks naming the node at fault,
canonical form.

This is the one reader every caller goes through (`estimate`, the builder, the server): a file is
read with `read_file`, and every document, whatever it came from, is checked by `problems`/`check`
before anything else touches it. Checks here need no cache: what JSON allows but a document may not
hold (NaN and infinite numbers, strings that are not text), how deep it nests (`MAX_GROUP_DEPTH`),
its shape (the JSON Schema in criteria.schema.json), unique node ids and empty groups. Checks
against the cache's catalog (unknown events or attributes, operators that do not fit a type) belong
to the compiler, which knows the catalog. Messages quote what the user wrote cut to a readable
length (`quoted`), however large it is.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

import jsonschema

from app.builder.criteria_types import completed_schema
from app.errors import InvalidInput

VERSION = 1
#: Groups nest at most this deep, the root group being the first level (docs/criteria.md). Deeper
#: documents are refused before anything walks them: the checker, the compiler and DuckDB's parser
#: all recurse once per level.
MAX_GROUP_DEPTH = 64
#: Objects and lists nest at most this deep anywhere in a document: room for the deepest groups
#: (two levels each: the node and its children) and a criterion's own fields.
MAX_NESTING = 2 * MAX_GROUP_DEPTH + 8
#: Integers a document may hold: 64 bits, what DuckDB, SQLite and PostgreSQL bind (a larger number
#: is written with an exponent, 1e30, and compared as a floating-point number).
LARGEST_INTEGER = 2**63 - 1
#: Quoted values in messages are cut to this many characters.
QUOTE_LENGTH = 80
#: A refusal's message lists at most this many problems (the rest are counted).
LISTED_PROBLEMS = 10


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: the node it concerns (its id, when it has one) and where."""

    node_id: str | None
    path: str  # e.g. "root.children[0].window.amount"
    message: str

    def __str__(self) -> str:
        path = self.path if len(self.path) <= 2 * QUOTE_LENGTH else f"{self.path[:QUOTE_LENGTH // 2]}…{self.path[-QUOTE_LENGTH:]}"
        where = f"node {self.node_id!r}" if self.node_id else path or "document"
        detail = f" ({path})" if self.node_id and path else ""
        return f"{where}{detail}: {self.message}"


class CriteriaError(InvalidInput):
    """A criteria document cannot be used; `problems` lists every reason, each naming its node."""

    def __init__(self, problems: list[Problem]):
        super().__init__(describe(problems))
        self.problems = problems


def quoted(value: Any, limit: int = QUOTE_LENGTH) -> str:
    """`value` as messages quote it (its repr), cut to `limit` characters with an ellipsis."""
    try:
        text = repr(value) if not isinstance(value, (dict, list)) or _small(value) else _summary(value)
    except RecursionError:  # a Python caller's self-referencing value
        text = f"a {type(value).__name__}"
    except ValueError:  # an integer of more digits than Python converts to text (4,300)
        text = f"an integer of {value.bit_length() * 0.30103:,.0f} digits" if isinstance(value, int) else f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def describe(found: list[Problem], prefix: str = "") -> str:
    """One line listing the first problems (each with `prefix`), counting the rest."""
    shown = "; ".join(prefix + str(p) for p in found[:LISTED_PROBLEMS])
    rest = len(found) - LISTED_PROBLEMS
    return shown + (f"; and {rest} more problem{'s' if rest > 1 else ''}" if rest > 0 else "")


def read_file(path: Path) -> Any:
    """The JSON value in a criteria file (to be checked by `check`); InvalidInput naming the file when
    it cannot be read, is not UTF-8 text, or is not JSON."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")  # a byte order mark some editors write is not part of the JSON
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                           "save it as UTF-8") from None
    return parse(text, str(path))


def parse(text: str, source: str = "the document") -> Any:
    """The JSON value of `text`; InvalidInput naming `source`, line and column when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from None
    except RecursionError:
        raise InvalidInput(f"{source}: nested too deeply (a criteria document nests at most {MAX_NESTING} levels)") from None
    except ValueError:  # Python refuses to convert integers of more than 4,300 digits
        raise InvalidInput(f"{source}: a number has more than 4,300 digits; no criteria document needs one") from None


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
    found = _values_problems(document)
    if found:
        return found
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


def _values_problems(document: Any) -> list[Problem]:
    """What JSON allows (or Python callers pass) but no document may hold, found without recursion so
    that no input, however deep, can exhaust the stack: nesting beyond the limits, NaN and infinite
    numbers (JSON has neither; Python's parser reads NaN, Infinity and 1e400 as such floats),
    integers beyond 64 bits (no database binds them),
    strings holding lone UTF-16 surrogates ("\\ud800" parses, but is no text and cannot be stored)."""
    found: list[Problem] = []

    def refuse(parts: tuple, message: str) -> None:
        found.append(Problem(_node_id_at(document, list(parts)), _path_text(parts), message))

    # (value, its path's parts, how deep it nests, how many groups hold it or are it)
    pending: list[tuple[Any, tuple, int, int]] = [(document, (), 0, 0)]
    while pending and len(found) <= LISTED_PROBLEMS:
        value, parts, nesting, groups = pending.pop()
        if isinstance(value, (dict, list)):
            if isinstance(value, dict) and value.get("type") == "group":
                groups += 1
                if groups > MAX_GROUP_DEPTH:
                    refuse(parts, f"groups nest at most {MAX_GROUP_DEPTH} levels deep (the root is the first); this one is level {groups}")
                    continue
            if nesting >= MAX_NESTING:
                refuse(parts, f"nested too deeply (a document nests at most {MAX_NESTING} levels)")
                continue
            items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
            for key, item in reversed(items):  # reversed: the stack pops them in document order
                if isinstance(key, str) and not _is_text(key):
                    refuse(parts, f"the field name {quoted(key)} holds a lone UTF-16 surrogate, which is not text")
                else:
                    pending.append((item, parts + (key,), nesting + 1, groups))
        elif isinstance(value, float) and not math.isfinite(value):
            what = "NaN" if math.isnan(value) else "an infinite number (or one beyond ±1.8e308, such as 1e400)"
            refuse(parts, f"{what} is not a number a document may hold; use a finite number")
        elif isinstance(value, int) and not isinstance(value, bool) and not -LARGEST_INTEGER <= value <= LARGEST_INTEGER:
            refuse(parts, f"{quoted(value, 30)} does not fit 64 bits (±{LARGEST_INTEGER:,}); "
                          "write a number this large with an exponent, such as 1e30")
        elif isinstance(value, str) and not _is_text(value):
            refuse(parts, f"{quoted(value)} holds a lone UTF-16 surrogate, which is not text")
    return found


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _small(value: Any) -> bool:
    """Whether a container's repr is short to make (a few scalars), so quoting it costs nothing."""
    return len(value) <= 8 and not any(isinstance(v, (dict, list)) for v in (value.values() if isinstance(value, dict) else value))


def _summary(value: dict | list) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(quoted(k, 30) + ": …" for k in list(value)[:4]) + (", …}" if len(value) > 4 else "}")
    return f"[a list of {len(value)}]"


def _path_text(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _node_id_at(document: Any, parts: list) -> str | None:
    """The id of the innermost node (group or criterion) that contains the failing field (quoted
    values are cut: an invalid id may be of any length)."""
    found = _node_id_in(document, parts)
    return found if found is None or len(found) <= QUOTE_LENGTH else found[:QUOTE_LENGTH - 1] + "…"


def _node_id_in(document: Any, parts: list) -> str | None:
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
    """jsonschema's message with the user's value quoted short (its messages repeat it whole)."""
    if error.validator == "required":
        return error.message.replace("is a required property", "is missing")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        unknown = [name for name in error.instance if name not in allowed]
        shown = ", ".join(quoted(name) for name in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        return f"unknown field{'s' if len(unknown) > 1 else ''} {shown}"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{quoted(error.instance)} is not one of: {allowed}"
    message = error.message
    try:
        whole = repr(error.instance)
    except (RecursionError, ValueError):
        whole = ""
    if whole and message.startswith(whole):
        message = quoted(error.instance) + message[len(whole):]
    return message if len(message) <= 4 * QUOTE_LENGTH else message[:4 * QUOTE_LENGTH - 1] + "…"
