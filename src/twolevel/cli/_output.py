"""The output directory of a stand-alone stage command: locked like a ``twolevel run`` directory.

``twolevel explore -o DIR`` (and prepare, paths, lattice cool) holds an
exclusive lock on DIR while it runs, so two commands never write into one
directory; a second one is refused with one line. When the command fails and
it created DIR itself, DIR is removed again if nothing but the lock is in it:
a failed command leaves no empty output directory behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ..pipeline.study import _mkdir, lock_dir

__all__ = ["locked_output"]


@contextlib.contextmanager
def locked_output(out: Path, command: str) -> Iterator[Path]:
    """Create (if needed) and lock ``out`` for ``command``; undo the creation when the command fails."""
    out = Path(out)
    created = not out.exists()
    _mkdir(out)
    try:
        with lock_dir(out, f"'twolevel {command}'"):
            yield out
    except BaseException:
        if created:
            _remove_if_empty(out)
        raise


def _remove_if_empty(out: Path) -> None:
    with contextlib.suppress(OSError):
        lock = out / ".lock"
        if {p.name for p in out.iterdir()} <= {".lock"}:
            lock.unlink(missing_ok=True)
            out.rmdir()
