"""The Sync pane against a live server on 127.0.0.1: sign in with a token (kept in the OS keyring),
Sync Now with its progress, the history, Cancel, and a conflict compared side by side and settled."""

from __future__ import annotations

import pytest

from app.connectors.sync_client import PullReport, RevenueReport
from app.engines import audience_sync
from app.engines.home import OpenHome
from app.engines.sync import sign_in, sync_home
from app.paths import resolve_home
from app.ui.sync.compare import TAKE_THEIRS, CompareDialog, changed_lines
from app.ui.sync.progress import (
    ProgressClock,
    progress_words,
    revenue_words,
    size_words,
    time_left_words,
)
from tests.server.batches import demo_batches, runs
from tests.server.live import Deployment

TIMEOUT = 30_000
INSTALLED = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": [
    {"id": "installed", "type": "event", "event_type": "install", "window": {"type": "within", "amount": 72, "unit": "hours"}},
]}}
GOLD = {"version": 1, "root": {"id": "root", "type": "group", "match": "any", "exclude": False, "children": [
    {"id": "vip", "type": "user_attribute", "attribute": "tier", "operator": "equals", "value": "gold"},
]}}


@pytest.fixture
def server(tmp_path, secret_service):
    """A live server with the US workspace, a few pages of batches, and users ann and bob."""
    with Deployment.start(f"sqlite:///{tmp_path / 'server.sqlite3'}", page_batches=10) as deployment:
        deployment.us = deployment.workspace("US")
        inputs = {p: deployment.platform_input("US", p) for p in ("iOS", "Android", "Web")}
        for input_name, group in runs([p for p in demo_batches(profiles=20) if not p[0].startswith("feed:")]):
            assert deployment.http.post("/v2/bulkevents", json=group, auth=inputs[input_name].auth).status_code == 202
        deployment.tokens = {name: deployment.user_token(name, ["US"], role="admin" if name == "ann" else "editor")["Authorization"].removeprefix("Bearer ")
                             for name in ("ann", "bob")}
        yield deployment


def _sync_pane(qtbot, open_window, home):
    window = open_window(home)
    pane = window.pane("sync")
    window.navigation.setCurrentRow(window.navigation.count() - 1)
    if pane.account is None:
        qtbot.waitSignal(pane.loaded, timeout=TIMEOUT).wait()
    return window, pane


def test_sign_in_and_sync_now_show_progress_account_last_sync_and_history(qtbot, open_window, home_dir, server):
    window, pane = _sync_pane(qtbot, open_window, home_dir)
    assert window.panes.currentWidget() is pane
    assert "Not signed in" in pane.account_label.text() and pane.last_sync_label.text() == "Never"
    assert not pane.sync_action.isEnabled() and pane.history_model.rowCount() == 0
    assert pane.no_conflicts.isVisibleTo(pane)
    assert pane.empty.isVisibleTo(pane) and "No syncs yet" in pane.empty.title.text()

    pane.server_url.setText(server.server.base_url)
    pane.token.setText("not-a-token")
    with qtbot.waitSignal(pane.tasks.activity_changed, timeout=TIMEOUT, check_params_cb=lambda text: text == ""):
        pane.sign_in_button.click()
    assert "refused the sign-in (401)" in pane.outcome.text()

    pane.token.setText(server.tokens["ann"])
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT):
        pane.sign_in_button.click()
    assert pane.token.text() == ""  # not left lying in the field
    assert pane.account_label.text().startswith(f"ann on {server.server.base_url}")
    assert pane.sync_action.isEnabled() and pane.sign_out_button.isEnabled()

    record = {"day": "2026-03-02", "segment_key": "HP - Onboarding nudge", "agency": "northpeak", "channel": "DV360",
              "impressions": 1000, "revenue": 12.5, "currency": "USD"}
    reply = server.http.post(f"/v1/workspaces/{server.us}/revenue", json={"records": [record]},
                             headers={"Authorization": f"Bearer {server.tokens['ann']}"})
    assert reply.status_code == 200, reply.text
    shown: list[str] = []
    pane._relay.progressed.connect(lambda _p: shown.append(pane.progress_label.text()))
    bar_shown: list[bool] = []
    pane._relay.progressed.connect(lambda _p: bar_shown.append(pane.progress.isVisibleTo(pane)))
    assert not pane.progress.isVisibleTo(pane)  # no empty bar before a sync
    with qtbot.waitSignal(pane.sync_finished, timeout=TIMEOUT):
        pane.sync_button.click()
    assert pane.outcome.text().startswith("Synced US:"), pane.outcome.text()
    assert any(text.startswith("US: ") and " batches · " in text and " rows · " in text for text in shown), shown
    assert "US: revenue, 1 page · 1 row · " in shown[-1], shown  # the revenue pages follow the data
    qtbot.waitUntil(lambda: pane.history_model.rowCount() == 1 and "just now" in pane.last_sync_label.text(), timeout=TIMEOUT)
    assert pane.history_model.item(0, 1).text() == "Done"
    assert bar_shown and all(bar_shown) and not pane.progress.isVisibleTo(pane)
    assert not pane.empty.isVisibleTo(pane)
    assert int(pane.history_model.item(0, 4).text().replace(",", "")) > 0 and pane.history_model.item(0, 2).text() == ""
    qtbot.waitUntil(lambda: window.status.freshness.text() == "synced just now", timeout=TIMEOUT)
    pane.resize(1000, 700)
    pane.grab().save(str(home_dir.root.parent / "sync-pane.png"))


