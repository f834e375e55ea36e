"""Reading Server-Sent Events as the WHATWG rules say: multi-line data, comments, a space after the colon or
none, an id without data (which moves the position on without an event), and data that is not an item."""

from __future__ import annotations

from app.connectors.team_client import StreamEvent, read_events


def test_events_ids_and_comments_are_read_by_the_rules():
    lines = [
        "retry: 2000", "",
        ": keep-alive", "",
        "id: 3.0", "event: batch", 'data: {"seq": 3,', 'data: "mpid": 7}', "",
        "id:4.1", "event:refused", 'data:{"id": 1}', "",
        "id: 9.1", "",  # past items the filters left out
        "event: batch", "data: not json", "",  # not an item: skipped, nothing raised
        "id: 10.1", "data: [1, 2]", "",  # JSON but not an object: skipped, the position moves on
    ]
    found = list(read_events(iter(lines)))
    assert found[0] == StreamEvent("batch", {"seq": 3, "mpid": 7}, "3.0")
    assert found[1] == StreamEvent("refused", {"id": 1}, "4.1")
    assert found[2:] == ["9.1", "10.1"]


def test_an_id_with_a_nul_is_ignored_and_the_last_id_carries_on():
    lines = ["id: 2.0", 'data: {"a": 1}', "", "id: 5\0", 'data: {"b": 2}', ""]
    assert [e.position for e in read_events(iter(lines))] == ["2.0", "2.0"]
