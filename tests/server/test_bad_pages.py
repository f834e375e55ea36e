"""A laptop never stops at a page it cannot load with a traceback (issue 24): the sync stops cleanly with
one line naming the workspace and the page's batches, keeps nothing of that page, and its cursor stays
before it, so a later sync applies the page once the server serves it fixed."""

from __future__ import annotations

import json

import pytest

from app.connectors.batches import Rows, map_batch
from app.connectors.staging import tables_of
from app.connectors.sync_client import SyncClient, SyncError
from app.connectors.sync_format import ARROW_STREAM, parts_of, write_part
from app.engines.home import OpenHome
from tests import factories
from tests.server.test_sync_client import _serving, _StandIn


def _old_servers_page() -> dict:
    """The parts an older server made of a change event whose custom attribute reused the change's name:
    an events part whose attribute map holds the key "new" twice."""
    rows = Rows()
    clashing = factories.batch(5, events=[factories.event("user_attribute_change", user_attribute_name="tier", new="gold",
                                                          custom_attributes={"new": "b"})])
    map_batch(clashing, rows, workspace_id=1, seq=3)
    rows.ev_attr_keys[:] = [key.removeprefix("custom_attributes.") for key in rows.ev_attr_keys]
    assert rows.ev_attr_keys.count("new") == 2
    return {name: (table.num_rows, b"".join(write_part(table))) for name, table in parts_of(tables_of(rows)).items()}


class _OlderServer(_StandIn):
    parts = _old_servers_page()

    def do_GET(self):  # noqa: N802 - the http.server API
        if self.path.startswith("/v1/me"):
            self.reply(200, "application/json", json.dumps({"user": "ann", "workspaces": [{"id": 1, "name": "US", "last_seq": 3}]}).encode())
        elif "/snapshot" in self.path:
            self.reply(404, "application/json", json.dumps({"errors": [{"code": "SNAPSHOTS_OFF", "message": "no snapshots"}]}).encode())
        elif "/changes" in self.path:
            page = {"workspace_id": 1, "page": "p", "batches": 1, "events": 1, "last_seq": 3, "more": False, "next_cursor": "c3",
                    "server_last_seq": 3, "parts": [{"table": name, "rows": rows, "url": f"/v1/workspaces/1/pages/p/{name}"}
                                                    for name, (rows, _) in self.parts.items()]}
            self.reply(200, "application/json", json.dumps(page).encode())
        else:
            self.reply(200, ARROW_STREAM, self.parts[self.path.rsplit("/", 1)[1]][1])


def test_a_page_that_cannot_be_loaded_stops_the_sync_with_a_message_and_keeps_nothing(home_dir):
    with _serving(_OlderServer) as url, OpenHome.open(home_dir) as opened:
        before = opened.cache.data_version
        client = SyncClient(url, "token")
        _, remote = client.workspaces()
        workspace = opened.workspaces.create("US", [])
        with pytest.raises(SyncError) as raised:
            client.pull(opened.cache, remote[0], workspace.id)
        message = str(raised.value)
        assert "workspace 'US'" in message and "batches 3..3" in message and "nothing of it was kept" in message
        assert "\n" not in message
        assert opened.cache.data_version == before
        assert opened.cache.meta(f"sync_cursor {url} 1") is None
