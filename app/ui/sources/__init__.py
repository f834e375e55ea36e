"""The Sources pane (the integration center)."""
