"""Exceptions a person can act on.

Every error raised for bad input is a :class:`TwolevelError` whose message is a
single line naming the file, field or object at fault. The CLI prints the
message (no traceback) and exits with status 2.
"""


class TwolevelError(Exception):
    """Base class: a one-line, actionable error."""


class InputError(TwolevelError, ValueError):
    """Bad user input: a file, a config key, a parameter."""


class PhysicsError(TwolevelError, RuntimeError):
    """A configuration that cannot be simulated (overlaps, NaN, blow-up)."""


class ConvergenceError(TwolevelError, RuntimeError):
    """An iterative method did not reach its tolerance."""
