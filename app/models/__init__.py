"""The workspace store: what users make (workspaces, inputs, audiences, tags), kept in SQLite. No Qt."""
