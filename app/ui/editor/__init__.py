"""The audience editor window: palette, canvas of criteria, card editors, live estimate, details, undo and autosave."""
