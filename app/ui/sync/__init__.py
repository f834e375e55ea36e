"""The Sync pane: signing in to the team's server, syncing with progress and Cancel, the history, and conflicts."""
