"""Errors meant for the user: the CLI prints them as one line and exits non-zero."""


class Tier7Error(Exception):
    """A problem the user can act on (bad input, unreachable target); printed without a traceback."""
