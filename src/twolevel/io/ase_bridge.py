"""ASE interoperability: ``to_ase`` / ``from_ase`` and an ASE Calculator backed by our engine.

>>> from twolevel import io
>>> atoms = io.to_ase(io.read("glass.h5"))          # an ase.Atoms with a TwolevelCalculator attached
>>> from ase.optimize import FIRE
>>> FIRE(atoms).run(fmax=1e-6)                        # ASE's optimiser on our potential
>>> conf = io.from_ase(atoms)                         # back to a Configuration

Conventions (the same as the extended XYZ files of :mod:`twolevel.io.extxyz`, so that
``to_ase(conf)`` equals ``ase.io.read`` of ``io.write("c.xyz", conf)``):

- symbols: the element of atomic number type + 1 (``H``, ``He``, ``Li``; or the element names in
  ``meta["species_names"]``); the type itself is the per-atom array ``type_id``;
- the per-atom array ``radius`` holds sigma/2 (OVITO's ``Radius``);
- masses are 1 (twolevel's reduced units; ASE's MD, vibrations and NEB use them);
- ``info`` holds ``model`` and the meta dict, keys that ASE or the format reserve renamed
  ``meta_<key>`` (:data:`twolevel.io.extxyz.RENAMED_KEYS`);
- a 2D configuration has ``z = 0``, a cell with ``Lz = 1``, ``pbc = (True, True, False)`` and a
  ``FixCartesian`` constraint on z (ASE's optimisers, NEB and MD stay in the plane).

:class:`twolevel.io.ase_calculator.TwolevelCalculator` returns energy, forces and stress (ASE's sign: sigma = (1/V) dE/d(strain),
so the pressure is -trace/3) computed by :class:`twolevel.engine.ParticleSystem`. ASE is an
optional dependency (``pip install twolevel[ase]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import Configuration
from ..errors import InputError
from .extxyz import _species_types, info_to_meta, meta_to_info, species_symbols

__all__ = ["from_ase", "to_ase"]


def _ase():
    try:
        import ase
    except ImportError:
        raise InputError("ASE is not installed: pip install 'twolevel[ase]' (or pip install ase)") from None
    return ase


def _plain(value: Any) -> Any:
    """ASE hands numpy scalars and arrays back in ``info``; meta wants JSON-serialisable values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


# ----------------------------------------------------------------------------- conversions
def to_ase(conf: Configuration, *, calculator: bool = True, model=None):
    """An ``ase.Atoms`` for ``conf`` (positions copied), with a :class:`TwolevelCalculator` attached.

    ``calculator=False`` leaves ``atoms.calc`` unset (no model needed); ``model`` overrides
    ``conf.model`` for the calculator.
    """
    ase = _ase()
    if not isinstance(conf, Configuration):
        raise TypeError(f"to_ase() needs a Configuration, got {type(conf).__name__}")
    if conf.dim not in (2, 3):
        raise InputError(f"ASE holds 2D or 3D systems, not {conf.dim}D")
    pos = np.zeros((conf.n, 3))
    pos[:, :conf.dim] = conf.positions
    cell = np.ones(3)
    cell[:conf.dim] = conf.box
    atoms = ase.Atoms(symbols=species_symbols(conf.types, conf.meta.get("species_names")), positions=pos,
                      cell=np.diag(cell), pbc=[True, True, conf.dim == 3])
    atoms.set_masses(np.ones(conf.n))
    atoms.new_array("radius", 0.5 * conf.diameters)
    atoms.new_array("type_id", conf.types.copy())
    atoms.info.update(meta_to_info(conf.model, conf.meta))
    if conf.dim == 2:  # keep ASE's optimisers and dynamics in the plane (their updates leave z at roundoff)
        from ase.constraints import FixCartesian

        atoms.set_constraint(FixCartesian(range(conf.n), mask=(False, False, True)))
    if calculator:
        from .ase_calculator import TwolevelCalculator

        atoms.calc = TwolevelCalculator(model=model)
    return atoms


def from_ase(atoms, *, model: str | None = None) -> Configuration:
    """A Configuration from an ``ase.Atoms`` (orthorhombic periodic cell; 2D when ``pbc`` is T T F).

    Types come from the ``type_id`` array, else from the chemical symbols (numbered in sorted
    order, names kept in ``meta["species_names"]``); diameters from ``radius`` (x 2) or
    ``diameter``, else 1; model and meta from ``info`` (``model`` overrides ``info["model"]``).
    """
    cell = np.asarray(atoms.cell.array, dtype=float)
    if np.any(cell - np.diag(np.diag(cell))):
        raise InputError("twolevel needs an orthorhombic cell (a diagonal ase cell), got a tilted one")
    box = np.diag(cell).copy()
    if np.any(box <= 0):
        raise InputError(f"twolevel needs a periodic box: the ase cell has lengths {box.tolist()}")
    pbc = tuple(bool(p) for p in atoms.pbc)
    if pbc == (True, True, True):
        dim = 3
    elif pbc == (True, True, False):
        dim = 2
    else:
        raise InputError(f"twolevel needs periodic boundaries (pbc T T T, or T T F in 2D), got {pbc}")
    pos = np.asarray(atoms.positions, dtype=float)
    if dim == 2:
        if np.any(pos[:, 2] != pos[0, 2]):
            raise InputError("2D atoms (pbc T T F) must all have the same z")
        pos = pos[:, :2]
        box = box[:2]
    mdl, meta = info_to_meta({k: _plain(v) for k, v in atoms.info.items()})
    arrays = atoms.arrays
    if "type_id" in arrays:
        types = np.asarray(arrays["type_id"], dtype=np.int64)
    else:
        types, names = _species_types(np.asarray(atoms.get_chemical_symbols()))
        if names is not None:
            meta["species_names"] = names
    if "radius" in arrays:
        diam = 2.0 * np.asarray(arrays["radius"], dtype=float)
    elif "diameter" in arrays:
        diam = np.asarray(arrays["diameter"], dtype=float)
    else:
        diam = np.ones(len(atoms))
    return Configuration(pos, box, types, diam, model if model is not None else mdl, meta)
