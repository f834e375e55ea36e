"""Help for the window's users: the user guide (docs/ rendered in a window) and the keyboard-shortcut sheet."""
