"""Audience downloads: a ZIP with one CSV of identities per audience (or per variation of its A/B test)
and a manifest.json that describes the files.

Each CSV has the columns `mpid, scanned_timestamp_ms, identity_value, identity_type` and one row per
identity: a member with an email and an IDFA has two rows. A member's identities come from every
workspace of the profile (as forwarding sends them), and `scanned_timestamp_ms` is the profile's
latest `last_seen` in any workspace, in milliseconds since the epoch (UTC). Members without any of
the chosen identity types have no rows, so `total_users` counts the members that appear in a file.

Text cells a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return)
get a single quote in front, as OWASP advises against CSV injection; the numeric columns are
written as plain integers and left alone (a negative mpid is a number, not a formula).

Rows stream from DuckDB in Arrow record batches straight into the ZIP entry; a large file is counted
and read in slices of members (mpid ranges of about SLICE_ROWS rows each), each sorted by mpid, so
neither Python nor DuckDB holds more than a slice however large the audience. The manifest's
figures are counted as the rows are written, so they are true to the files. The ZIP is written to a temporary file beside the target and renamed at the
end: a cancelled or failed download leaves no file behind and any existing target untouched.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import threading
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import InvalidInput, NotFound, UserError
from app.models.services.audiences import AudienceInfo
from app.engines.home import OpenHome
from app.engines.members import Variation, members_sql
from app.models.store.schema import ABTest

CSV_COLUMNS = ("mpid", "scanned_timestamp_ms", "identity_value", "identity_type")
MANIFEST_NAME = "manifest.json"
#: What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Rows fetched from DuckDB at a time; Cancel is checked between chunks.
CHUNK_ROWS = 20_000
#: Rows DuckDB sorts at a time: a larger file is written in slices of members of about this many rows.
SLICE_ROWS = 500_000
#: Longest file name stem inside the ZIP (some file systems allow 255 bytes; leave room for " (2).csv").
MAX_STEM = 120
#: Names Windows refuses for a file, whatever the extension.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')

Progress = Callable[[int, int], None]


class DownloadCancelled(UserError):
    """The user cancelled the download; nothing was written."""


@dataclass(frozen=True)
class Part:
    """One CSV of the download: an audience, or one variation of its A/B test."""

    audience: AudienceInfo
    variation: Variation | None = None

    @property
    def title(self) -> str:
        """As partners see it: "[Audience External Name] - [Variation Name]"."""
        name = self.audience.effective_external_name
        return name if self.variation is None else f"{name} - {self.variation.name}"


@dataclass(frozen=True)
class DownloadChoices:
    """What the download dialog offers for the chosen audiences."""

    audiences: list[AudienceInfo]
    #: identity type -> identities of that type in the audiences' workspaces
    identity_types: dict[str, int]
    #: audience id -> the variations of its saved A/B test (absent when it has none)
    variations: dict[int, list[Variation]] = field(default_factory=dict)


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    manifest: dict[str, Any]

    @property
    def total_rows(self) -> int:
        return self.manifest["total_rows"]


# -- what can be downloaded ----------------------------------------------------------------------


def saved_variations(home: OpenHome, audience_id: int) -> list[Variation]:
    """The variations of the audience's saved A/B test, Control first; [] when it has no test."""
    with home.store.transaction() as session:
        test = session.query(ABTest).filter(ABTest.audience_id == audience_id).one_or_none()
        if test is None:
            return []
        rows = sorted(test.variants, key=lambda v: v.position)
        percents = tuple(v.percent for v in rows)
        return [Variation(v.id, audience_id, v.name, v.position, test.seed, percents) for v in rows]


