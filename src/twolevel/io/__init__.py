"""Reading and writing configurations: one entry point, one module per format.

>>> from twolevel import io
>>> conf = io.read("glass.data")            # format from the extension
>>> io.write("glass.h5", conf)              # written atomically

Formats (details, columns and conventions in docs/formats.md):

==========  ======================================  ==================================
name        extensions                              module
==========  ======================================  ==================================
lammps      ``.data`` ``.lmp`` ``.lammps``          :mod:`twolevel.io.lammps`
extxyz      ``.xyz`` ``.extxyz``                    :mod:`twolevel.io.extxyz`
npz         ``.npz``                                :mod:`twolevel.io.native`
h5          ``.h5`` ``.hdf5``                       :mod:`twolevel.io.native`
==========  ======================================  ==================================

ASE: :func:`to_ase` / :func:`from_ase` convert to and from ``ase.Atoms`` (with an ASE
Calculator backed by our engine, :class:`twolevel.io.ase_calculator.TwolevelCalculator`);
:func:`read_frames` / :func:`write_frames` handle multi-frame extxyz (trajectories, NEB bands).

Malformed or unknown input raises :class:`twolevel.errors.InputError` with one
line naming the file and (for text formats) the line. Every writer goes
through :mod:`twolevel.io.atomic`: a file is either complete or absent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..config import Configuration
from ..errors import InputError
from .ase_bridge import from_ase, to_ase
from .atomic import atomic_open, atomic_path, atomic_write
from .extxyz import read_extxyz, read_extxyz_frames, write_extxyz, write_extxyz_frames
from .lammps import read_lammps_data, write_lammps_data
from .native import read_h5, read_npz, write_h5, write_npz

__all__ = [
    "FORMATS", "atomic_open", "atomic_path", "atomic_write", "detect_format", "from_ase", "read",
    "read_extxyz", "read_extxyz_frames", "read_frames", "read_h5", "read_lammps_data", "read_npz", "to_ase",
    "write", "write_extxyz", "write_extxyz_frames", "write_frames", "write_h5", "write_lammps_data", "write_npz",
]

#: format name -> file extensions (lower case, with the dot)
FORMATS: dict[str, tuple[str, ...]] = {
    "lammps": (".data", ".lmp", ".lammps"),
    "extxyz": (".xyz", ".extxyz"),
    "npz": (".npz",),
    "h5": (".h5", ".hdf5"),
}
_ALIASES = {"lammps-data": "lammps", "lmp": "lammps", "data": "lammps", "xyz": "extxyz",
            "hdf5": "h5", "native": "h5"}


def detect_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format name for ``path``: ``fmt`` if given (validated), else from the extension."""
    if fmt is not None:
        name = _ALIASES.get(fmt.lower(), fmt.lower())
        if name not in FORMATS:
            raise InputError(f"{path}: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
        return name
    suffix = Path(path).suffix.lower()
    for name, exts in FORMATS.items():
        if suffix in exts:
            return name
    known = " ".join(e for exts in FORMATS.values() for e in exts)
    what = f"unknown extension {suffix!r}" if suffix else "no file extension"
    raise InputError(f"{path}: {what}; use one of {known} or pass fmt= ({', '.join(FORMATS)})")


def read(path: str | os.PathLike, fmt: str | None = None, *, dim: int | None = None,
         unwrap: bool = False) -> Configuration:
    """Read one configuration.

    ``fmt``: ``"lammps"``, ``"extxyz"``, ``"npz"`` or ``"h5"``; by default from
    the extension. ``dim``: request a dimension (needed to read a 2D LAMMPS data
    file, which always holds three coordinates; for the other formats it is a
    check or, for extxyz, an override). ``unwrap`` (LAMMPS only): add image
    flags times the box to the positions. Velocities in a LAMMPS file are
    dropped here; use :func:`read_lammps_data` to get them.
    """
    name = detect_format(path, fmt)
    if name == "lammps":
        return read_lammps_data(path, dim=dim, unwrap=unwrap)[0]
    if name == "extxyz":
        return read_extxyz(path, dim=dim)
    if name == "npz":
        return read_npz(path, dim=dim)
    return read_h5(path, dim=dim)


def write(path: str | os.PathLike, conf: Configuration, fmt: str | None = None, **options: Any) -> Path:
    """Write one configuration atomically; returns the path.

    ``options`` go to the format's writer (LAMMPS: ``style="atomic"|"charge"``,
    ``velocities=``).
    """
    if not isinstance(conf, Configuration):
        raise TypeError(f"write() needs a Configuration, got {type(conf).__name__}")
    name = detect_format(path, fmt)
    writer = {"lammps": write_lammps_data, "extxyz": write_extxyz, "npz": write_npz, "h5": write_h5}[name]
    return writer(path, conf, **options)


def read_frames(path: str | os.PathLike, fmt: str | None = None, *, dim: int | None = None) -> list[Configuration]:
    """Every configuration in ``path``: all frames of an extxyz file, the one configuration of the others."""
    if detect_format(path, fmt) == "extxyz":
        return read_extxyz_frames(path, dim=dim)
    return [read(path, fmt, dim=dim)]


def write_frames(path: str | os.PathLike, confs, fmt: str | None = None, infos=None) -> Path:
    """Write several configurations as the frames of one extxyz file (the only multi-frame format)."""
    name = detect_format(path, fmt)
    if name != "extxyz":
        raise InputError(f"{path}: several configurations need a multi-frame format (.xyz .extxyz), not {name}")
    return write_extxyz_frames(path, confs, infos)
