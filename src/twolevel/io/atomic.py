"""Atomic file writes: an artefact is either complete or absent.

Every writer in twolevel goes through this module (DESIGN.md, "nothing
already written is lost"). The data are written to a hidden temporary file in
the *same directory* as the target (so the final rename never crosses a file
system), flushed to disk, and only then renamed over the target with
:func:`os.replace`, which is atomic on POSIX and Windows. If anything fails
(an exception, KeyboardInterrupt) the temporary file is removed and an
existing target is left untouched.

Three spellings of the same thing::

    atomic_write(path, lambda tmp: np.save(tmp, a))   # a function of the temp path

    with atomic_path(path) as tmp:                      # a temp path, for libraries
        h5py.File(tmp, "w")...                          # that want a file name

    with atomic_open(path, "w") as fh:                  # an open file object
        fh.write(text)

The temporary name is ``.<name>.<random>.tmp<suffix>`` -- it keeps the
target's suffix, so libraries that look at the extension (``np.savez`` adds
``.npz`` when it is missing) behave as for the target.

The reading side of the same contract lives here too: :func:`read_text` and
:func:`input_error` turn unreadable or malformed input into a one-line
:class:`~twolevel.errors.InputError` naming the file and the line.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from ..errors import InputError

__all__ = ["atomic_path", "atomic_open", "atomic_write", "temp_name", "input_error", "read_text", "sha256_file"]


def input_error(path: str | os.PathLike, line: int | None, what: str) -> InputError:
    """An :class:`InputError` whose one-line message names the file and the line.

    ``line`` is 1-based; ``None`` for binary formats, where the message names
    the entry (array, attribute) instead.
    """
    what = " ".join(str(what).split())  # always one line
    where = f"{path}" if line is None else f"{path}, line {line}"
    return InputError(f"{where}: {what}")


def read_text(path: str | os.PathLike) -> str:
    """The whole file as UTF-8 text; unreadable files become an InputError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise input_error(path, line, "not a text file (invalid UTF-8)") from None


def temp_name(path: str | os.PathLike) -> Path:
    """A fresh hidden temporary name beside ``path`` (same directory, same suffix)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp{path.suffix}")


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; best effort (not possible on every OS).
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary file is created empty (with the permissions an ordinary
    ``open(path, "w")`` would give) so the name is reserved; the body may
    overwrite or truncate it. On any exception it is removed and the exception
    propagates; an existing ``path`` is untouched.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: directory {path.parent} does not exist")
    while True:
        tmp = temp_name(path)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        os.close(fd)
        break
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{path}: the writer removed its temporary file {tmp.name}")
        if fsync:
            _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    if fsync:
        _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, fsync: bool = True,
                **kwargs: Any) -> Iterator[IO]:
    """Like ``open(path, mode)`` for writing, but the file appears only when the block succeeds."""
    if not any(c in mode for c in "wx") or "+" in mode:
        raise ValueError(f"atomic_open needs a write mode ('w', 'wb', 'wt', 'x'), got {mode!r}")
    mode = mode.replace("x", "w")
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path, fsync=False) as tmp:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())


def atomic_write(path: str | os.PathLike, writer_fn: Callable[[Path], Any], *,
                 fsync: bool = True) -> Path:
    """Call ``writer_fn(tmp_path)`` and move ``tmp_path`` onto ``path`` if it returns.

    Returns ``Path(path)``. If ``writer_fn`` raises, no file is left behind
    (an existing ``path`` keeps its old content) and the exception propagates.
    """
    with atomic_path(path, fsync=fsync) as tmp:
        writer_fn(tmp)
    return Path(path)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex), read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()