def identity_types(home: OpenHome, workspace_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Identity type -> how many identities of it the cache holds (in the workspaces given, or in all)."""
    cursor = home.cache.cursor()
    try:
        where, params = "", []
        if workspace_ids is not None:
            if not workspace_ids:
                return {}
            where = f"WHERE workspace_id IN ({', '.join('?' for _ in workspace_ids)})"
            params = list(workspace_ids)
        rows = cursor.execute(f"SELECT identity_type, count(*) FROM identities {where} GROUP BY 1 ORDER BY 1",
                              params).fetchall()
    finally:
        cursor.close()
    return {identity_type: count for identity_type, count in rows}


def read_choices(home: OpenHome, audience_ids: Sequence[int]) -> DownloadChoices:
    """Runs in a worker: the audiences, the identity types of their workspaces, their saved variations."""
    audiences = [home.audiences.get(i) for i in audience_ids]
    workspaces = sorted({ws for a in audiences for ws in a.workspace_ids})
    variations = {a.id: found for a in audiences if (found := saved_variations(home, a.id))}
    return DownloadChoices(audiences, identity_types(home, workspaces), variations)


def parts_for(home: OpenHome, audiences: Sequence[AudienceInfo], variants: Sequence[str] | None = None) -> list[Part]:
    """The CSVs for the command line: each audience whole; with `variants` (names or ids of variations,
    or "all"), a tested audience is split into the variations named instead."""
    if not variants:
        return [Part(a) for a in audiences]
    # casefolded -> as the user wrote it, for the messages
    wanted = {v.strip().casefold(): v.strip() for v in variants if v.strip()}
    every = "all" in wanted
    parts: list[Part] = []
    matched: set[str] = set()
    for audience in audiences:
        found = saved_variations(home, audience.id)
        if not found:
            parts.append(Part(audience))
            continue
        chosen = []
        for v in found:
            keys = {v.name.casefold(), str(v.id)} & wanted.keys()
            if every or keys:
                chosen.append(v)
                matched |= keys
        if not chosen:
            names = ", ".join(f"{v.name} (id {v.id})" for v in found)
            raise InvalidInput(f'None of the variations asked for is in the A/B test of "{audience.name}"; '
                               f"its variations are: {names}.")
        parts.extend(Part(audience, v) for v in chosen)
    unknown = [text for key, text in wanted.items() if key not in matched and key != "all"]
    if unknown:
        tested = [f'"{a.name}"' for a in audiences if saved_variations(home, a.id)]
        where = f"the A/B test of {', '.join(tested)}" if tested else "these audiences (none has a saved A/B test)"
        raise InvalidInput(f"There is no variation {', '.join(unknown)} in {where}.")
    return parts


def default_identity_types(home: OpenHome, audiences: Sequence[AudienceInfo]) -> list[str]:
    """Every identity type the audiences' workspaces hold (the dialog's default, and the command line's)."""
    found = list(identity_types(home, sorted({ws for a in audiences for ws in a.workspace_ids})))
    if not found:
        names = ", ".join(f'"{a.name}"' for a in audiences)
        raise UserError(f"The cache holds no identities in the workspaces of {names}: import or sync their data first.")
    return found


def check_identity_types(home: OpenHome, wanted: Iterable[str]) -> list[str]:
    """The identity types asked for, each once, refused when the cache has no identity of that type."""
    chosen = list(dict.fromkeys(t.strip() for t in wanted if t.strip()))
    if not chosen:
        raise InvalidInput("Choose at least one identity type to download.")
    known = identity_types(home)
    unknown = [t for t in chosen if t not in known]
    if unknown:
        present = ", ".join(known) or "none (import or sync some data first)"
        raise InvalidInput(f"The cache holds no identities of type {', '.join(unknown)}; types present: {present}.")
    return chosen


# -- cells and names -----------------------------------------------------------------------------


def neutralised(text: str) -> str:
    """The cell as a spreadsheet shows it, never run: a formula-looking value gets a leading single quote."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_stem(text: str) -> str:
    """A file name stem every OS accepts: no path or reserved characters, no trailing dot or space,
    not a reserved device name, not too long."""
    stem = _UNSAFE.sub("_", unicodedata.normalize("NFC", text)).strip().rstrip(". ")
    stem = stem[:MAX_STEM].rstrip(". ") or "audience"
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    return stem


def unique_file_names(titles: Sequence[str]) -> list[str]:
    """One safe .csv name per title, unique ignoring case (Windows and macOS ignore it too)."""
    names, taken = [], set()
    for title in titles:
        stem = safe_stem(title)
        name, n = f"{stem}.csv", 1
        while name.casefold() in taken:
            n += 1
            name = f"{stem} ({n}).csv"
        taken.add(name.casefold())
        names.append(name)
    return names


def default_archive_name(audiences: Sequence[AudienceInfo], today: dt.date | None = None) -> str:
    """What the ZIP is called unless the user says otherwise."""
    day = (today or dt.date.today()).isoformat()  # the user's own date, as in their file manager
    subject = audiences[0].name if len(audiences) == 1 else f"{len(audiences)} audiences"
    return f"{safe_stem(subject)} - {day}.zip"


# -- writing the ZIP -----------------------------------------------------------------------------


@dataclass
class _Tally:
    """The manifest's figures of one file (or of the whole download), counted as rows are written."""

    min_ms: int | None = None
    max_ms: int | None = None
    users: int = 0
    rows: int = 0
    by_identity: dict[str, int] = field(default_factory=dict)

    def add_timestamp(self, ms: int | None) -> None:
        if ms is None:
            return
        if self.min_ms is None or ms < self.min_ms:
            self.min_ms = ms
        if self.max_ms is None or ms > self.max_ms:
            self.max_ms = ms

    def add(self, other: _Tally) -> None:
        self.add_timestamp(other.min_ms)
        self.add_timestamp(other.max_ms)
        self.users += other.users
        self.rows += other.rows
        for key, count in other.by_identity.items():
            self.by_identity[key] = self.by_identity.get(key, 0) + count


def _in_range(column: str, bounds: tuple[int | None, int | None]) -> str:
    """`column` within a slice's (exclusive low, inclusive high] mpid bounds; None is open-ended.

    The bounds are written as literals (integers this module computed, never user text) so DuckDB
    prunes row groups and pushes the range into every table the query reads.
    """
    low, high = bounds
    parts = ([f"{column} > {int(low)}"] if low is not None else []) + ([f"{column} <= {int(high)}"] if high is not None else [])
    return " AND ".join(parts) or "true"


def _count_sql(members: str, types: Sequence[str], bounds: tuple[int | None, int | None]) -> str:
    """The rows one slice of a part reads (before repeats across workspaces are dropped);
    parameters: members', types."""
    wanted = ", ".join("?" for _ in types)
    return (f"WITH members AS MATERIALIZED (SELECT mpid FROM ({members}) WHERE {_in_range('mpid', bounds)})\n"
            f"SELECT count(*) FROM identities i SEMI JOIN members m ON i.mpid = m.mpid "
            f"WHERE i.identity_type IN ({wanted}) AND {_in_range('i.mpid', bounds)}")


def _rows_sql(members: str, types: Sequence[str], bounds: tuple[int | None, int | None]) -> str:
    """The rows of one slice of a part, by member; parameters: members', types."""
    # No workspace filter on identities or profiles: every workspace of the profile counts, as in forwarding.
    # Ordered by mpid so users are counted, and repeats across workspaces dropped, one row at a time.
    wanted = ", ".join("?" for _ in types)
    return (f"WITH members AS MATERIALIZED (SELECT mpid FROM ({members}) WHERE {_in_range('mpid', bounds)}),\n"
            f"seen AS (SELECT p.mpid, epoch_ms(max(p.last_seen)) AS scanned_ms FROM profiles p "
            f"SEMI JOIN members m ON p.mpid = m.mpid WHERE {_in_range('p.mpid', bounds)} GROUP BY p.mpid)\n"
            f"SELECT i.mpid, s.scanned_ms, i.value, i.identity_type FROM identities i "
            f"SEMI JOIN members m ON i.mpid = m.mpid "
            f"LEFT JOIN seen s ON s.mpid = i.mpid "
            f"WHERE i.identity_type IN ({wanted}) AND {_in_range('i.mpid', bounds)}\n"
            f"ORDER BY 1, 4, 3")


@dataclass
class _Query:
    """One part's members query, its slices (mpid ranges) and the rows each slice reads."""

    members: str
    params: list[object]
    workspace_ids: tuple[int, ...]
    slices: list[tuple[tuple[int | None, int | None], int]] = field(default_factory=list)


class _Download:
    """One download in progress: the cursor, the progress so far and the Cancel flag."""

    def __init__(self, home: OpenHome, cursor, types: Sequence[str], now: dt.datetime | None,
                 progress: Progress | None, cancelled: threading.Event | None, chunk_rows: int,
                 slice_rows: int) -> None:
        self.home, self.cursor, self.types, self.now = home, cursor, list(types), now
        self.progress, self.cancelled = progress, cancelled
        self.chunk_rows, self.slice_rows = chunk_rows, slice_rows
        self.done = 0
        self.total = 0

    def check(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise DownloadCancelled("The download was cancelled; no file was written.")

    def queries(self, parts: Sequence[Part]) -> list[_Query]:
        return [_Query(*members_sql(self.home, part.audience, self.cursor, now=self.now, variation=part.variation),
                       part.audience.workspace_ids) for part in parts]

    def _count(self, query: _Query, bounds: tuple[int | None, int | None]) -> int:
        self.check()
        return self.cursor.execute(_count_sql(query.members, self.types, bounds),
                                   query.params + self.types).fetchall()[0][0]

    def _ranges(self, query: _Query, slices: int) -> list[tuple[int | None, int | None]]:
        """`slices` mpid ranges holding about as many of the workspaces' profiles each (open-ended at both ends,
        so every member falls in exactly one whatever its mpid)."""
        if slices <= 1:
            return [(None, None)]
        placeholders = ", ".join("?" for _ in query.workspace_ids) or "NULL"
        quantiles = ", ".join(str(i / slices) for i in range(1, slices))
        edges = self.cursor.execute(
            f"SELECT approx_quantile(mpid, [{quantiles}]) FROM profiles WHERE workspace_id IN ({placeholders})",
            list(query.workspace_ids)).fetchall()[0][0] or []
        edges = sorted({int(e) for e in edges if e is not None})
        return list(zip([None, *edges], [*edges, None]))

    def count(self, queries: Sequence[_Query]) -> None:
        """Count every part's rows, slice by slice, so counting holds no more members than writing does.

        How many slices: the identities of the audience's workspaces bound the rows; when they exceed a
        slice, the first of that many slices is counted and scaled up to pick the number of slices that
        are then counted exactly and written.
        """
        for query in queries:
            wanted = ", ".join("?" for _ in self.types)
            placeholders = ", ".join("?" for _ in query.workspace_ids) or "NULL"
            bound = self.cursor.execute(
                f"SELECT count(*) FROM identities WHERE workspace_id IN ({placeholders}) AND identity_type IN ({wanted})",
                list(query.workspace_ids) + self.types).fetchall()[0][0]
            first = self._ranges(query, -(-bound // self.slice_rows))
            sampled = self._count(query, first[0])
            ranges = self._ranges(query, -(-(sampled * len(first)) // self.slice_rows))
            query.slices = [(bounds, sampled if bounds == first[0] else self._count(query, bounds)) for bounds in ranges]
            self.total += sum(rows for _, rows in query.slices)
        self.report()

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total)

    def write_file(self, archive: zipfile.ZipFile, name: str, query: _Query) -> _Tally:
        """One CSV, written slice by slice: each slice is a disjoint range of mpids, so DuckDB sorts at
        most about `slice_rows` rows at a time however large the audience, and the file is in mpid order."""
        tally = _Tally(by_identity={t: 0 for t in self.types})
        with archive.open(name, "w", force_zip64=True) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(CSV_COLUMNS)
            for bounds, rows in query.slices:
                self.check()
                if not rows:
                    continue
                # A relation's reader streams; an executed result's Arrow output would copy every row first.
                reader = self.cursor.sql(_rows_sql(query.members, self.types, bounds), params=query.params + self.types
                                         ).to_arrow_reader(self.chunk_rows)
                self._write_slice(reader, writer, tally)
            text.flush()
            text.detach()
        return tally

    def _write_slice(self, reader, writer, tally: _Tally) -> None:
        last_mpid, last_row = None, None
        # The hot loop: `neutralised` inlined for values, worked out once per identity type.
        starts = FORMULA_STARTS
        type_cells = {t: neutralised(t) for t in self.types}
        by_identity = tally.by_identity
        for batch in reader:
            self.check()
            columns = batch.to_pydict()
            out = []
            for mpid, scanned, value, identity_type in zip(columns["mpid"], columns["scanned_ms"],
                                                           columns["value"], columns["identity_type"]):
                row = (mpid, value, identity_type)
                if row == last_row:
                    continue  # the same identity held by the profile in another workspace
                last_row = row
                if mpid != last_mpid:
                    last_mpid = mpid
                    tally.users += 1
                    tally.add_timestamp(scanned)
                by_identity[identity_type] += 1
                out.append((mpid, "" if scanned is None else scanned,
                            "'" + value if value.startswith(starts) else value, type_cells[identity_type]))
            writer.writerows(out)
            tally.rows += len(out)
            self.done += batch.num_rows
            self.report()


def _file_entry(name: str, tally: _Tally) -> dict[str, Any]:
    return {"file_name": name, "min_timestamp_ms": tally.min_ms, "max_timestamp_ms": tally.max_ms,
            "total_users": tally.users, "total_rows": tally.rows, "rows_by_identity": tally.by_identity}


def _utc_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def download(home: OpenHome, parts: Sequence[Part], out: Path | str, *, identity_types: Sequence[str],
             now: dt.datetime | None = None, progress: Progress | None = None,
             cancelled: threading.Event | None = None, chunk_rows: int = CHUNK_ROWS,
             slice_rows: int = SLICE_ROWS) -> DownloadResult:
    """Write the ZIP of `parts` to `out`, streaming; progress(done, total) counts rows read from the cache.

    Raises DownloadCancelled when `cancelled` is set (checked between chunks); on that or any other
    failure the temporary file is removed and an existing `out` is left as it was.
    """
    out = Path(out).expanduser()
    if not parts:
        raise InvalidInput("Choose at least one audience or variation to download.")
    if not identity_types:
        raise InvalidInput("Choose at least one identity type to download.")
    if out.suffix.lower() != ".zip":
        raise InvalidInput(f"{out}: a download is a ZIP file; give it a name ending in .zip.")
    if out.is_dir():
        raise InvalidInput(f"{out} is a folder; give the name of the ZIP file to write.")
    if not out.parent.is_dir():
        raise NotFound(f"The folder {out.parent} does not exist; choose another place for {out.name}.")
    types = list(dict.fromkeys(identity_types))
    names = unique_file_names([p.title for p in parts])
    started = dt.datetime.now(dt.UTC)

    home.cache.refresh_catalogs()
    temp = out.parent / f".{out.stem}.{uuid.uuid4().hex[:8]}.zip.part"
    try:
        handle = open(temp, "xb")  # noqa: SIM115 - closed below; unlike mkstemp's 0600, it honours the umask
    except OSError as exc:
        raise UserError(f"Cannot write in {out.parent}: {exc.strerror}. Choose another folder.") from None
    cursor = home.cache.cursor()
    try:
        with handle:
            # One read transaction, so the counts and the rows come from the same snapshot of the cache.
            cursor.execute("BEGIN TRANSACTION")
            job = _Download(home, cursor, types, now, progress, cancelled, chunk_rows, slice_rows)
            queries = job.queries(parts)
            job.count(queries)
            totals = _Tally(by_identity={t: 0 for t in types})
            files = []
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, query in zip(names, queries):
                    tally = job.write_file(archive, name, query)
                    totals.add(tally)
                    files.append(_file_entry(name, tally))
                job.check()
                manifest = {
                    "archive_name": out.name,
                    "id": str(uuid.uuid4()),
                    "audience_ids": list(dict.fromkeys(p.audience.id for p in parts)),
                    "included_identities": types,
                    "manifest_generated": _utc_iso(started),
                    "min_timestamp_ms": totals.min_ms,
                    "max_timestamp_ms": totals.max_ms,
                    "total_rows": totals.rows,
                    "rows_by_identity": totals.by_identity,
                    "files": files,
                }
                archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        os.replace(temp, out)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise UserError(f"Writing {out} failed: {exc.strerror or exc}. Nothing was written.") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        cursor.close()  # ends the read transaction too
    return DownloadResult(out, manifest)
