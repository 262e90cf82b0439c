"""Every configuration a run stores, as frames another tool can read (``twolevel convert``).

>>> from twolevel.io.convert import convert
>>> convert("RUN/pss/Tf_0.062/sample_0/prepare/glass.h5", "glass.xyz")          # one configuration
>>> convert("RUN/pss/Tf_0.062/sample_0/explore/is_configs.h5", "is.xyz")        # every inherent structure
>>> convert("RUN/pss/Tf_0.062/sample_0/paths/bands.h5", "band3.xyz", dw=3)     # an NEB band, image by image

Inputs (:func:`stored_frames`):

- a configuration file of :mod:`twolevel.io` (``.h5``/``.npz``/``.data``/``.xyz``; all frames of an extxyz);
- ``is_configs.h5`` (the exploration's inherent structures): one frame per IS (``ids`` to choose),
  keys ``is_id`` and ``energy``;
- ``new_minima.h5`` (the paths stage's intermediate minima): the same, box, types and diameters
  from ``reference`` as for bands;
- ``bands.h5`` (the paths stage): the images of double well ``dw`` (all bands one after another when
  ``dw`` is None), keys ``dw_id``, ``image``, ``xi`` and ``energy`` = V(xi), the energy measured
  from the deeper minimum (what ASE's GUI plots as the NEB profile). A band stores displacements
  only; box, types, diameters and model come from ``reference`` (default: the sample's
  ``explore/is_configs.h5``, else ``prepare/glass.h5``).

Several frames can only go to extended XYZ (one file, read by OVITO and ``ase.io.read(path, ":")``
as a trajectory); a single frame goes to any format of :mod:`twolevel.io`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Configuration
from ..errors import InputError
from ..layout import BANDS, EXPLORE, GLASS, IS_CONFIGS, PREPARE, stage_file

NEW_MINIMA = "new_minima.h5"  # paths/: intermediate minima found by splitting (twolevel.paths)

__all__ = ["convert", "stored_frames"]

Frames = tuple[list[Configuration], list[dict[str, Any]]]


def _h5_kind(path: Path) -> str | None:
    """'is_configs', 'bands' or None (a native configuration or something else) for an HDF5 file."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "configs" in f and "box" in f:
                return "is_configs"
            groups = [k for k in f if isinstance(f[k], h5py.Group)]
            if groups and all("band_disp" in f[k] and "x_low" in f[k] for k in groups):
                return "bands"
            if not groups and "positions" not in f and f.attrs.get("format") is None:
                if path.name == BANDS:
                    return "bands"  # an empty bands.h5: no double well found
                if all(k.isdigit() and "energy" in f[k].attrs for k in f) and (len(f) or path.name == NEW_MINIMA):
                    return "new_minima"
    except OSError as exc:
        raise InputError(f"{path}: not a readable HDF5 file ({exc})") from None
    return None


def _system(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None, dict]:
    """(box, types, diameters, model, meta) of an is_configs.h5 or a configuration file."""

    if path.suffix.lower() in (".h5", ".hdf5") and _h5_kind(path) == "is_configs":
        from ..explore import ISConfigs  # the one reader of explore's library

        with ISConfigs(path) as store:
            return (*store.system(), {})
    from . import read

    conf = read(path)
    return conf.box, conf.types, conf.diameters, conf.model, conf.meta


def _is_frames(path: Path, ids, reference=None) -> Frames:
    """Inherent structures of an is_configs.h5 (or, with ``reference``, of a paths/new_minima.h5)."""
    import h5py

    box, types, diam, model, _ = _system(path if reference is None else Path(reference))
    confs, infos = [], []
    if reference is None:
        from ..explore import ISConfigs  # the one reader of explore's library

        with ISConfigs(path) as store:
            available = store.ids()
            for k in (available if ids is None else [int(i) for i in ids]):
                if k not in store:
                    raise InputError(f"{path}: no inherent structure {k} (it holds {len(available)}: "
                                     f"{available[0] if available else '-'}..{available[-1] if available else '-'})")
                confs.append(store.configuration(k))
                infos.append({"is_id": k, "energy": store.energy(k)})
        if not confs:
            raise InputError(f"{path}: holds no inherent structure")
        return confs, infos
    with h5py.File(path, "r") as f:  # paths/new_minima.h5: datasets <is_id> at the root
        grp = f
        available = sorted(int(k) for k in grp)
        for k in (available if ids is None else [int(i) for i in ids]):
            if str(k) not in grp:
                raise InputError(f"{path}: no inherent structure {k} (it holds {len(available)}: "
                                 f"{available[0] if available else '-'}..{available[-1] if available else '-'})")
            ds = grp[str(k)]
            if ds.shape != (len(types), len(box)):
                raise InputError(f"{path}: minimum {k} has shape {ds.shape}, the reference {reference} holds "
                                 f"{len(types)} particles in {len(box)}D (not the same glass)")
            confs.append(Configuration(ds[()], box, types, diam, model, {}))
            infos.append({"is_id": k, "energy": float(ds.attrs["energy"])})
    if not confs:
        raise InputError(f"{path}: holds no inherent structure")
    return confs, infos


