"""The palette and the card editors agree with the criteria types' registry (app/builder/criteria_types.py).

Every type is offered by the palette and has a card editor; the palette and the editors hold nothing the
registry lacks; and every palette entry, added to a real audience, becomes a card with its type's editor.
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QKeySequence

from app.builder import criteria_types, editing
from app.builder.criteria_types import TYPES
from app.ui.editor.canvas import CriterionCard, GroupFrame
from app.ui.editor.editors import EDITORS
from app.ui.editor.palette import KEY_ROLE, CriteriaPalette
from tests.ui.editor.test_editor import TIMEOUT_MS

KEYS = [kind.key for kind in TYPES]


def palette_keys(palette: CriteriaPalette) -> dict[str, list[str]]:
    """What the palette shows: each section's heading with the keys of its entries, in order."""
    model = palette.model
    shown = {}
    for row in range(model.rowCount()):
        heading = model.item(row)
        shown[heading.text()] = [heading.child(child).data(KEY_ROLE) for child in range(heading.rowCount())]
    return shown


@pytest.mark.parametrize("key", KEYS)
def test_the_palette_offers_every_entry_of_each_type(qtbot, key):
    palette = CriteriaPalette()
    qtbot.addWidget(palette)
    shown = palette_keys(palette)
    for entry in criteria_types.get(key).entries:
        assert entry.key in shown[entry.group]


@pytest.mark.parametrize("key", [kind.key for kind in TYPES if not kind.container])
def test_each_criterion_type_has_a_card_editor(key):
    assert key in EDITORS


def test_the_palette_and_the_editors_hold_nothing_the_registry_lacks(qtbot):
    palette = CriteriaPalette()
    qtbot.addWidget(palette)
    shown = palette_keys(palette)
    assert shown == {section: [entry.key for entry in entries] for section, entries in criteria_types.sections()}
    assert {editing.PALETTE[key].make()["type"] for keys in shown.values() for key in keys} == set(KEYS)
    assert set(EDITORS) == set(criteria_types.criterion_keys())


def test_every_palette_entry_becomes_a_card_with_its_types_editor(qtbot, open_editor):
    editor = open_editor("Empty draft", wait_estimate=False)
    added = {}
    for index, key in enumerate(editing.PALETTE):
        added[key] = editor.edits.add_criterion(key, "root", index)
    for key, node_id in added.items():
        entry = editing.PALETTE[key]
        frame = editor.canvas.frames[node_id]
        if criteria_types.get(entry.make()["type"]).container:
            assert isinstance(frame, GroupFrame)
            continue
        assert isinstance(frame, CriterionCard)
        assert frame.title.text() == entry.label
        assert type(frame.editor) is EDITORS[entry.make()["type"]]
    assert editor.undo_stack.count() == len(editing.PALETTE)
    qtbot.waitUntil(lambda: not editor.live.is_busy(), timeout=TIMEOUT_MS)


def test_the_add_criterion_menu_shows_every_section_and_entry_by_its_name(qtbot, open_editor):
    editor = open_editor("Empty draft", wait_estimate=False)
    add = editor.canvas.menu_for("root").actions()[0].menu()
    shown = {}
    for action in add.actions():
        # "Devices & location": the & is text, not a keyboard shortcut that hides it
        assert QKeySequence.mnemonic(action.text()).isEmpty(), action.text()
        shown[action.text().replace("&&", "&")] = [entry.text() for entry in action.menu().actions()]
    assert shown == {section: [entry.label for entry in entries if entry.key != "group"]
                     for section, entries in criteria_types.sections() if section != "Structure"}
