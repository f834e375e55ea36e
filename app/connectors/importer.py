"""Import of mParticle batch files (.json, .ndjson, optionally .gz) into the cache, all or nothing.

One import is one cache transaction. Without `skip_bad`, the first malformed batch stops the import
and nothing of it is kept; with `skip_bad`, malformed batches are reported and the rest is loaded.

Large NDJSON imports map their lines in worker processes (`import_worker`, "spawn" context: the parent
holds a DuckDB connection and must never fork) while this process reads the files and loads the Arrow
tables the workers send back, in file order, into the one transaction. Small imports, .json files and
the demo stay in-process. Both paths map with `batches.map_batch` and give the same cache contents.
"""

from __future__ import annotations

import collections
import gzip
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from app.connectors.batches import BatchError, Rows, map_batch
from app.connectors.cache import Cache, CacheWriter
from app.connectors.import_worker import LinesResult, LinesTask, json_reason, map_lines
from app.connectors.staging import concat_tables, from_ipc
from app.errors import InvalidInput, UserError

log = logging.getLogger(__name__)

#: Rows are handed to DuckDB in chunks of about this many events: big enough for fast bulk loads,
#: small enough that memory stays flat however large the file.
CHUNK_EVENTS = 100_000

#: NDJSON imports of at least this many bytes (on disk) are mapped in worker processes: below it,
#: starting the workers costs more than they save.
PARALLEL_MIN_BYTES = 20_000_000

