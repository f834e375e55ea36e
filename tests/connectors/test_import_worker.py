"""A worker's chunk of lines maps to exactly what the in-process mapping gives, however the file is cut."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.connectors.batches import BatchError, Rows, map_batch
from app.connectors.import_worker import LinesTask, json_reason, map_lines
from app.connectors.importer import _line_ranges
from app.connectors.staging import concat_tables, from_ipc, tables_of
from tests.factories import T0, batch, event, purchase

# Changes to a valid batch: most keep it valid, some break it in the ways the mapper names.
CHANGES = [
    lambda b: None,
    lambda b: b.update(events=[purchase(amount=12.5), event("screen_view", screen_name="Cart"), event("session_end")]),
    lambda b: b.update(user_attributes={"tier": "gold", "n": 3, "f": 2.5, "ok": False, "l": ["a", 1, None]}),
    lambda b: b.update(deleted_user_attributes=["tier"]),
    lambda b: b.update(at=T0 + 5),
    lambda b: b.update(timestamp_unixtime_ms=T0 - 86_400_000),
    lambda b: b.pop("mpid"),
    lambda b: b.update(mpid="123"),
    lambda b: b["events"][1]["data"].update(custom_attributes={"q": "tent", "n": 3, "b": True, "x": None}),
    lambda b: b["events"].append(event("user_identity_change", T0, new={"identity_type": "email", "identity": "n@x.com"})),
    lambda b: b["events"].append(event("uninstall")) or b.update(attribution_info={"service_provider": "Adjust"}),
    lambda b: b.update(application_info={"os": "Android"}),
    lambda b: b.pop("application_info") and b["device_info"].pop("platform"),  # no platform: refused unless a feed
    lambda b: b["events"][1]["data"].update(timestamp_unixtime_ms="soon"),
    lambda b: b["events"][1]["data"].pop("event_name"),
    lambda b: b["user_identities"].update(fax="1"),
    lambda b: b["context"]["location"].update(latitude=91.0),
    lambda b: b.update(events="nope"),
]


@st.composite
def ndjson(draw):
    lines = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["batch"] * 8 + ["blank", "not json", "not an object"]))
        if kind == "blank":
            lines.append(b"  ")
        elif kind == "not json":
            lines.append(b"{nope")
        elif kind == "not an object":
            lines.append(b"[1, 2]")
        else:
            b = batch(draw(st.integers(1, 6)), at=T0 + draw(st.integers(0, 3)) * 1000)
            draw(st.sampled_from(CHANGES))(b)
            lines.append(orjson.dumps(b))
    data = b"\n".join(lines) + draw(st.sampled_from([b"\n", b""]))
    # Cut after some newlines, as the importer does; every chunk is whole lines.
    ends = [i + 1 for i, byte in enumerate(data) if byte == 10]
    cuts = sorted(set(draw(st.lists(st.sampled_from(ends), max_size=4)))) if ends else []
    return data, cuts


def reference(data: bytes, feed: str | None, skip_bad: bool):
    """The in-process mapping, line by line, with seq = line index."""
    rows, bad = Rows(), []
    for k, line in enumerate(data.split(b"\n")):
        if not line.strip():
            continue
        try:
            try:
                decoded = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise BatchError("", f"not valid JSON ({json_reason(exc)})") from None
            map_batch(decoded, rows, workspace_id=3, seq=k, feed=feed)
        except BatchError as exc:
            bad.append((f"line {k + 1}", exc.path, exc.message))
            if not skip_bad:
                break
    return tables_of(rows), bad


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ndjson(), st.sampled_from([None, "CRM"]), st.booleans(), st.booleans())
def test_chunks_mapped_by_workers_equal_the_in_process_mapping(case, feed, skip_bad, from_file):
    data, cuts = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.ndjson"
        path.write_bytes(data)
        check_chunks(data, cuts, feed, skip_bad, path if from_file else None)


def check_chunks(data: bytes, cuts: list[int], feed: str | None, skip_bad: bool, path: Path | None) -> None:
    expected_tables, expected_bad = reference(data, feed, skip_bad)
    results, bad, line = [], [], 1
    for start, end in zip([0, *cuts], [*cuts, len(data)]):
        chunk = data[start:end]
        if not chunk:
            continue
        if path is None:
            task = LinesTask("f.ndjson", line - 1, 3, feed, skip_bad, data=chunk)
        else:
            task = LinesTask("f.ndjson", line - 1, 3, feed, skip_bad, path=str(path), start=start, end=end)
        result = map_lines(task)
        assert result.newlines == chunk.count(b"\n")
        results.append(result)
        bad.extend((f"line {line + k}", path, message) for k, path, message in result.bad)
        line += result.newlines
        if result.bad and not skip_bad:
            break  # the importer stops at the first bad batch
    assert bad == expected_bad
    if skip_bad:
        tables = concat_tables([from_ipc(r.streams) for r in results if r.streams])
        assert sorted(tables) == sorted(expected_tables)
        for name, table in expected_tables.items():
            assert tables[name].equals(table), name
        assert sum(r.batches for r in results) + len(bad) == sum(r.lines for r in results)


@pytest.mark.parametrize("size", [1, 7, 50, 10_000])
def test_line_ranges_cover_the_file_in_whole_lines(tmp_path, size):
    path = tmp_path / "a.ndjson"
    path.write_bytes(b'{"a": 1}\n\n{"bb": [1, 2, 3]}\n{"c": "x"}')  # no line break at the end
    ranges = list(_line_ranges(path, size))
    data = path.read_bytes()
    assert b"".join(data[start:end] for start, end in ranges) == data
    assert all(data[end - 1:end] == b"\n" for _, end in ranges[:-1])
    assert [start for start, _ in ranges[1:]] == [end for _, end in ranges[:-1]]
