"""The bundled world city list: found by the start of a name (or of a word), without case or accents."""

from __future__ import annotations

from app.builder.cities import search


def test_typing_the_start_of_a_name_finds_the_city_with_its_coordinates():
    found = search("Den")
    denver = next(city for city in found if city.name == "Denver")
    assert denver.label.startswith("Denver, CO, US (pop ")
    assert abs(denver.latitude - 39.74) < 0.05 and abs(denver.longitude + 104.99) < 0.05
    assert [city.population for city in found] == sorted((city.population for city in found), reverse=True)
    assert all(city.name.lower().startswith("den") for city in found)


def test_case_accents_and_later_words_are_ignored_or_found():
    assert any(city.name == "São Paulo" and city.country == "BR" for city in search("sao paulo"))
    assert any(city.name == "New York City" for city in search("york"))
    assert search("   ") == []
    assert len(search("San", limit=5)) == 5
