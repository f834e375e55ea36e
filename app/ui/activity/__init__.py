"""The Activity pane (the live event stream) and the audit log view."""
