"""Mapping NDJSON batch lines in a worker process, for large imports (see `importer.import_files`).

A worker gets a chunk of whole lines, either as bytes or as a byte range of an uncompressed file it
reads itself (so the importing process neither reads nor pickles the data), decodes and maps every
batch exactly as the in-process import does (`batches.map_batch`), and sends back Arrow IPC streams
(`staging.to_ipc`) plus what the report needs: counts, inputs seen, and the bad batches with their
line (counted within the chunk; the importer knows where the chunk starts) and field. No DuckDB here:
workers never touch the cache.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

import orjson

from app.connectors.batches import BatchError, Rows, map_batch
from app.connectors.staging import tables_of, to_ipc


@dataclass(frozen=True)
class LinesTask:
    source: str  # the file name, for reports
    first_seq: int  # line k of the chunk gets seq first_seq + k: increasing across chunks and files
    workspace_id: int
    feed: str | None
    skip_bad: bool
    file: int = 0  # which of the import's files
    data: bytes | None = None  # the chunk's lines, each ending with b"\n" (a file's last may not) ...
    path: str | None = None  # ... or where to read them: bytes start..end of an uncompressed file
    start: int = 0
    end: int = 0
    received_ms: int | None = None  # the import's moment: the time of a batch without one

    def lines(self) -> bytes:
        if self.data is not None:
            return self.data
        with open(self.path, "rb") as handle:  # type: ignore[arg-type]
            handle.seek(self.start)
            return handle.read(self.end - self.start)


@dataclass
class LinesResult:
    streams: list[tuple[str, bytes]] = field(default_factory=list)
    batches: int = 0
    events: int = 0
    lines: int = 0  # non-blank lines read, good or bad
    newlines: int = 0  # line breaks in the chunk, to number the next chunk's lines
    inputs: set[tuple[str, str]] = field(default_factory=set)
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (line index in the chunk, path, message)


def json_reason(exc: orjson.JSONDecodeError) -> str:
    return str(exc.msg) if getattr(exc, "msg", None) else str(exc)


def map_lines(task: LinesTask) -> LinesResult:
    """Map a chunk's batches; without skip_bad, stop at the first bad one (the import will fail)."""
    result = LinesResult()
    rows = Rows()
    ws, feed, first_seq = task.workspace_id, task.feed, task.first_seq
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    data = task.lines()
    result.newlines = data.count(b"\n")
    enabled = gc.isenabled()
    gc.disable()  # mapping makes no reference cycles; collections would only rescan the buffers
    try:
        for k, line in enumerate(data.split(b"\n")):
            if not line.strip():
                continue
            result.lines += 1
            try:
                try:
                    batch = loads(line)
                except decode_error as exc:
                    raise BatchError("", f"not valid JSON ({json_reason(exc)})") from None
                info = map_batch(batch, rows, workspace_id=ws, seq=first_seq + k, feed=feed, received_ms=task.received_ms)
            except BatchError as exc:
                result.bad.append((k, exc.path, exc.message))
                if not task.skip_bad:
                    return result
                continue
            result.inputs.add((info.input_kind, info.input_name))
            result.batches += 1
            result.events += info.events
        result.streams = to_ipc(tables_of(rows))
        return result
    finally:
        if enabled:
            gc.enable()
