"""The reference audience server: mParticle-compatible ingest, the sync API the app follows, and shared
audience definitions. No Qt; shares the batch mapping (`app.connectors.batches`) with import."""
