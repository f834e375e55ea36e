"""Sampled snapshots are bounded (issue 24: the server kept one per distinct `sample` value forever,
up to 10,000 per workspace): each workspace keeps its whole-profile snapshot and the three most
recently requested samples; an evicted sample's parts are 404 SNAPSHOT_GONE, and asking for it again
rebuilds it with the same content."""

from __future__ import annotations

from tests import factories
from tests.server.test_sync import _send, _set_up_us

KEPT = 3  # ServerSettings.snapshot_samples_kept's default, as docs/server.md states


def _snapshot(deployment, workspace_id, headers, **params) -> dict:
    reply = deployment.http.get(f"/v1/workspaces/{workspace_id}/snapshot", params=params, headers=headers)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _kept(root, workspace_id) -> set[str]:
    return {path.stem for path in root.glob(f"w{workspace_id}-*.duckdb")}


def test_a_workspace_keeps_its_whole_snapshot_and_the_most_recently_asked_samples(start_server, tmp_path):
    root = tmp_path / "snapshots"
    deployment = start_server(snapshot_dir=root, snapshot_follow_ingest=False)
    us, inputs = _set_up_us(deployment)
    deployment.workspace("EU")
    eu_inputs = {"iOS": deployment.platform_input("EU", "iOS")}
    _send(deployment, inputs, [("iOS", factories.batch(mpid)) for mpid in range(1, 200)])
    _send(deployment, eu_inputs, [("iOS", factories.batch(mpid)) for mpid in range(1, 20)])
    headers = deployment.user_token("ann", ["US", "EU"])
    eu = next(w["id"] for w in deployment.http.get("/v1/me", headers=headers).json()["workspaces"] if w["name"] == "EU")

    whole = _snapshot(deployment, us, headers)
    _snapshot(deployment, eu, headers, sample=0.5)
    first = {sample: _snapshot(deployment, us, headers, sample=sample) for sample in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)}
    assert _kept(root, us) == {f"w{us}-all", f"w{us}-b4000", f"w{us}-b5000", f"w{us}-b6000"}
    assert _kept(root, eu) == {f"w{eu}-b5000"}  # another workspace's samples are its own
    exports = {folder.name.rsplit("-", 1)[0] for folder in (root / "exports").iterdir()}
    assert exports == _kept(root, us) | _kept(root, eu)

    # The parts of an evicted sample are gone (the client asks for the snapshot again)...
    gone = deployment.http.get(first[0.1]["parts"][0]["url"], headers=headers)
    assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == "SNAPSHOT_GONE"
    # ...and asking again rebuilds it, identical, evicting the least recently asked (0.4).
    again = _snapshot(deployment, us, headers, sample=0.1)
    assert {k: again[k] for k in ("through", "batches", "events")} == {k: first[0.1][k] for k in ("through", "batches", "events")}
    assert [(p["table"], p["rows"]) for p in again["parts"]] == [(p["table"], p["rows"]) for p in first[0.1]["parts"]]
    assert deployment.http.get(again["parts"][0]["url"], headers=headers).status_code == 200
    assert _kept(root, us) == {f"w{us}-all", f"w{us}-b1000", f"w{us}-b5000", f"w{us}-b6000"}
    # A kept sample asked for again counts as recent: 0.5 stays, 0.6 is now the oldest.
    _snapshot(deployment, us, headers, sample=0.5)
    _snapshot(deployment, us, headers, sample=0.7)
    assert _kept(root, us) == {f"w{us}-all", f"w{us}-b1000", f"w{us}-b5000", f"w{us}-b7000"}
    assert _snapshot(deployment, us, headers)["parts"] == whole["parts"]
    assert len(first[0.6]["parts"]) == len(whole["parts"]) and first[0.6]["batches"] < whole["batches"]
