"""The Faults pane: why forwarding to a connection stopped, and re-authenticating, fixing credentials and resuming."""