#: Bytes of whole lines a worker maps at a time.
PARALLEL_CHUNK_BYTES = 4_000_000


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
    parallel: bool | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Load every batch of `files` into the workspace, in one transaction.

    `parallel` None decides by size (`PARALLEL_MIN_BYTES`) and cores; True maps NDJSON files in
    `workers` processes (default: one per core) whatever their size; False keeps it in-process.
    """
    paths = [Path(f) for f in files]
    for path in paths:
        if not path.is_file():
            raise InvalidInput(f"{path}: no such file")
        if _format_of(path) is None:
            raise InvalidInput(f"{path}: not a batch file; expected .json, .ndjson or either with .gz")
    description = ", ".join(p.name for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    cores = os.cpu_count() or 1
    if parallel is None:
        parallel = cores > 1 and sum(p.stat().st_size for p in paths) >= PARALLEL_MIN_BYTES
    if parallel and all(_format_of(p) == "ndjson" for p in paths):
        return _import_parallel(cache, paths, workspace_id=workspace_id, feed=feed, skip_bad=skip_bad,
                                progress=progress, cancelled=cancelled, description=description,
                                workers=max(1, workers or cores))

    def batches() -> Iterator[SourcedBatch]:
        for path in paths:
            for where, batch in read_batch_file(path):
                yield SourcedBatch(workspace_id, feed, batch, path.name, where)

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
    refresh: bool = True,
    received_ms: int | None = None,
) -> ImportReport:
    """Map and load batches in one cache transaction; the demo and the file import both end here.

    `refresh=False` leaves the catalogs and sample to the caller, who loads more parts first.
    `received_ms` is the import's moment (default: now), the time of a batch without one of its own.
    """
    report = ImportReport()
    if received_ms is None:
        received_ms = import_moment()
    with cache.writing(source=source, description=description) as writer:
        rows = Rows()
        pending = 0
        for seq, item in enumerate(batches):
            if cancelled is not None and seq % 1000 == 0 and cancelled():
                raise Cancelled("Import cancelled; nothing was imported.")
            try:
                if isinstance(item.batch, BatchError):
                    raise item.batch
                info = map_batch(item.batch, rows, workspace_id=item.workspace_id, seq=seq, feed=item.feed,
                                 received_ms=received_ms)
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
    if refresh:
        cache.refresh_catalogs()
    log.info("imported %d batches, %d events (%d bad) from %s", report.batches, report.events, len(report.bad), description or source)
    return report


def _import_parallel(
    cache: Cache,
    paths: list[Path],
    *,
    workspace_id: int,
    feed: str | None,
    skip_bad: bool,
    progress: ProgressFn | None,
    cancelled: Callable[[], bool] | None,
    description: str,
    workers: int,
) -> ImportReport:
    """`import_files` with the mapping in worker processes; results are loaded in file order."""
    report = ImportReport()
    tasks = _line_tasks(paths, workspace_id=workspace_id, feed=feed, skip_bad=skip_bad, received_ms=import_moment())
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    finished = False
    try:
        with cache.writing(source="import", description=description) as writer:
            pending: collections.deque[tuple[LinesTask, Future[LinesResult]]] = collections.deque()
            loading: list[tuple[dict[str, pa.Table], int]] = []  # chunks mapped, not yet loaded
            loading_events = 0
            read = 0
            file, first_line = -1, 1  # the file being loaded, and the number of its chunk's first line

            def fill() -> None:
                # Two chunks per worker in flight: every worker stays busy, memory stays bounded.
                while len(pending) < 2 * workers:
                    task = next(tasks, None)
                    if task is None:
                        return
                    pending.append((task, pool.submit(map_lines, task)))

            fill()
            while pending:
                if cancelled is not None and cancelled():
                    raise Cancelled("Import cancelled; nothing was imported.")
                task, future = pending.popleft()
                result = future.result()
                fill()
                if task.file != file:  # chunks come in file order
                    file, first_line = task.file, 1
                for k, path, message in result.bad:
                    bad = BadBatch(task.source, f"line {first_line + k}", path, message)
                    if not skip_bad:
                        raise ImportFailed(bad)
                    log.warning("skipped %s", bad)
                    report.bad.append(bad)
                first_line += result.newlines
                if result.batches:
                    loading.append((from_ipc(result.streams), result.batches))
                    loading_events += result.events
                    report.inputs.setdefault(workspace_id, set()).update(result.inputs)
                    report.batches += result.batches
                    report.events += result.events
                    if loading_events >= CHUNK_EVENTS:  # fewer, bigger inserts load faster
                        _load(writer, loading)
                        loading, loading_events = [], 0
                read += result.lines
                if progress is not None:
                    progress(read)
            _load(writer, loading)
        finished = True
    finally:
        _stop(pool, finished)
    cache.refresh_catalogs()
    log.info("imported %d batches, %d events (%d bad) from %s in %d processes",
             report.batches, report.events, len(report.bad), description, workers)
    return report


def import_moment() -> int:
    """Now, in milliseconds: one moment per import run, the time of its batches that carry none."""
    return time.time_ns() // 1_000_000


def _load(writer: CacheWriter, chunks: list[tuple[dict[str, pa.Table], int]]) -> None:
    """Load mapped chunks as one: their tables concatenated, event indices shifted to match."""
    if len(chunks) == 1:
        writer.add_tables(*chunks[0])
    elif chunks:
        writer.add_tables(concat_tables([tables for tables, _ in chunks]), sum(batches for _, batches in chunks))


def _stop(pool: ProcessPoolExecutor, finished: bool) -> None:
    """Shut the workers down; after a failure or cancel, without waiting for chunks nobody will use."""
    if not finished:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            if process.is_alive():
                process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _line_tasks(paths: list[Path], *, workspace_id: int, feed: str | None, skip_bad: bool,
                received_ms: int) -> Iterator[LinesTask]:
    """Cut the files into chunks of whole lines. A chunk's first seq is its byte offset across all
    files: a line is at least one byte, so seq (offset + line index in the chunk) increases with every
    batch, ordering them exactly as they come, like the in-process import's running count."""
    offset = 0
    for number, path in enumerate(paths):
        if path.suffix.lower() == ".gz":  # no seeking in a gzip stream: this process reads it
            at = offset
            for data in _whole_lines(path, PARALLEL_CHUNK_BYTES):
                yield LinesTask(path.name, at, workspace_id, feed, skip_bad, file=number, data=data, received_ms=received_ms)
                at += len(data)
            offset = at
        else:
            for start, end in _line_ranges(path, PARALLEL_CHUNK_BYTES):
                yield LinesTask(path.name, offset + start, workspace_id, feed, skip_bad, file=number,
                                path=str(path), start=start, end=end, received_ms=received_ms)
            offset += path.stat().st_size
        offset += 1  # files need not end with a line break: keep the next file's seqs apart


def _line_ranges(path: Path, size: int) -> Iterator[tuple[int, int]]:
    """Byte ranges of about `size` that start and end on line boundaries."""
    try:
        total = path.stat().st_size
        with open(path, "rb") as handle:
            start = 0
            while start < total:
                end = start + size
                if end >= total:
                    end = total
                else:
                    handle.seek(end)
                    end += len(handle.readline())  # to just past the next line break
                yield start, end
                start = end
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc})") from None


def _whole_lines(path: Path, size: int) -> Iterator[bytes]:
    try:
        with _open(path) as handle:
            rest = b""
            while True:
                block = handle.read(size)
                if not block:
                    break
                cut = block.rfind(b"\n") + 1
                if cut == 0:
                    rest += block
                    continue
                yield rest + block[:cut]
                rest = block[cut:]
            if rest:
                yield rest
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc})") from None


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


_json_reason = json_reason
