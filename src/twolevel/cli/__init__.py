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

def _version_callback(value: bool) -> None:
    if value:
        from .. import __version__

        print(f"twolevel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Two-level systems in computer glasses (see docs/ for the user guide)."""


# Command modules: each one does `from . import app` and decorates its commands.
from . import prepare_cmd  # noqa: E402,F401
from . import lattice_cmd  # noqa: E402,F401
from . import explore_cmd  # noqa: E402,F401
from . import quantum_cmd  # noqa: E402,F401
from . import paths_cmd  # noqa: E402,F401
from . import run_cmd  # noqa: E402,F401
from . import vibrations_cmd  # noqa: E402,F401
from . import search_cmd  # noqa: E402,F401
from . import instanton_cmd  # noqa: E402,F401
# (command modules are imported here as they land)
from . import inspect_cmd  # noqa: E402,F401
from . import convert_cmd  # noqa: E402,F401
from . import tables_cmd  # noqa: E402,F401


def os_error_line(exc: OSError) -> str:
    """One line for an OSError (disk full, read-only file system, permission), naming the path."""
    what = exc.strerror or " ".join(str(exc).split())
    paths = [str(p) for p in (exc.filename, exc.filename2) if p]
    return f"{' -> '.join(paths)}: {what}" if paths else what


def main() -> None:
    from ..pipeline.executors import sigterm_as_interrupt, terminated

    try:
        with sigterm_as_interrupt():  # SIGTERM: the clean shutdown of Ctrl-C (workers stopped, lock released)
            app()
    except TwolevelError as exc:
        print(f"twolevel: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:  # ENOSPC, EROFS, EACCES, ...: one line naming the path, never a traceback
        print(f"twolevel: error: {os_error_line(exc)}", file=sys.stderr)
        sys.exit(2)
    except SystemExit:
        if terminated():
            sys.exit(143)  # 128 + SIGTERM, as the shell reports a process killed by it
        raise


@app.command()
def version() -> None:
    """Print the package version."""
    from .. import __version__

    print(__version__)