def test_cancel_stops_the_sync_and_the_history_says_so(qtbot, open_window, home_dir, server):
    with OpenHome.open(home_dir) as home:
        sign_in(home, server.server.base_url, server.tokens["ann"])
    _, pane = _sync_pane(qtbot, open_window, home_dir)
    assert pane.sync_action.isEnabled()
    with qtbot.waitSignal(pane.sync_finished, timeout=TIMEOUT):
        pane.sync_now()
        assert pane.cancel_action.isEnabled() and not pane.sync_action.isEnabled()
        pane.cancel()
    assert "stopped" in pane.outcome.text()
    qtbot.waitUntil(lambda: pane.history_model.rowCount() == 1, timeout=TIMEOUT)
    assert pane.history_model.item(0, 1).text() == "Cancelled"
    assert pane.sync_action.isEnabled() and not pane.cancel_action.isEnabled()


def test_a_conflict_is_compared_side_by_side_and_settled_by_taking_theirs(qtbot, open_window, tmp_path, home_dir, server):
    url = server.server.base_url
    with OpenHome.open(resolve_home(tmp_path / "ann")) as ann, OpenHome.open(home_dir) as bob:
        sign_in(ann, url, server.tokens["ann"])
        sync_home(ann, url)
        ann.audiences.create("Buyers", workspace_ids=[ann.workspaces.get("US").id], criteria=INSTALLED, tags=["q1"])
        sync_home(ann, url)
        sign_in(bob, url, server.tokens["bob"])
        sync_home(bob, url)
        ann.audiences.rename(ann.audiences.get("Buyers").id, "Buyers (US)")
        bob.audiences.update(bob.audiences.get("Buyers").id, criteria=GOLD, tags=["q1", "gold"])
        sign_in(ann, url, server.tokens["ann"])
        sync_home(ann, url)
        sign_in(bob, url, server.tokens["bob"])
        assert sync_home(bob, url).audiences.conflicts == ["Buyers"]

    window, pane = _sync_pane(qtbot, open_window, home_dir)
    assert pane.conflict_model.rowCount() == 1 and pane.conflict_view.isVisibleTo(pane)
    assert pane.conflict_model.item(0, 0).text() == "Buyers"
    assert pane.conflict_model.item(0, 1).text() == "changed here and on the server"
    assert pane.conflict_model.item(0, 2).text() == "ann"
    assert window.navigation.item(window.navigation.count() - 1).text() == "Sync (1)"
    assert pane.keep_mine_action.isEnabled() and pane.compare_action.isEnabled()

    seen: list[tuple[str, str, bool]] = []

    def choose(dialog: CompareDialog) -> int:
        dialog.show()
        dialog.grab().save(str(tmp_path / "compare.png"))
        marked = bool(dialog.mine.extraSelections() and dialog.theirs.extraSelections())
        seen.append((dialog.mine.toPlainText(), dialog.theirs.toPlainText(), marked))
        return TAKE_THEIRS

    pane.compare_with = choose
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT):
        pane.compare_action.trigger()
    [(mine, theirs, marked)] = seen
    assert "Name: Buyers\n" in mine and "tier is “gold”" in mine and "Tags: gold, q1" in mine
    assert "Name: Buyers (US)" in theirs and "Install" in theirs
    assert marked  # the lines that differ are tinted

    qtbot.waitUntil(lambda: pane.conflict_model.rowCount() == 0, timeout=TIMEOUT)
    assert "is now the server's version 2" in pane.outcome.text()
    with OpenHome.open(home_dir) as bob:
        taken = bob.audiences.get("Buyers (US)")
        assert taken.criteria == INSTALLED and taken.tags == ("q1",)
        assert audience_sync.outbox(bob, url) == []


