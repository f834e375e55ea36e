"""The workspace store: SQLAlchemy tables, engine set-up and alembic migrations (never lose a user's work)."""
