"""A sync brings the live audiences up to date by itself: after the pages are in, an Active audience's members,
adds and drops follow what the sync brought, without any other step (docs/membership.md)."""

from __future__ import annotations

import io
import sys

from app.cli.main import main
from app.engines import membership
from app.engines.home import OpenHome
from app.paths import resolve_home
from tests.factories import batch
from tests.server.test_sync import _send, _set_up_us

GOLD = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": [
    {"id": "g", "type": "user_attribute", "attribute": "tier", "operator": "equals", "value": "gold"}]}}


def _tiered(mpid: int, tier: str) -> tuple[str, dict]:
    return "iOS", batch(mpid, user_attributes={"tier": tier})


def test_a_sync_updates_the_members_of_active_audiences(secret_service, start_server, tmp_path, monkeypatch):
    deployment = start_server(page_batches=40)
    _, inputs = _set_up_us(deployment)
    _send(deployment, inputs, [_tiered(1, "gold"), _tiered(2, "gold"), _tiered(3, "silver")])
    token = deployment.user_token("ann", ["US"])["Authorization"].removeprefix("Bearer ")
    home = tmp_path / "laptop"
    monkeypatch.setattr(sys, "stdin", io.StringIO(token + "\n"))
    assert main(["--home", str(home), "sync", "login", "--server", deployment.server.base_url]) == 0
    assert main(["--home", str(home), "sync"]) == 0
    with OpenHome.open(resolve_home(home)) as opened:
        us = opened.workspaces.get("US")
        gold = opened.audiences.create("Gold", workspace_ids=[us.id], criteria=GOLD, status="active")
        membership.refresh(opened)
        assert set(membership.stored_members(opened, gold.id)) == {1, 2}

    _send(deployment, inputs, [_tiered(3, "gold"), _tiered(1, "silver")])
    assert main(["--home", str(home), "sync"]) == 0
    with OpenHome.open(resolve_home(home)) as opened:
        assert set(membership.stored_members(opened, gold.id)) == {2, 3}
        status = membership.status(opened, gold.id)
        assert (status.state, status.size, status.adds, status.drops) == ("ok", 2, 1, 1)
