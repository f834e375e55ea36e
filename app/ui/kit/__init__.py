"""What every pane shares: the pane contract, the newest-request-wins runner, and common widgets."""
