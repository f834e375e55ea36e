"""The Revenue pane: where a data provider's money comes from (issue 8)."""
