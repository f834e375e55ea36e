"""'Within a distance of a city': a city found by name fills the latitude and longitude; the document keeps
only those (the same format as before), and raw coordinates can still be typed."""

from __future__ import annotations

from app.builder import editing
from app.builder.cities import search
from app.builder.document import check
from tests.ui.editor.support import TIMEOUT_MS, engine_count, wait_estimate


def _choose(field, data) -> None:
    index = field.findData(data)
    field.setCurrentIndex(index)
    field.activated.emit(index)


def test_typing_den_suggests_denver_and_choosing_it_fills_the_coordinates(qtbot, open_editor):
    editor = open_editor()
    card = editor.canvas.frames["london"]
    wait_estimate(qtbot, editor, lambda: _choose(card.editor.mode, "within"))
    city = card.editor.city
    assert city.isVisibleTo(card)
    city.setFocus()

    qtbot.keyClicks(city, "Den")

    qtbot.waitUntil(lambda: any(label.startswith("Denver, CO, US (pop ") for label in city.suggestions()),
                    timeout=TIMEOUT_MS)
    label = next(label for label in city.suggestions() if label.startswith("Denver, CO, US"))
    estimate = wait_estimate(qtbot, editor, lambda: city.completer().activated.emit(label))

    node = editing.find(editor.document, "london")
    assert (node["latitude"], node["longitude"]) == (39.7392, -104.9847)
    assert set(node) == {"id", "type", "exclude", "operator", "latitude", "longitude", "radius", "unit"}
    check(editor.document)
    assert card.editor.latitude.value() == 39.7392 and card.editor.longitude.value() == -104.9847
    assert estimate.nodes["london"] == engine_count(editor).nodes["london"]
    assert city.text() == label


def test_raw_coordinates_stay_available_and_clear_the_chosen_city(qtbot, open_editor):
    editor = open_editor()
    card = editor.canvas.frames["london"]
    _choose(card.editor.mode, "within")
    city = card.editor.city
    city._show(search("Denver", limit=1))  # as the worker's answer would
    city.completer().activated.emit(city.suggestions()[0])
    assert editing.find(editor.document, "london")["latitude"] == 39.7392
    card.editor.latitude.setValue(51.5)
    card.editor.longitude.setValue(-0.12)

    node = editing.find(editor.document, "london")
    assert (node["latitude"], node["longitude"]) == (51.5, -0.12)
    assert card.editor.city.text() == ""
