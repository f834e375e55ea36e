"""The Standard audiences pane and its dialogs: new standard audience, calculate (credits), send, add credits."""
