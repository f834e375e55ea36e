"""The Connections pane: the partner directory, output configurations and the connections of audiences to them."""
