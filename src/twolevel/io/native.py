"""Native configuration files: ``.npz`` (numpy, no pickle) and ``.h5`` (HDF5).

Both hold the same entries (docs/formats.md):

=============  ==========  ==============================================
entry          dtype       meaning
=============  ==========  ==============================================
positions      float64     (N, d), reduced units, box origin at 0
box            float64     (d,) box lengths
types          int64       (N,) particle types starting at 0
diameters      float64     (N,) diameters (1 for monodisperse models)
model          str         model family (absent when the model is None)
meta           str         JSON text of the ``meta`` dict
format         str         ``"twolevel-configuration"``
version        int         format version, 1
=============  ==========  ==============================================

In ``.npz`` every entry is an array (strings as 0-d unicode arrays, so the
file loads with ``allow_pickle=False``). In HDF5 the four arrays are datasets
of the group (default the root ``/``) and the rest are attributes of it.
Everything round-trips exactly.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Configuration
from ..errors import InputError
from .atomic import atomic_open, atomic_path

__all__ = ["read_npz", "write_npz", "read_h5", "write_h5", "FORMAT_TAG", "FORMAT_VERSION"]

FORMAT_TAG = "twolevel-configuration"
FORMAT_VERSION = 1
_ARRAYS = {"positions": np.float64, "box": np.float64, "types": np.int64, "diameters": np.float64}


def _meta_json(path: Path, conf: Configuration) -> str:
    try:
        return json.dumps(conf.meta, sort_keys=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: meta is not JSON-serialisable ({exc})") from None


def _build(path: Path, arrays: dict[str, Any], model: Any, meta_text: Any, version: Any,
           dim: int | None) -> Configuration:
    if version is not None and int(version) > FORMAT_VERSION:
        raise InputError(f"{path}: format version {int(version)} is newer than this twolevel "
                         f"understands ({FORMAT_VERSION})")
    try:
        meta = json.loads(meta_text) if meta_text not in (None, "") else {}
    except ValueError as exc:
        raise InputError(f"{path}: entry 'meta' is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: entry 'meta' must be a JSON object, got {type(meta).__name__}")
    pos = arrays["positions"]
    if pos.ndim != 2:
        raise InputError(f"{path}: entry 'positions' must be 2D (N, d), got shape {pos.shape}")
    if dim is not None and pos.shape[1] != dim:
        raise InputError(f"{path}: holds a {pos.shape[1]}D configuration, dim={dim} was requested")
    try:
        return Configuration(pos, arrays["box"], arrays["types"], arrays["diameters"],
                             None if model is None else str(model), meta)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


# ----------------------------------------------------------------------------- npz
def write_npz(path: str | os.PathLike, conf: Configuration) -> Path:
    """Write ``conf`` as an uncompressed ``.npz`` (atomically)."""
    path = Path(path)
    entries = {
        "format": np.array(FORMAT_TAG),
        "version": np.array(FORMAT_VERSION, dtype=np.int64),
        "positions": conf.positions, "box": conf.box, "types": conf.types, "diameters": conf.diameters,
        "meta": np.array(_meta_json(path, conf)),
    }
    if conf.model is not None:
        entries["model"] = np.array(str(conf.model))
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **entries)
    return path


def read_npz(path: str | os.PathLike, *, dim: int | None = None) -> Configuration:
    """Read a native ``.npz`` configuration (never unpickles anything)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise InputError(f"{path}: not an .npz file (no zip signature)")
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            for key in _ARRAYS:
                if key not in names:
                    raise InputError(f"{path}: entry {key!r} missing (not a twolevel .npz configuration)")
            arrays = {}
            for key, dtype in _ARRAYS.items():
                try:
                    arrays[key] = np.asarray(z[key])
                except ValueError as exc:  # object arrays need pickle
                    raise InputError(f"{path}: entry {key!r} cannot be read without pickle ({exc})") from None
                if not np.can_cast(arrays[key].dtype, dtype, casting="same_kind"):
                    raise InputError(f"{path}: entry {key!r} has dtype {arrays[key].dtype}, expected {np.dtype(dtype)}")
            scalars = {}
            for key in ("model", "meta", "version", "format"):
                if key in names:
                    try:
                        scalars[key] = z[key].item()
                    except ValueError as exc:
                        raise InputError(f"{path}: entry {key!r} is not a scalar ({exc})") from None
    except InputError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npz file ({exc})") from None
    if "format" in scalars and scalars["format"] != FORMAT_TAG:
        raise InputError(f"{path}: entry 'format' is {scalars['format']!r}, expected {FORMAT_TAG!r}")
    return _build(path, arrays, scalars.get("model"), scalars.get("meta"), scalars.get("version"), dim)


# ----------------------------------------------------------------------------- HDF5
def write_h5(path: str | os.PathLike, conf: Configuration) -> Path:
    """Write ``conf`` as an HDF5 file (atomically): datasets + attributes at the root."""
    import h5py

    path = Path(path)
    meta_text = _meta_json(path, conf)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for key in _ARRAYS:
                f.create_dataset(key, data=getattr(conf, key))
            f.attrs["format"] = FORMAT_TAG
            f.attrs["version"] = FORMAT_VERSION
            f.attrs["meta"] = meta_text
            if conf.model is not None:
                f.attrs["model"] = str(conf.model)
    return path


def _attr(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_h5(path: str | os.PathLike, *, dim: int | None = None, group: str = "/") -> Configuration:
    """Read a native HDF5 configuration from ``group`` (default the root)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with h5py.File(path, "r") as f:
            if group not in f:
                raise InputError(f"{path}: group {group!r} missing")
            g = f[group]
            arrays = {}
            for key in _ARRAYS:
                if key not in g or not isinstance(g[key], h5py.Dataset):
                    raise InputError(f"{path}: dataset {group.rstrip('/')}/{key} missing "
                                     "(not a twolevel HDF5 configuration)")
                arrays[key] = g[key][()]
            attrs = {k: _attr(g.attrs[k]) for k in ("model", "meta", "version", "format") if k in g.attrs}
    except InputError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a readable HDF5 file ({exc})") from None
    if "format" in attrs and attrs["format"] != FORMAT_TAG:
        raise InputError(f"{path}: attribute 'format' is {attrs['format']!r}, expected {FORMAT_TAG!r}")
    return _build(path, arrays, attrs.get("model"), attrs.get("meta"), attrs.get("version"), dim)
