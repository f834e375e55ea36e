"""The audience builder: palette, canvas of criteria, card editors, live estimate, details, undo and autosave."""