def _default_reference(stored: Path) -> Path:
    """The sample's is_configs.h5 or glass.h5 for a file of its paths/ directory."""
    sample = stored.resolve().parent.parent
    for cand in (stage_file(sample, EXPLORE, IS_CONFIGS), stage_file(sample, PREPARE, GLASS)):
        if cand.is_file():
            return cand
    raise InputError(f"{stored}: holds coordinates only; no {sample / 'explore' / IS_CONFIGS} or "
                     f"{sample / 'prepare' / GLASS} beside it to take box, types and diameters from: "
                     "pass reference= (--reference)")


def _band_frames(path: Path, dw, reference) -> Frames:
    import h5py

    ref = Path(reference) if reference is not None else _default_reference(path)
    box, types, diam, model, _ = _system(ref)
    confs, infos = [], []
    with h5py.File(path, "r") as f:
        available = sorted(int(k) for k in f)
        if not available:
            raise InputError(f"{path}: holds no band (the paths stage found no double well)")
        wanted = available if dw is None else [int(dw)]
        for k in wanted:
            if str(k) not in f:
                raise InputError(f"{path}: no double well {k} (dw_id {available[0]}..{available[-1]})")
            g = f[str(k)]
            x_low = g["x_low"][()]
            if x_low.shape != (len(types), len(box)):
                raise InputError(f"{path}: band {k} has {x_low.shape[0]} particles in {x_low.shape[1]}D, the "
                                 f"reference {ref} {len(types)} in {len(box)}D (not the same glass)")
            disp = g["band_disp"][()].astype(np.float64)
            for m, (xi, v) in enumerate(zip(g["xi"][()], g["V"][()])):
                pos = x_low + disp[m].reshape(x_low.shape)
                confs.append(Configuration(pos, box, types, diam, model, {}))
                infos.append({"dw_id": k, "image": m, "xi": float(xi), "energy": float(v)})
    return confs, infos


def stored_frames(path: str | os.PathLike, *, dw: int | None = None, ids=None,
                  reference: str | os.PathLike | None = None) -> Frames:
    """(configurations, per-frame keys) of any file a run stores (see the module docstring)."""
    from . import read_frames

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    kind = _h5_kind(path) if path.suffix.lower() in (".h5", ".hdf5") else None
    if kind == "bands":
        return _band_frames(path, dw, reference)
    if dw is not None:
        raise InputError(f"{path}: --dw selects a band of a bands.h5 file; this is not one")
    if kind == "is_configs":
        return _is_frames(path, ids)
    if kind == "new_minima":
        return _is_frames(path, ids, reference if reference is not None else _default_reference(path))
    if ids is not None:
        raise InputError(f"{path}: --is selects inherent structures of an is_configs.h5 or new_minima.h5 file; "
                         "this is not one")
    confs = read_frames(path)
    return confs, [{} for _ in confs]


def convert(src: str | os.PathLike, dst: str | os.PathLike, fmt: str | None = None, *, dw: int | None = None,
            ids=None, reference: str | os.PathLike | None = None) -> tuple[Path, int]:
    """Write the frames of ``src`` to ``dst`` (format from its extension or ``fmt``); returns (path, frames)."""
    from . import detect_format, write, write_frames

    name = detect_format(dst, fmt)  # a bad output name fails before anything is read
    confs, infos = stored_frames(src, dw=dw, ids=ids, reference=reference)
    if len(confs) == 1 and name != "extxyz":
        conf = confs[0]
        conf.meta.update({k: v for k, v in infos[0].items() if k not in conf.meta})
        return write(dst, conf, fmt), 1
    return write_frames(dst, confs, fmt, infos), len(confs)
