"""The Audiences pane: the list of audiences, searchable and sortable."""
