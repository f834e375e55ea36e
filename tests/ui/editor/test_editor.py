"""The audience editor on a real home: drops, card editors, undo, live estimates, saving and autosave.

Drags are synthesised as QDragEnterEvent / QDragMoveEvent / QDropEvent sent to the canvas (QDrag.exec
returns at once offscreen). Estimates are compared with the engine's own exact count.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.builder import editing
from app.builder.document import canonical, problems
from app.builder.estimator import Estimate
from app.models.services.autosave import find_autosaves
from app.engines.estimates import estimate_document
from app.engines.home import OpenHome
from app.ui.editor.canvas import CriterionCard, GroupFrame
from app.ui.editor.editor import AudienceEditor
from app.ui.editor.mime import criterion_mime, node_mime
from tests.ui.editor.support import NAME, TIMEOUT_MS, engine_count, shown_exact, wait_estimate
from tests.ui.editor_homes import GOLD, IOS, multi_group_document


def drop(qtbot, editor: AudienceEditor, mime: QMimeData, where: QPoint) -> bool:
    """Drag `mime` over the canvas to `where` (surface coordinates) and drop it; whether the drop was accepted."""
    surface = editor.canvas.surface
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    enter = QDragEnterEvent(where, actions, mime, buttons, modifiers)
    QApplication.sendEvent(surface, enter)
    move = QDragMoveEvent(where, actions, mime, buttons, modifiers)
    QApplication.sendEvent(surface, move)
    if not move.isAccepted():
        return False
    assert editor.canvas.surface.indicator.isVisibleTo(surface)  # the target is highlighted
    dropped = QDropEvent(QPointF(where), actions, mime, buttons, modifiers)
    QApplication.sendEvent(surface, dropped)
    return dropped.isAccepted()


def point_in(editor: AudienceEditor, node_id: str, *, at: str) -> QPoint:
    """A point of a node's frame in surface coordinates: "top" (upper part), "bottom" (lower part), "inside" (the
    group's own bottom margin, below its last child)."""
    QApplication.processEvents()  # let a canvas rebuilt by the last edit lay itself out
    frame = editor.canvas.frames[node_id]
    y = {"top": 6, "bottom": frame.height() - 6, "inside": frame.height() - 4}[at]
    return frame.mapTo(editor.canvas.surface, QPoint(frame.width() // 2, y))


def children(editor: AudienceEditor, group_id: str) -> list[str]:
    return [child["id"] for child in editing.find(editor.document, group_id)["children"]]


# -- adding and moving by drag and drop --------------------------------------------------------------


def test_dropping_a_palette_type_into_a_group_adds_it_at_the_groups_end(qtbot, open_editor):
    editor = open_editor()

    assert drop(qtbot, editor, criterion_mime("install"), point_in(editor, "valuable", at="inside"))

    added = children(editor, "valuable")
    assert added[:2] == ["gold", "ios"] and len(added) == 3
    node = editing.find(editor.document, added[2])
    assert node["event_type"] == "install"
    assert isinstance(editor.canvas.frames[added[2]], CriterionCard)
    assert editor.undo_stack.count() == 1 and editor.undo_stack.text(0) == "Add Install"


def test_dropping_on_the_upper_half_of_a_card_inserts_before_it(qtbot, open_editor):
    editor = open_editor()

    assert drop(qtbot, editor, criterion_mime("purchase"), point_in(editor, "ios", at="top"))
    [new_id] = [i for i in children(editor, "valuable") if i not in ("gold", "ios")]
    assert children(editor, "valuable") == ["gold", new_id, "ios"]

    assert drop(qtbot, editor, criterion_mime("session_start"), point_in(editor, "gold", at="bottom"))
    assert children(editor, "valuable")[:2] == ["gold", children(editor, "valuable")[1]]
    assert len(children(editor, "valuable")) == 4


def test_dropping_into_an_empty_audience_adds_the_first_criterion(qtbot, open_editor):
    editor = open_editor("Empty draft")
    QApplication.processEvents()
    root = editor.canvas.frames["root"]
    assert isinstance(root, GroupFrame) and root.empty.isVisible()
    where = root.empty.mapTo(editor.canvas.surface, root.empty.rect().center())

    estimate = wait_estimate(qtbot, editor, lambda: drop(qtbot, editor, criterion_mime("session_start"), where))

    assert editing.criteria_count(editor.document) == 1
    assert estimate.count == engine_count(editor).count


def test_a_criterion_moves_to_another_group_by_drop(qtbot, open_editor):
    editor = open_editor()

    estimate = wait_estimate(qtbot, editor, lambda: drop(qtbot, editor, node_mime("ios"),
                                                         point_in(editor, "sessions", at="top")))

    assert children(editor, "engaged") == ["ios", "sessions", "buyers"]
    assert children(editor, "valuable") == ["gold"]
    assert editor.undo_stack.count() == 1  # one drag, one step
    assert estimate.count == engine_count(editor).count


def test_a_group_cannot_be_dropped_into_itself(qtbot, open_editor):
    editor = open_editor()
    before = copy.deepcopy(editor.document)

    accepted = drop(qtbot, editor, node_mime("engaged"), point_in(editor, "sessions", at="top"))

    assert not accepted
    assert editor.document == before
    assert not editor.canvas.surface.indicator.isVisible()


def test_a_group_moves_below_another(qtbot, open_editor):
    editor = open_editor()

    assert drop(qtbot, editor, node_mime("engaged"), point_in(editor, "london", at="bottom"))

    assert children(editor, "root") == ["valuable", "london", "engaged"]


# -- the same by keyboard and menus ------------------------------------------------------------------


def test_keys_move_and_remove_the_focused_card(qtbot, open_editor):
    editor = open_editor()
    editor.canvas.focus_node("gold")
    card = editor.canvas.frames["gold"]

    qtbot.keyClick(card, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert children(editor, "valuable") == ["ios", "gold"]
    qtbot.keyClick(editor.canvas.frames["gold"], Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert children(editor, "root") == ["engaged", "valuable", "gold", "london"]  # out of its group at the edge

    qtbot.keyClick(editor.canvas.frames["gold"], Qt.Key.Key_Delete)
    assert "gold" not in editing.node_ids(editor.document)
    assert editor.canvas.current_id == "london"  # focus moves on to the next one


def test_ctrl_g_groups_and_ctrl_e_excludes(qtbot, open_editor):
    editor = open_editor()
    editor.canvas.focus_node("london")

    qtbot.keyClick(editor.canvas.frames["london"], Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert editing.find(editor.document, "london")["exclude"] is False
    qtbot.keyClick(editor.canvas.frames["london"], Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)

    [wrapper] = [i for i in children(editor, "root") if i not in ("engaged", "valuable")]
    assert children(editor, wrapper) == ["london"]
    assert editor.canvas.current_id == wrapper


def test_the_context_menu_adds_criteria_and_switches_match(qtbot, open_editor):
    editor = open_editor()
    menu = editor.canvas.menu_for("valuable")
    titles = [action.text() for action in menu.actions()]
    assert titles[:2] == ["Add criterion", "Add group"]
    assert "Remove" in titles and "Put into a new group" in titles

    add = menu.actions()[0].menu()
    users = next(a.menu() for a in add.actions() if a.text() == "Users")
    next(a for a in users.actions() if a.text() == "First seen").trigger()
    next(a for a in editor.canvas.menu_for("valuable").actions() if a.text() == "Match all (and)").trigger()

    assert len(children(editor, "valuable")) == 3
    assert editing.find(editor.document, children(editor, "valuable")[2])["type"] == "first_seen"
    assert editing.find(editor.document, "valuable")["match"] == "all"
    assert editor.undo_stack.count() == 2


def test_the_palette_filters_and_enter_adds_to_the_selected_group(qtbot, open_editor):
    editor = open_editor()
    editor.canvas.focus_node("engaged")

    editor.palette_panel.search.setText("abandon")
    assert editor.palette_panel.keys_shown() == ["cart_abandonment"]
    qtbot.keyClick(editor.palette_panel.search, Qt.Key.Key_Return)

    added = editing.find(editor.document, children(editor, "engaged")[-1])
    assert added["type"] == "cart_abandonment"


# -- card editors, validation and estimates ------------------------------------------------------------


def test_typed_values_become_one_undo_step_and_the_estimate_matches_the_engine(qtbot, open_editor):
    editor = open_editor()
    value = editor.canvas.frames["gold"].editor.condition._value_widget
    value.selectAll()

    estimate = wait_estimate(qtbot, editor, lambda: qtbot.keyClicks(value, "silver"))

    assert editing.find(editor.document, "gold")["value"] == "silver"
    assert editor.undo_stack.count() == 1
    engine = engine_count(editor)
    assert estimate.count == engine.count
    assert estimate.nodes == engine.nodes
    assert editor.canvas.frames["gold"].count.text() == f"{engine.nodes['gold']:,} users"
    assert editor.estimate.count.text() == f"{engine.count:,}"


def test_operators_spin_boxes_and_windows_edit_the_criterion(qtbot, open_editor):
    editor = open_editor()
    sessions = editor.canvas.frames["sessions"].editor
    sessions.frequency.operator.setCurrentIndex(sessions.frequency.operator.findData("ge"))
    sessions.frequency.low.setValue(2)
    sessions.window.amount.setValue(7)
    gold = editor.canvas.frames["gold"].editor.condition
    index = gold.operator.findData("in")
    gold.operator.setCurrentIndex(index)
    gold.operator.activated.emit(index)

    node = editing.find(editor.document, "sessions")
    assert node["frequency"] == {"operator": "ge", "value": 2}
    assert node["window"] == {"type": "within", "amount": 7, "unit": "days"}
    assert editing.find(editor.document, "gold")["operator"] == "in"
    assert editing.find(editor.document, "gold")["value"] == ["gold"]

    qtbot.waitUntil(lambda: shown_exact(editor) is not None, timeout=TIMEOUT_MS)
    assert shown_exact(editor).count == engine_count(editor).count


def test_an_unknown_attribute_is_reported_on_its_card_and_blocks_activate(qtbot, open_editor):
    editor = open_editor()
    attribute = editor.canvas.frames["gold"].editor.attribute

    def type_an_unknown_attribute() -> None:
        attribute.setEditText("shoe_size")
        attribute.lineEdit().editingFinished.emit()

    wait_estimate(qtbot, editor, type_an_unknown_attribute)  # the rest is counted without it

    card = editor.canvas.frames["gold"]
    assert card.problem_label.isVisibleTo(card)
    assert "No user attribute 'shoe_size'" in card.problem_text.text()
    assert not editor.activate_button.isEnabled()
    assert "Fix the problems" in editor.activate_button.toolTip()


def test_an_empty_audience_cannot_be_activated_and_says_why(qtbot, open_editor):
    editor = open_editor("Empty draft")

    assert not editor.activate_button.isEnabled()
    assert "Add at least one criterion" in editor.activate_button.toolTip()


def test_calculated_attributes_are_picked_and_estimated(qtbot, open_editor):
    from app.builder.calculated import CalculatedAttribute

    home = open_editor.connection.open_home
    home.calculated_attributes.create(open_editor.ids["workspace"],
                                      CalculatedAttribute("sessions_30d", "count", "session_start", window_days=30))
    editor = open_editor()
    if problems(editing.insert(editor.document, "root", 0, editing.new_node(editor.document, "calculated_attribute"))):
        pytest.skip("the schema does not accept calculated attributes yet")

    node_id = editor.edits.add_criterion("calculated_attribute", "root", 0)
    assert editing.find(editor.document, node_id)["attribute"] == "sessions_30d"
    card = editor.canvas.frames[node_id].editor
    assert card.type_button.text() == "number"
    index = card.condition.operator.findData("ge")
    estimate = wait_estimate(qtbot, editor, lambda: (card.condition.operator.setCurrentIndex(index),
                                                     card.condition.operator.activated.emit(index)))
    assert editing.find(editor.document, node_id)["operator"] == "ge"
    assert estimate.count == engine_count(editor).count


# -- undo and redo -------------------------------------------------------------------------------------


def test_undo_all_then_redo_all_returns_to_the_same_documents(qtbot, open_editor):
    editor = open_editor()
    start = canonical(editor.document)
    drop(qtbot, editor, criterion_mime("purchase"), point_in(editor, "valuable", at="inside"))
    drop(qtbot, editor, node_mime("gold"), point_in(editor, "sessions", at="top"))
    editor.canvas.frames["valuable"].all_button.click()
    editor.canvas.frames["london"].exclude.click()
    qtbot.keyClicks(editor.canvas.frames["ios"].editor.condition._value_widget, "Pad")
    editor.details.name.setFocus()
    qtbot.keyClicks(editor.details.name, " (copy)")
    end = canonical(editor.document)
    end_name = editor.model.draft.name
    assert editor.undo_stack.count() == 6
    assert editor.is_dirty()

    while editor.undo_stack.canUndo():
        editor.undo_stack.undo()
    assert canonical(editor.document) == start
    assert editor.model.draft.name == NAME
    assert not editor.is_dirty()
    assert editor.canvas.frames["ios"].editor.condition._value_widget.text() == "iOS"

    while editor.undo_stack.canRedo():
        editor.undo_stack.redo()
    assert canonical(editor.document) == end
    assert editor.model.draft.name == end_name


def test_a_stale_estimate_never_overwrites_a_newer_one(qtbot, open_editor):
    editor = open_editor()
    live = editor.live
    older = editor.document
    newer = editing.remove(editor.document, "london")
    older_engine, newer_engine = engine_count(editor, older), engine_count(editor, newer)
    assert older_engine.count != newer_engine.count

    with qtbot.waitSignal(live.exact_shown, timeout=TIMEOUT_MS) as shown:
        first = live.request(older, now=True)
        second = live.request(newer, now=True)
    assert second.generation == first.generation + 1 and first.cancelled and second.current
    assert shown.args[0].count == newer_engine.count

    # The older request's answer arriving late (as a cancelled or slow worker could deliver it) is dropped.
    dropped = live.dropped
    live._worker.exact_ready.emit(first, older_engine)
    live._worker.sample_ready.emit(first, older_engine)
    assert live.dropped == dropped + 2
    assert editor.estimate.shown.count == newer_engine.count
    assert editor.estimate.count.text() == f"{newer_engine.count:,}"


# -- saving, reopening, autosave, closing ----------------------------------------------------------------


def test_saving_then_reopening_shows_the_same_draft(qtbot, open_editor):
    editor = open_editor()
    drop(qtbot, editor, criterion_mime("identity"), point_in(editor, "valuable", at="inside"))
    editor.details.new_tag.setText("spring")
    qtbot.keyClick(editor.details.new_tag, Qt.Key.Key_Return)
    list(editor.details.input_checks.values())[0].click()
    saved_document = copy.deepcopy(editor.document)

    with qtbot.waitSignal(editor.saved, timeout=TIMEOUT_MS):
        assert editor.save()

    assert not editor.is_dirty()
    stored = editor.home.audiences.get(editor.audience_id)
    assert canonical(stored.criteria) == canonical(saved_document)
    assert stored.tags == ("spring", "test") and len(stored.input_ids) == 1
    reopened = open_editor()
    assert canonical(reopened.document) == canonical(saved_document)
    assert reopened.details.tag_chips() == ["spring", "test"]


def test_a_long_tag_is_explained_not_cut(qtbot, open_editor):
    editor = open_editor()
    editor.details.new_tag.setText("a-very-long-tag-name-indeed")
    qtbot.keyClick(editor.details.new_tag, Qt.Key.Key_Return)

    assert editor.model.draft.tags == ("test",)
    assert "27 characters" in editor.details.tag_hint.text()
    assert editor.details.new_tag.text() == "a-very-long-tag-name-indeed"


def test_activate_saves_and_makes_the_audience_active(qtbot, open_editor):
    editor = open_editor()
    assert editor.activate_button.isEnabled()

    with qtbot.waitSignal(editor.saved, timeout=TIMEOUT_MS):
        editor.activate_button.click()

    assert editor.home.audiences.get(editor.audience_id).status == "active"
    assert editor.details.status.text() == "Active"
    assert not editor.activate_button.isEnabled()


def test_an_unsaved_draft_is_autosaved_and_removed_once_saved(qtbot, open_editor, builder_home):
    home, _ids = builder_home
    editor = open_editor()
    editor.saving.autosave_delay_ms = 50

    with qtbot.waitSignal(editor.autosaved, timeout=TIMEOUT_MS) as written:
        editor.edits.run_command("remove", "london")

    assert written.args[0].exists()
    [found] = find_autosaves(home)
    assert found.audience_id == editor.audience_id
    assert canonical(found.draft.criteria) == canonical(editor.document)

    with qtbot.waitSignal(editor.saved, timeout=TIMEOUT_MS):
        editor.save()
    qtbot.waitUntil(lambda: not find_autosaves(home), timeout=TIMEOUT_MS)


def test_an_autosaved_draft_reopens_as_unsaved_changes(qtbot, open_editor, builder_home):
    home, _ids = builder_home
    editor = open_editor()
    editor.saving.autosave_delay_ms = 20
    with qtbot.waitSignal(editor.autosaved, timeout=TIMEOUT_MS):
        editor.edits.run_command("remove", "london")
    editor.shutdown()  # as if the app was killed: the autosave stays
    [found] = find_autosaves(home)

    restored = open_editor(draft=found.draft)

    assert restored.is_dirty()
    assert canonical(restored.document) == canonical(found.draft.criteria)
    assert restored.undo_stack.count() == 1
    restored.undo_stack.undo()
    assert "london" in editing.node_ids(restored.document)


def test_closing_with_unsaved_changes_asks_and_cancel_keeps_editing(qtbot, open_editor):
    answers = ["cancel", "discard"]
    asked: list[str] = []
    editor = open_editor(ask=lambda e: asked.append(e.model.draft.name) or answers.pop(0))
    editor.edits.run_command("remove", "london")
    closed: list[int] = []
    editor.closed.connect(closed.append)

    assert not editor.close_editor()
    assert closed == [] and editor.is_dirty()
    assert editor.close_editor()
    assert closed == [editor.audience_id] and asked == [NAME, NAME]


def test_closing_and_choosing_save_saves_then_closes(qtbot, open_editor):
    editor = open_editor(ask=lambda _e: "save")
    editor.edits.run_command("remove", "london")

    with qtbot.waitSignal(editor.closed, timeout=TIMEOUT_MS):
        assert not editor.close_editor()  # closes once saved

    stored = editor.home.audiences.get(editor.audience_id)
    assert "london" not in editing.node_ids(stored.criteria)


# -- threads ---------------------------------------------------------------------------------------------


def test_the_event_loop_keeps_ticking_while_an_estimate_runs(qtbot, open_editor):
    editor = open_editor()
    ticked = threading.Event()
    original = editor.session.estimate
    threads: list[threading.Thread] = []

    def estimate_after_a_tick(*args, **kwargs):
        threads.append(threading.current_thread())
        # This estimate goes on only once the GUI thread has turned its event loop: were the estimate
        # run on the GUI thread (or did it block it), the tick would never come and the wait would fail.
        assert ticked.wait(TIMEOUT_MS / 1000), "the GUI thread's event loop did not turn while estimating"
        return original(*args, **kwargs)

    editor.session.estimate = estimate_after_a_tick
    # An uncached document: a window no estimate has used yet, so the engine really runs.
    changed = editing.update(editor.document, "sessions", {"window": {"type": "within", "amount": 29, "unit": "days"}})
    with qtbot.waitSignal(editor.live.exact_shown, timeout=TIMEOUT_MS):
        editor.live.request(changed, now=True)
        QTimer.singleShot(0, ticked.set)
    assert threads and threading.main_thread() not in threads


def test_the_estimate_runs_on_its_own_thread_and_cursor(qtbot, open_editor):
    editor = open_editor()
    assert editor.live._thread.isRunning()
    assert editor.session._cursor is not None
    assert editor.session._cursor is not editor.home.cache.cursor()

    editor.shutdown()
    assert not editor.live._thread.isRunning()


def test_now_is_shown_in_utc(qtbot, open_editor):
    editor = open_editor()
    estimate = shown_exact(editor)
    assert estimate.now.tzinfo is not None and estimate.now.utcoffset() == dt.timedelta(0)


def test_a_home_with_a_second_audience_offers_it_for_membership(qtbot, open_editor):
    editor = open_editor()
    assert (open_editor.ids["Empty draft"], "Empty draft") in editor.context.membership_choices
    node_id = editor.edits.add_criterion("audience_membership", "root", 0)
    assert editor.canvas.frames[node_id].summary.text() == "in an audience not chosen yet"
    card = editor.canvas.frames[node_id].editor
    index = card.audience.findData(open_editor.ids["Empty draft"])
    card.audience.setCurrentIndex(index)
    card.audience.activated.emit(index)
    assert editing.find(editor.document, node_id)["audience_id"] == open_editor.ids["Empty draft"]
    assert editor.canvas.frames[node_id].summary.text() == "in “Empty draft”"  # its name, not its id


def test_changing_an_attributes_type_is_kept_in_the_store(qtbot, open_editor):
    editor = open_editor()
    with qtbot.waitSignal(editor.services.catalog_changed, timeout=TIMEOUT_MS):
        editor.canvas.frames["gold"].editor._on_type_chosen("list")

    assert editor.home.workspaces.attribute_types(open_editor.ids["workspace"]) == {"tier": "list"}
    assert editor.canvas.frames["gold"].editor.type_button.text() == "list"


def test_values_are_completed_from_the_cache(qtbot, open_editor):
    editor = open_editor()
    field = editor.canvas.frames["gold"].editor.condition._value_widget
    seen: list[list[str]] = []
    with qtbot.waitCallback(timeout=TIMEOUT_MS) as done:
        field._suggest("", lambda values: (seen.append(values), done()))
    assert set(seen[0]) == {"gold", "silver", "bronze", "platinum"}
    assert seen[0][0] == "gold"  # the most common first


def test_gold_and_ios_counts_are_the_engines(qtbot, open_editor):
    editor = open_editor()
    engine = engine_count(editor)
    for node_id in ("gold", "ios", "engaged", "valuable"):
        assert editor.canvas.frames[node_id].count.text() == f"{engine.nodes[node_id]:,} users"
    assert editor.canvas.frames["root"].count.text() == f"{engine.count:,} users"
    assert GOLD["id"] == "gold" and IOS["id"] == "ios"


def test_opening_a_home_store_is_not_needed_for_the_engine(builder_home):
    home, ids = builder_home
    with OpenHome.open(home) as opened:
        assert estimate_document(opened, multi_group_document(), workspace_ids=[ids["workspace"]], exact=True).count > 0


# -- added with the audiences page: three-step estimates, tab order --------------------------------------


def test_the_exact_total_is_shown_before_each_criterions_count(qtbot, open_editor):
    editor = open_editor()
    steps: list[tuple[str, Estimate]] = []
    editor.live.sample_shown.connect(lambda e: steps.append(("sample", e)))
    editor.live.total_shown.connect(lambda e: steps.append(("total", e)))
    editor.live.exact_shown.connect(lambda e: steps.append(("nodes", e)))
    # A window no estimate has used yet, so every step really runs.
    changed = editing.update(editor.document, "sessions", {"window": {"type": "within", "amount": 27, "unit": "days"}})

    with qtbot.waitSignal(editor.live.exact_shown, timeout=TIMEOUT_MS):
        editor.live.request(changed, now=True)

    assert [name for name, _ in steps] == ["sample", "total", "nodes"]
    (_, sample), (_, total), (_, nodes) = steps
    assert not sample.exact and total.exact and total.nodes == {} and nodes.nodes
    assert total.count == nodes.count == engine_count(editor, changed).count


def test_the_counts_of_the_cards_wait_for_the_node_step_but_the_total_does_not(qtbot, open_editor):
    editor = open_editor()
    changed = editing.update(editor.document, "sessions", {"window": {"type": "within", "amount": 26, "unit": "days"}})
    seen: dict[str, str] = {}

    def on_total(estimate: Estimate) -> None:
        seen["total"] = editor.estimate.count.text()
        seen["state"] = editor.estimate.state.text()

    editor.live.total_shown.connect(on_total)
    with qtbot.waitSignal(editor.live.exact_shown, timeout=TIMEOUT_MS) as shown:
        editor.live.request(changed, now=True)

    assert seen["total"] == f"{shown.args[0].count:,}"
    assert seen["state"].endswith("counting each criterion…")
    assert not editor.estimate.state.text().endswith("counting each criterion…")


def test_tab_goes_through_a_cards_fields_before_its_exclude_and_menu_buttons(qtbot, open_editor):
    editor = open_editor()
    card = editor.canvas.frames["gold"]
    chain, widget = [], card.nextInFocusChain()
    while widget is not card and len(chain) < 200:
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisible() and widget.isEnabled():
            chain.append(widget)
        widget = widget.nextInFocusChain()

    fields = [i for i, w in enumerate(chain) if card.editor.isAncestorOf(w)]
    assert fields, "the card's editor has fields to tab to"
    exclude, menu = chain.index(card.exclude), chain.index(card.menu_button)
    assert fields == list(range(len(fields)))  # right after the card, one after the other
    assert max(fields) < exclude < menu


# -- cards are kept, not rebuilt; costly parts are built when first needed ----------------------------


def frames_in_tab_order(editor: AudienceEditor) -> list[str]:
    """The node ids of the canvas's frames in the order Tab reaches them."""
    frames = {id(frame): node_id for node_id, frame in editor.canvas.frames.items()}
    order, widget = [], editor.canvas.frames["root"]
    for _ in range(2000):
        if id(widget) in frames and frames[id(widget)] not in order:
            order.append(frames[id(widget)])
        widget = widget.nextInFocusChain()
        if widget is editor.canvas.frames["root"]:
            break
    return order


def test_adding_moving_undo_and_redo_keep_the_cards_that_are_still_there(qtbot, open_editor):
    editor = open_editor()
    before = dict(editor.canvas.frames)

    added = editor.edits.add_criterion("session_start", "root", 0)
    assert all(editor.canvas.frames[node_id] is frame for node_id, frame in before.items())
    assert added not in before and isinstance(editor.canvas.frames[added], CriterionCard)
    added_card = editor.canvas.frames[added]
    # Tab still goes through the cards in the document's order, the new one first.
    assert frames_in_tab_order(editor) == editing.node_ids(editor.document)

    editor.edits.move_node("gold", "engaged", 0)  # into another group: the same card, now inside that group
    gold = editor.canvas.frames["gold"]
    assert gold is before["gold"]
    assert gold.parentWidget() is editor.canvas.frames["engaged"] and gold.parent_id == "engaged"
    assert editor.canvas.frames["engaged"].children_frames[0] is gold
    assert gold not in editor.canvas.frames["valuable"].children_frames

    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert added not in editor.canvas.frames
    assert {node_id: frame for node_id, frame in editor.canvas.frames.items()} == before
    assert all(editor.canvas.frames[node_id] is frame for node_id, frame in before.items())
    assert editor.canvas.frames["gold"].parentWidget() is editor.canvas.frames["valuable"]

    editor.undo_stack.redo()
    editor.undo_stack.redo()
    assert all(editor.canvas.frames[node_id] is frame for node_id, frame in before.items())
    assert editor.canvas.frames["gold"].parentWidget() is editor.canvas.frames["engaged"]
    assert editor.canvas.frames[added] is added_card  # undone, then redone: the same card shows again
    assert frames_in_tab_order(editor) == editing.node_ids(editor.document)
    assert all(frame.isVisible() for frame in editor.canvas.frames.values())


def test_a_new_cards_editor_is_built_on_a_later_turn_or_when_asked_for(qtbot, open_editor):
    editor = open_editor()
    first = editor.edits.add_criterion("session_start", "root", 0)
    second = editor.edits.add_criterion("purchase", "root", 1)
    cards = editor.canvas.frames
    assert cards[first]._editor is None and cards[second]._editor is None  # not yet: the cards show at once
    assert cards[first].editor.isAncestorOf(cards[first].editor.window)  # asked for: built now
    qtbot.waitUntil(lambda: cards[second]._editor is not None, timeout=TIMEOUT_MS)
    assert cards[second].editor.parentWidget() is cards[second]
    assert frames_in_tab_order(editor) == editing.node_ids(editor.document)


def test_a_value_edit_tells_only_the_changed_card(qtbot, open_editor, monkeypatch):
    editor = open_editor()
    told: list[str] = []
    for node_id, frame in editor.canvas.frames.items():
        if isinstance(frame, CriterionCard):
            original = frame.set_node
            monkeypatch.setattr(frame, "set_node", lambda node, i=node_id, o=original: (told.append(i), o(node)))
    editor.edits.edit_node("london", {"value": "Paris"}, "")
    assert told == ["london"]
    assert editor.canvas.frames["london"].node["value"] == "Paris"


def test_a_time_window_builds_its_date_fields_only_when_a_date_is_chosen(qtbot):
    from app.ui.editor.fields import WindowField

    field = WindowField()
    qtbot.addWidget(field)
    field.set_value({"type": "within", "amount": 7, "unit": "days"})
    assert field._dates == {}  # no QDateEdit built for a recency window
    field.set_value({"type": "between_dates", "from": "2026-01-01", "to": "2026-02-01"})
    assert field.value() == {"type": "between_dates", "from": "2026-01-01", "to": "2026-02-01"}
    field.set_value({"type": "on", "date": "2026-03-01"})
    assert field.value() == {"type": "on", "date": "2026-03-01"}
    layout = field._layout
    names = [layout.itemAt(i).widget().accessibleName() for i in range(layout.count()) if layout.itemAt(i).widget()]
    assert names.index("Date") < names.index("First date") < names.index("Last date") < names.index("Unit")
    field.show()
    assert field.date.isVisible() and not field.date_from.isVisible()


def test_the_estimate_chart_is_built_when_the_first_exact_size_arrives(qtbot, open_editor):
    empty = open_editor("Empty draft", wait_estimate=False)
    assert empty.estimate.chart is None and empty.estimate.chart_slot is not None

    editor = open_editor()
    # Built on the next turn of the event loop, in the place kept for it.
    qtbot.waitUntil(lambda: editor.estimate.chart is not None and editor.estimate.chart.isVisible(), timeout=TIMEOUT_MS)
    assert editor.estimate.chart_slot is None and editor.estimate.chart.parentWidget() is editor.estimate
    xs, ys = editor.estimate.curve.getData()
    assert list(ys) == [count for _, count in editor.estimate.history]


def test_the_chart_keeps_its_size_and_place_as_edits_change_the_estimate_and_details(qtbot, open_editor):
    # A chart that moves or changes size is laid out and repainted whole (10-20 ms on the GUI thread at
    # every edit, docs/performance.md): the estimate stays put above the details, which scroll alone.
    editor = open_editor()
    editor.resize(1200, 420)  # short enough that the details need their scroll bar
    qtbot.waitUntil(lambda: editor.estimate.chart is not None and editor.estimate.chart.isVisible(), timeout=TIMEOUT_MS)
    chart = editor.estimate.chart
    place = (chart.mapTo(editor, QPoint(0, 0)), chart.size())
    for tag in ("spring", "summer", "autumn", "winter"):  # the details grow
        editor.details.new_tag.setText(tag)
        qtbot.keyClick(editor.details.new_tag, Qt.Key.Key_Return)
    wait_estimate(qtbot, editor, lambda: editor.edits.add_criterion("session_start", "root", 0))  # the texts change
    QApplication.processEvents()
    assert (chart.mapTo(editor, QPoint(0, 0)), chart.size()) == place
    assert len(editor.estimate.history) >= 2


def test_the_main_window_does_not_import_the_chart_library(tmp_path):
    import subprocess
    import sys

    code = "import sys, app.ui.main_window; print('pyqtgraph' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.stdout.strip() == "False"
