"""`audience-studio estimate` on malformed criteria files (issue 24): a one-line message naming the
file or the field, exit code 1, never a traceback, whatever the file holds."""

from __future__ import annotations

import json

import orjson
import pytest

from app.cli.main import main
from tests.factories import batch

SESSIONS = {"id": "a", "type": "event", "event_type": "session_start", "frequency": {"operator": "ge", "value": 1}}


def group(children) -> str:
    return json.dumps({"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": children}})


def nested(levels: int) -> str:
    node = dict(SESSIONS)
    for index in range(levels - 1):
        node = {"id": f"g{index}", "type": "group", "match": "all", "children": [node]}
    return group([node])


@pytest.fixture(scope="module")
def estimate(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    batches = home / "b.ndjson"
    batches.write_bytes(b"\n".join(orjson.dumps(batch(m)) for m in range(1001, 1005)))
    assert main(["--home", str(home), "import", str(batches)]) == 0

    def run(capsys, content: bytes | str) -> tuple[int, str, str]:
        capsys.readouterr()
        path = home / "criteria.json"
        path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
        code = main(["--home", str(home), "estimate", str(path), "--exact", "--now", "2025-10-10T00:00:00Z"])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.parametrize("content, expected", [
    ("[]", "document: [] is not of type 'object'"),
    ('{"version": 1}', "document: 'root' is missing"),
    ('{"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": {"a": 1}}}',
     "node 'root' (root.children): {'a': 1} is not of type 'array'"),
    (nested(100), "groups nest at most 64 levels deep (the root is the first); this one is level 65"),
    (b'{"version": 1, "root": "\xff"}', "criteria.json: not UTF-8 text (byte 0xff at offset 24); save it as UTF-8"),
    (group([{**SESSIONS, "frequency": {"operator": "ge", "value": "@"}}]).replace('"@"', '"\\ud800"'),
     "node 'a' (root.children[0].frequency.value): '\\ud800' holds a lone UTF-16 surrogate, which is not text"),
    (group([SESSIONS]).replace('"value": 1', '"value": NaN'), "(root.children[0].frequency.value): NaN is not a number"),
    (group([SESSIONS]).replace('"value": 1', '"value": 1e400'), "(root.children[0].frequency.value): an infinite number"),
    (group([SESSIONS]).replace('"value": 1', '"value": Infinity'), "(root.children[0].frequency.value): an infinite number"),
    (group([{"id": "x", "type": "user_attribute", "attribute": "n" * 5_000_000, "operator": "exists"}]),
     "node 'x': no user attribute 'nnnnnnnn"),
])
def test_a_malformed_document_is_one_line_naming_what_is_wrong(estimate, capsys, content, expected):
    code, out, err = estimate(capsys, content)
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and expected in err and len(err) < 600, err[:1000]


def test_documents_at_the_limits_are_counted(estimate, capsys):
    code, out, err = estimate(capsys, nested(64))
    assert (code, err) == (0, "") and out.startswith("4 users (exact, of 4")