def test_keep_mine_asks_first_and_then_sends_mine(qtbot, open_window, tmp_path, home_dir, server):
    url = server.server.base_url
    with OpenHome.open(resolve_home(tmp_path / "ann")) as ann, OpenHome.open(home_dir) as bob:
        sign_in(ann, url, server.tokens["ann"])
        sync_home(ann, url)
        ann.audiences.create("Buyers", workspace_ids=[ann.workspaces.get("US").id], criteria=INSTALLED)
        sync_home(ann, url)
        sign_in(bob, url, server.tokens["bob"])
        sync_home(bob, url)
        ann.audiences.delete(ann.audiences.get("Buyers").id)
        bob.audiences.set_criteria(bob.audiences.get("Buyers").id, GOLD)
        sign_in(ann, url, server.tokens["ann"])
        sync_home(ann, url)
        sign_in(bob, url, server.tokens["bob"])
        sync_home(bob, url)

    _, pane = _sync_pane(qtbot, open_window, home_dir)
    assert pane.conflict_model.item(0, 1).text() == "changed here, deleted on the server"
    asked: list[str] = []
    pane.confirm = lambda title, text, yes: asked.append(text) or False
    pane.keep_mine_action.trigger()
    assert asked and pane.conflict_model.rowCount() == 1  # declined: nothing changed

    pane.confirm = lambda title, text, yes: True
    with qtbot.waitSignal(pane.sync_finished, timeout=TIMEOUT):
        pane.keep_mine_action.trigger()  # resolved, then synced at once
    qtbot.waitUntil(lambda: pane.conflict_model.rowCount() == 0 and not pane.syncing, timeout=TIMEOUT)
    assert "Audiences sent: 1" in pane.outcome.text()
    listed = server.http.get("/v1/audiences", headers={"Authorization": f"Bearer {server.tokens['ann']}"}).json()["audiences"]
    assert [(a["name"], a["deleted"], a["criteria"]) for a in listed if not a["deleted"]] == [("Buyers", False, GOLD)]


def test_progress_words_say_rows_bytes_and_time_left():
    ticks = iter([100.0, 110.0])
    clock = ProgressClock(clock=lambda: next(ticks))
    clock.update("US", PullReport(pages=1, batches=1_000, rows=20_000, bytes=1_500_000, batches_total=5_000))
    later = clock.update("US", PullReport(pages=2, batches=2_000, rows=40_000, bytes=3_000_000, batches_total=5_000))
    assert later.seconds_left == pytest.approx(30.0)
    assert progress_words(later) == "US: 2,000 of 5,000 batches · 40,000 rows · 3.0 MB · about 30 s left"
    assert (size_words(830), size_words(12_400), time_left_words(None), time_left_words(7200)) == (
        "830 B", "12.4 KB", "working out the time left", "about 2.0 h left")
    assert changed_lines(["a", "b", "c"], ["a", "x", "c", "d"]) == ({1}, {1, 3})
    assert revenue_words(clock.revenue("US", RevenueReport(pages=3, rows=120_000, bytes=4_100_000))) == (
        "US: revenue, 3 pages · 120,000 rows · 4.1 MB")


def test_a_sampled_sync_makes_estimates_say_so_and_show_their_interval(qtbot, home_dir, server):
    import datetime as dt

    from app.builder.estimator import Estimate
    from app.engines.sync import account, cache_sample
    from app.ui.editor.estimate_panel import EstimatePanel

    with OpenHome.open(home_dir) as home:
        sign_in(home, server.server.base_url, server.tokens["ann"])
        sync_home(home, server.server.base_url, sample=0.5)
        assert cache_sample(home) == 0.5 and account(home).sample == 0.5

    panel = EstimatePanel()
    qtbot.addWidget(panel)
    now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    panel.show_exact(Estimate(50, True, None, {}, 12.0, now, 1_000, 30))
    assert (panel.count.text(), panel.state.text().startswith("Exact ·")) == ("50", True)
    panel.set_cache_sample(0.1)  # what the editor's home says, once asked
    assert panel.count.text() == "≈ 500"
    assert panel.detail.text().startswith("95 % interval 381 – 654 users, from the 10 % sample this laptop holds")
    assert panel.state.text().startswith("Exact count unavailable offline: the cache holds a 10 % sample")
    panel.show_sample(Estimate(40, False, (30, 55), {}, 3.0, now, 1_000, 30))
    assert panel.count.text() == "≈ 400" and "95 % interval 300 – 550 users, from a 1 % sample of the 10 %" in panel.detail.text()
