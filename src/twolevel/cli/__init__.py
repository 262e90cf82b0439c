"""Command-line interface: ``twolevel COMMAND ...``.

Each command family lives in its own module of this package and registers
itself on :data:`app` when imported below. Errors derived from
:class:`twolevel.errors.TwolevelError` are printed as one line (no traceback)
and exit with status 2.
"""

from __future__ import annotations

import sys

import typer

from ..errors import TwolevelError

app = typer.Typer(
    name="twolevel",
    help="Two-level systems in computer glasses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

@app.callback()
def _root() -> None:
    """Two-level systems in computer glasses (see docs/ for the user guide)."""


# Command modules: each one does `from . import app` and decorates its commands.
from . import prepare_cmd  # noqa: E402,F401
from . import lattice_cmd  # noqa: E402,F401
from . import explore_cmd  # noqa: E402,F401
from . import quantum_cmd  # noqa: E402,F401
from . import paths_cmd  # noqa: E402,F401
from . import run_cmd  # noqa: E402,F401
from . import vibrations_cmd  # noqa: E402,F401
from . import instanton_cmd  # noqa: E402,F401
# (command modules are imported here as they land)
from . import inspect_cmd  # noqa: E402,F401


def main() -> None:
    try:
        app()
    except TwolevelError as exc:
        print(f"twolevel: error: {exc}", file=sys.stderr)
        sys.exit(2)


@app.command()
def version() -> None:
    """Print the package version."""
    from .. import __version__

    print(__version__)
