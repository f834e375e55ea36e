"""Everything that talks to the outside: the DuckDB cache, mParticle batch import, the demo generator. No Qt."""
