"""The Why / why not tab on a real home: a member and a non-member looked up by email, every card's verdict in
words (not colour alone) agreeing with the engine, an unknown identity's message, and a double-clicked member."""

from __future__ import annotations

from app.engines.insights.subjects import subject
from app.engines.insights.why import explain
from tests.ui.insights.conftest import TIMEOUT_MS, engine_home


def answer(qtbot, tab, by: str, value: str):
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS) as said:
        tab.look_up(by, value)
    return said.args[0]


def verdicts(tab) -> list[tuple[str, str, str]]:
    root = tab.tree.topLevelItem(0)
    items = [root] + [root.child(i) for i in range(root.childCount())]
    return [(item.text(0), item.text(1), item.text(2)) for item in items]


def test_a_member_and_a_non_member_with_each_cards_verdict_and_evidence(qtbot, connection, open_insights):
    tab = open_insights("Gold").why
    result = answer(qtbot, tab, "email", "USER5@gmail.com")  # emails match ignoring case
    home = engine_home(connection)
    assert result == explain(home, subject(home, "Gold"), 5, found_by="email USER5@gmail.com")
    assert tab.headline.text() == "✓ Profile 5 (email USER5@gmail.com) is in “Gold”."
    shown = verdicts(tab)
    assert [(v[1], v[2]) for v in shown] == [("✓ matches", n.evidence) for n in result.nodes]
    assert (shown[0][0], shown[1][0]) == ("All of 1 criterion", "Tier is “gold”")
    assert shown[1][2] == "tier = 'gold'; compared: is 'gold'"
    answer(qtbot, tab, "email", "user1@gmail.com")
    assert tab.headline.text() == "✗ Profile 1 (email user1@gmail.com) is not in “Gold”."
    assert [v[1] for v in verdicts(tab)] == ["✗ fails", "✗ fails"]
    assert verdicts(tab)[1][2] == "tier = 'silver'; compared: is 'gold'"


def test_an_unknown_identity_gets_a_clear_message(qtbot, open_insights):
    tab = open_insights("Gold").why
    assert answer(qtbot, tab, "customer_id", "nobody") is None
    assert tab.headline.text() == "No profile in the cache has customer id 'nobody'."
    assert tab.tree.topLevelItemCount() == 0
    assert answer(qtbot, tab, "mpid", "twelve") is None
    assert tab.headline.text() == "mpid 'twelve' is not a number"


def test_double_clicking_a_member_explains_it(qtbot, open_insights):
    window = open_insights("Gold")
    qtbot.waitUntil(lambda: window.members.model.rowCount() > 0, timeout=TIMEOUT_MS)
    mpid = int(window.members.model.index(0, 0).data())
    with qtbot.waitSignal(window.why.answered, timeout=TIMEOUT_MS) as said:
        window.members.table.activated_mpid.emit(mpid)
    assert window.tabs.currentWidget() is window.why
    assert said.args[0].mpid == mpid and said.args[0].in_audience
