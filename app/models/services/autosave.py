"""Autosaved drafts: an audience's unsaved edits, kept in the home so a crash or kill loses nothing.

One JSON file per audience in `Home.autosave_dir`, written atomically (a temporary file beside it,
then `os.replace`), removed once the audience is saved or the draft discarded.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.models.services.draft import Draft
from app.paths import Home

log = logging.getLogger(__name__)

FORMAT = 1


@dataclass(frozen=True)
class Autosave:
    """A draft found in the autosave folder."""

    audience_id: int
    #: The audience's name when the draft was written (the draft may rename it).
    audience_name: str
    saved_at: dt.datetime
    draft: Draft
    path: Path


def _home(home: Any) -> Home:
    return home if isinstance(home, Home) else home.home  # an OpenHome works too


def autosave_path(home: Home | Any, audience_id: int) -> Path:
    return _home(home).autosave_dir / f"audience-{int(audience_id)}.json"


def write_autosave(home: Home | Any, audience_id: int, audience_name: str, draft: Draft,
                   *, now: dt.datetime | None = None) -> Path:
    """Write the draft (replacing an older one) so that a reader sees the old file or the new, never half."""
    path = autosave_path(home, audience_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    moment = now or dt.datetime.now(dt.timezone.utc)
    payload = {"format": FORMAT, "audience_id": int(audience_id), "audience_name": audience_name,
               "saved_at": moment.isoformat(), "draft": draft.as_json()}
    handle, temporary = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(payload, out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def remove_autosave(home: Home | Any, audience_id: int) -> None:
    autosave_path(home, audience_id).unlink(missing_ok=True)


def read_autosave(path: Path) -> Autosave:
    """One autosave file; ValueError (naming the file) when it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        saved_at = dt.datetime.fromisoformat(data["saved_at"])
        return Autosave(int(data["audience_id"]), str(data.get("audience_name") or ""), saved_at,
                        Draft.from_json(data["draft"]), path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"The autosaved draft {path} cannot be read: {exc}") from exc


def find_autosaves(home: Home | Any) -> list[Autosave]:
    """Every readable autosaved draft of the home, newest first; unreadable files are logged and left."""
    folder = _home(home).autosave_dir
    found: list[Autosave] = []
    for path in sorted(folder.glob("audience-*.json")) if folder.is_dir() else []:
        try:
            found.append(read_autosave(path))
        except ValueError as exc:
            log.warning("%s", exc)
    found.sort(key=lambda a: a.saved_at, reverse=True)
    return found
