"""An attribute's type changed while an audience is open: the open editor's cards and its estimate follow.

The editor and its estimates share one catalog; it is read again when a type is changed from the card,
or elsewhere (another open editor: the store says its workspace changed).
"""

from __future__ import annotations

from app.builder import editing
from tests.ui.editor.support import TIMEOUT_MS, engine_count, wait_estimate
from tests.ui.editor_homes import document

AGE = {"id": "age", "type": "user_attribute", "exclude": False, "attribute": "age", "operator": "ge", "value": 40}


def open_adults(open_editor):
    """An editor of an audience "age ≥ 40" (age is detected as a number), showing its exact count."""
    home = open_editor.connection.open_home
    audience = home.audiences.create("Adults", workspace_ids=[open_editor.ids["workspace"]], criteria=document(AGE))
    open_editor.ids["Adults"] = audience.id
    editor = open_editor("Adults")
    assert editor.canvas.frames["age"].editor.type_button.text() == "number"
    assert editor.estimate.shown.count == engine_count(editor).count > 0
    return editor


def test_a_type_changed_on_the_card_makes_the_open_estimate_refuse_then_count_again(qtbot, open_editor):
    editor = open_adults(open_editor)
    counted = editor.estimate.shown.count
    card = editor.canvas.frames["age"]

    with qtbot.waitSignal(editor.live.problems_shown, timeout=TIMEOUT_MS):
        card.editor._on_type_chosen("string")

    assert card.editor.type_button.text() == "text"
    assert card.problem_label.isVisibleTo(card)
    assert "'ge' does not fit user attribute 'age', which holds string values" in card.problem_text.text()
    assert not editor.activate_button.isEnabled()
    assert "Fix the problems" in editor.activate_button.toolTip()

    estimate = wait_estimate(qtbot, editor, lambda: card.editor._on_type_chosen("number"))
    assert estimate.count == counted == engine_count(editor).count
    assert not card.problem_label.isVisibleTo(card)
    assert editor.activate_button.isEnabled()


def test_a_type_changed_elsewhere_reaches_the_open_editor(qtbot, open_editor):
    editor = open_adults(open_editor)
    home, workspace = editor.home, open_editor.ids["workspace"]

    # As another open editor would: the store changes, the editor hears its workspace changed.
    with qtbot.waitSignal(editor.live.problems_shown, timeout=TIMEOUT_MS) as shown:
        home.workspaces.set_attribute_type(workspace, "age", "string")

    assert any("does not fit user attribute 'age'" in p.message for p in shown.args[0])
    card = editor.canvas.frames["age"]
    qtbot.waitUntil(lambda: card.editor.type_button.text() == "text", timeout=TIMEOUT_MS)
    assert editor.services.catalog is editor.session.catalog.current  # one catalog for the cards and the counts

    # A text comparison on the text attribute counts again, with what the engine says.
    estimate = wait_estimate(qtbot, editor, lambda: editor.edits.apply(
        editing.update(editor.document, "age", {"operator": "equals", "value": "58"}), "Change age"))
    assert estimate.count == engine_count(editor).count
