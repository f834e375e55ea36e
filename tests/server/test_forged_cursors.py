"""Forged cursors and page tokens (issue 24): numbers beyond what the databases hold (2^63 and up)
are a 400 naming the parameter, never a 500, on every endpoint that takes one, on SQLite and
PostgreSQL; the largest number they hold is an ordinary answer."""

from __future__ import annotations

import base64
import json

import pytest

from app.server import revenue

LARGEST = 2**63 - 1
TOO_LARGE = [2**63, 2**64, 10**40]


def forged(kind: str, **fields) -> str:
    """A cursor in the server's own format (versioned base64 JSON), with whatever numbers we like."""
    return f"{kind}1." + base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


def requests(us: int, number: int) -> list[tuple[str, dict, str]]:
    """(path, query, the parameter the answer must name) of every endpoint reading a cursor or token."""
    return [
        (f"/v1/workspaces/{us}/changes", {"cursor": forged("c", w=us, a=number, b=None)}, "cursor"),
        (f"/v1/workspaces/{us}/changes", {"cursor": forged("c", w=number, a=0, b=None)}, "cursor"),
        (f"/v1/workspaces/{us}/changes", {"cursor": forged("c", w=us, a=0, b=number)}, "cursor"),
        (f"/v1/workspaces/{us}/pages/{forged('p', w=us, a=0, t=number, b=None)}/events", {}, "page"),
        (f"/v1/workspaces/{us}/pages/{forged('p', w=us, a=number, t=number, b=None)}/events", {}, "page"),
        (f"/v1/workspaces/{us}/pages/{forged('p', w=us, a=0, t=0, b=number)}/events", {}, "page"),
        (f"/v1/workspaces/{us}/snapshots/{forged('s', w=us, t=number, b=None)}/events", {}, "token"),
        ("/v1/audiences", {"cursor": forged("a", s=number)}, "cursor"),
        (f"/v1/workspaces/{us}/revenue/changes", {"cursor": forged("r", w=us, a=number)}, "cursor"),
        (f"/v1/workspaces/{us}/revenue/pages/{forged('rp', w=us, a=0, t=number)}/{next(iter(revenue.TABLES))}", {}, "page"),
    ]


@pytest.mark.parametrize("number", TOO_LARGE)
def test_numbers_beyond_64_bits_are_a_400_naming_the_parameter(deployment, number):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    for path, query, field in requests(us, number):
        reply = deployment.http.get(path, params=query, headers=ann)
        assert reply.status_code == 400, (path, reply.status_code, reply.text)
        [error] = reply.json()["errors"]
        assert (error["code"], error["field"]) == ("INVALID_CURSOR", field) and error["message"].startswith(f"{field}: ")


def test_the_largest_64_bit_number_is_answered_as_any_other(deployment):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    ahead = deployment.http.get(f"/v1/workspaces/{us}/changes", params={"cursor": forged("c", w=us, a=LARGEST, b=None)}, headers=ann)
    assert ahead.status_code == 409 and ahead.json()["errors"][0]["code"] == "CURSOR_AHEAD"
    audiences = deployment.http.get("/v1/audiences", params={"cursor": forged("a", s=LARGEST)}, headers=ann)
    assert audiences.status_code == 200 and audiences.json()["audiences"] == []
    for path, query, _ in requests(us, LARGEST):
        assert deployment.http.get(path, params=query, headers=ann).status_code < 500, path
