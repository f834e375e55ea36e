"""Typed settings fields that partners declare, and checking the values an admin enters against them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from app.errors import InvalidInput

#: Kinds of field the Connections pane draws: a line edit, a URL, a folder picker, a drop-down, checkboxes...
FIELD_KINDS = ("text", "url", "folder", "choice", "choices", "integer", "boolean", "secret")

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Field:
    """One setting: its key, label, kind and rules, and the help the form shows under it."""

    key: str
    label: str
    kind: str = "text"
    required: bool = True
    help: str = ""
    default: Any = None
    choices: tuple[str, ...] = ()
    #: For text fields: a regular expression the whole value must match, and what to say when it does not.
    pattern: str | None = None
    pattern_message: str = ""
    minimum: int | None = None
    maximum: int | None = None
    #: URLs: plain http is accepted only for loopback addresses (a test server, a local relay).
    https_only: bool = True

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"Unknown field kind {self.kind!r}")


class SettingsProblems(InvalidInput):
    """Values that do not fit their fields; `problems` maps each field key to its message."""

    def __init__(self, problems: Mapping[str, str], what: str = "settings"):
        self.problems = dict(problems)
        listed = "; ".join(f"{key}: {message}" for key, message in self.problems.items())
        super().__init__(f"The {what} need changes: {listed}")


def clean_settings(fields: Sequence[Field], values: Mapping[str, Any], *, what: str = "settings") -> dict[str, Any]:
    """The values cleaned (trimmed, typed, defaults filled); SettingsProblems naming every bad field.

    Secret fields are refused here: their values belong in the keyring, never in settings.
    """
    known = {f.key: f for f in fields}
    problems: dict[str, str] = {}
    for key in values:
        if key not in known:
            problems[key] = f"not a setting of this partner (known: {', '.join(known) or 'none'})"
    cleaned: dict[str, Any] = {}
    for spec in fields:
        if spec.kind == "secret":
            if values.get(spec.key) not in (None, ""):
                problems[spec.key] = "is a secret: it is kept in the keyring, not in settings"
            continue
        try:
            value = _clean(spec, values.get(spec.key))
        except ValueError as exc:
            problems[spec.key] = str(exc)
            continue
        if value is not None:
            cleaned[spec.key] = value
    if problems:
        raise SettingsProblems(problems, what)
    return cleaned


def _missing(spec: Field) -> Any:
    if spec.default is not None:
        return list(spec.default) if isinstance(spec.default, tuple) else spec.default
    if spec.required:
        raise ValueError(f"{spec.label} is required")
    return None


def _clean(spec: Field, value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()) or value == []:
        return _missing(spec)
    if spec.kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"{spec.label} must be yes or no, not {value!r}")
    if spec.kind == "integer":
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"{spec.label} must be a whole number, not {value!r}") from None
        if spec.minimum is not None and number < spec.minimum:
            raise ValueError(f"{spec.label} must be at least {spec.minimum}")
        if spec.maximum is not None and number > spec.maximum:
            raise ValueError(f"{spec.label} must be at most {spec.maximum}")
        return number
    if spec.kind == "choices":
        items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v).strip() for v in value]
        items = list(dict.fromkeys(v for v in items if v))
        wrong = [v for v in items if v not in spec.choices]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not among: {', '.join(spec.choices)}")
        return items or _missing(spec)
    text = str(value).strip()
    if spec.kind == "choice" and text not in spec.choices:
        raise ValueError(f"{spec.label} must be one of: {', '.join(spec.choices)} (not {text!r})")
    if spec.kind == "url":
        _check_url(spec, text)
    if spec.kind == "folder" and not text.startswith(("/", "~")) and not re.match(r"^[A-Za-z]:[\\/]", text):
        raise ValueError(f"{spec.label} must be an absolute folder path, not {text!r}")
    if spec.pattern and not re.fullmatch(spec.pattern, text):
        raise ValueError(spec.pattern_message or f"{spec.label} is not in the expected form")
    return text


def _check_url(spec: Field, text: str) -> None:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{spec.label} must be a web address such as https://example.com/path, not {text!r}")
    if parts.scheme == "http" and spec.https_only and parts.hostname not in _LOOPBACK_HOSTS:
        raise ValueError(f"{spec.label} must use https (plain http is only accepted for 127.0.0.1 or localhost)")
    if parts.username or parts.password:
        raise ValueError(f"{spec.label} must not carry a user name or password; enter secrets in their own fields")


@dataclass(frozen=True)
class Fields:
    """A partner's fields, grouped as the configuration form shows them."""

    configuration: tuple[Field, ...] = ()
    secrets: tuple[Field, ...] = ()
    connection: tuple[Field, ...] = field(default_factory=tuple)
