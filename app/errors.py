"""Errors a user can act on: the command line prints them without a traceback, the app shows them."""


class UserError(Exception):
    """Something the user asked for cannot be done; the message says why and what to do."""


class NotFound(UserError):
    """A named thing (audience, workspace, file...) does not exist."""


class InvalidInput(UserError):
    """A value, file or document is malformed; the message names what and where."""
