"""The one progress bar of every long command: rich, on stderr, with elapsed time and time left.

:func:`progress_bar` takes the tqdm-like arguments the stages use (an iterable or a ``total``,
``desc``, ``unit``, ``initial``) and returns a :class:`ProgressBar` with ``update``, ``update_to``
(never moves backwards), ``set_postfix`` and ``close``; it is also an iterator and a context
manager. Only one live display may be active at a time (rich): a bar started while another is
showing (a stage inside ``twolevel run``'s study display, nested loops) stays silent instead of
failing. twolevel uses no other progress library.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["ProgressBar", "progress_bar"]


class ProgressBar:
    """A rich progress bar with a tqdm-like interface (see the module docstring)."""

    def __init__(self, iterable: Iterable | None = None, total: float | None = None, desc: str = "",
                 unit: str = "it", initial: float = 0, disable: bool = False) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.iterable = iterable
        self.n = float(initial)
        self.total = total
        self._p = None
        if disable:
            return
        from rich.console import Console
        from rich.errors import LiveError
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                     TextColumn("{task.fields[unit]}"), TimeElapsedColumn(), TextColumn("left"),
                     TimeRemainingColumn(), TextColumn("{task.fields[postfix]}"),
                     console=Console(stderr=True), transient=False)
        self._task = p.add_task(desc, total=total, completed=self.n, unit=unit, postfix="")
        try:
            p.start()
        except LiveError:  # another live display is showing: stay silent
            return
        self._p = p

    def update(self, n: float = 1) -> None:
        """Advance by ``n``."""
        self.update_to(self.n + n)

    def update_to(self, completed: float) -> None:
        """Set the count to ``completed``, or leave it where it is if that would move it back."""
        if completed > self.n:
            self.n = float(completed)
            if self._p is not None:
                self._p.update(self._task, completed=self.n)

    def set_description(self, desc: str) -> None:
        if self._p is not None:
            self._p.update(self._task, description=desc)

    def set_postfix(self, **kw: Any) -> None:
        """Show ``key=value`` pairs after the bar."""
        if self._p is not None:
            self._p.update(self._task, postfix=" ".join(f"{k}={v}" for k, v in kw.items()))

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
            self._p = None

    def __iter__(self) -> Iterator:
        try:
            for x in self.iterable or ():
                yield x
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(iterable: Iterable | None = None, total: float | None = None, desc: str = "", unit: str = "it",
                 initial: float = 0, disable: bool = False) -> ProgressBar:
    """The progress bar of a long loop (see :class:`ProgressBar`)."""
    return ProgressBar(iterable, total=total, desc=desc, unit=unit, initial=initial, disable=disable)
