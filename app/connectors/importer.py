"""Import of mParticle batch files (.json, .ndjson, optionally .gz) into the cache, all or nothing.

One import is one cache transaction. Without `skip_bad`, the first malformed batch stops the import
and nothing of it is kept; with `skip_bad`, malformed batches are reported and the rest is loaded.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from app.connectors.batches import BatchError, Rows, map_batch
from app.connectors.cache import Cache
from app.errors import InvalidInput, UserError

log = logging.getLogger(__name__)

#: Rows are handed to DuckDB in chunks of about this many events: big enough for fast bulk loads,
#: small enough that memory stays flat however large the file.
CHUNK_EVENTS = 100_000


class Cancelled(UserError):
    """The user cancelled; nothing was kept."""


@dataclass(frozen=True)
class BadBatch:
    """A batch that could not be imported, and where it is."""

    source: str  # file name, or "demo"
    where: str  # "line 12" or "batch 3"
    path: str  # the field, e.g. "events[2].data.timestamp_unixtime_ms"
    message: str

    def __str__(self) -> str:
        field_part = f", field {self.path}" if self.path else ""
        return f"{self.source}, {self.where}{field_part}: {self.message}"


class ImportFailed(InvalidInput):
    """A malformed batch stopped an import; nothing was imported."""

    def __init__(self, bad: BadBatch):
        super().__init__(f"{bad}\nNothing was imported. Fix the batch, or run again with --skip-bad to import the rest.")
        self.bad = bad


@dataclass
class ImportReport:
    batches: int = 0
    events: int = 0
    bad: list[BadBatch] = field(default_factory=list)
    #: workspace id → the inputs seen, as (kind, name): platforms and feeds to register in the store.
    inputs: dict[int, set[tuple[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class SourcedBatch:
    """A batch with where it came from and where it goes."""

    workspace_id: int
    feed: str | None
    batch: Any  # the decoded JSON, or the BatchError that reading it raised
    source: str
    where: str


ProgressFn = Callable[[int], None]  # called with the number of batches read so far


def import_files(
    cache: Cache,
    files: Iterable[Path],
    *,
    workspace_id: int,
    feed: str | None = None,
    skip_bad: bool = False,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ImportReport:
    """Load every batch of `files` into the workspace, in one transaction."""
    paths = [Path(f) for f in files]
    for path in paths:
        if not path.is_file():
            raise InvalidInput(f"{path}: no such file")
        if _format_of(path) is None:
            raise InvalidInput(f"{path}: not a batch file; expected .json, .ndjson or either with .gz")

    def batches() -> Iterator[SourcedBatch]:
        for path in paths:
            for where, batch in read_batch_file(path):
                yield SourcedBatch(workspace_id, feed, batch, path.name, where)

    description = ", ".join(p.name for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return import_batches(cache, batches(), source="import", description=description,
                          skip_bad=skip_bad, progress=progress, cancelled=cancelled)


def import_batches(
    cache: Cache,
    batches: Iterable[SourcedBatch],
    *,
    source: str,
    description: str = "",
    skip_bad: bool = False,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ImportReport:
    """Map and load batches in one cache transaction; the demo and the file import both end here."""
    report = ImportReport()
    with cache.writing(source=source, description=description) as writer:
        rows = Rows()
        pending = 0
        for seq, item in enumerate(batches):
            if cancelled is not None and seq % 1000 == 0 and cancelled():
                raise Cancelled("Import cancelled; nothing was imported.")
            try:
                if isinstance(item.batch, BatchError):
                    raise item.batch
                info = map_batch(item.batch, rows, workspace_id=item.workspace_id, seq=seq, feed=item.feed)
            except BatchError as exc:
                bad = BadBatch(item.source, item.where, exc.path, exc.message)
                if not skip_bad:
                    raise ImportFailed(bad) from None
                log.warning("skipped %s", bad)
                report.bad.append(bad)
                continue
            report.inputs.setdefault(item.workspace_id, set()).add((info.input_kind, info.input_name))
            report.batches += 1
            report.events += info.events
            pending += 1
            if rows.event_count >= CHUNK_EVENTS:
                writer.add(rows, pending)
                rows, pending = Rows(), 0
            if progress is not None and seq % 1000 == 0:
                progress(seq)
        if pending:
            writer.add(rows, pending)
    cache.refresh_catalogs()
    log.info("imported %d batches, %d events (%d bad) from %s", report.batches, report.events, len(report.bad), description or source)
    return report


# ---------------------------------------------------------------------------------------------------


def _format_of(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in (".json", ".ndjson", ".jsonl"):
        return "ndjson" if suffixes[-1] in (".ndjson", ".jsonl") else "json"
    return None


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def read_batch_file(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield (where, batch) for each batch of a file; a batch that cannot be decoded is a BatchError.

    A .json file holds one batch or a list of them (what /v2/events and /v2/bulkevents take); a
    .ndjson file holds a batch per line.
    """
    kind = _format_of(path)
    try:
        with _open(path) as handle:
            if kind == "ndjson":
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        yield f"line {number}", orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        yield f"line {number}", BatchError("", f"not valid JSON ({_json_reason(exc)})")
                return
            data = handle.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc})") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        line = data.count(b"\n", 0, exc.pos) + 1
        raise InvalidInput(f"{path}: not valid JSON at line {line} ({_json_reason(exc)}); nothing was imported") from None
    if isinstance(document, list):
        for number, batch in enumerate(document, start=1):
            yield f"batch {number}", batch
    else:
        yield "batch 1", document


def _json_reason(exc: orjson.JSONDecodeError) -> str:
    return str(exc.msg) if getattr(exc, "msg", None) else str(exc)
