"""Energies and forces of all images of a band in one compiled call.

A band (twolevel.paths) is a stack of ``M`` configurations of the same particle
system. Each image keeps its own Verlet list (the images differ by up to the
whole displacement between the two minima, so one shared list would be rebuilt
several times per sweep); a list is rebuilt only when *its* image moved more
than skin/2 since it was built. The lists are concatenated once per rebuild
and :func:`band_energy_forces` runs the engine's pair kernel
(:func:`twolevel.engine.kernels.energy_forces`) over every image without
returning to Python.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import InputError
from . import kernels, neighbors


@njit(cache=True)
def band_energy_forces(pos, box, types, diam, mp, starts, idx, offs, pp, forces, energies):
    """Energies (K,) and forces (K, N, d) of K images; image k uses list (starts[k], idx[offs[k]:offs[k+1]])
    and its pair parameters pp[:, offs[k]:offs[k+1]] (kernels.pair_params)."""
    for k in range(pos.shape[0]):
        e, _ = kernels.energy_forces(pos[k], box, types, diam, mp, starts[k],
                                     idx[offs[k]:offs[k + 1]], forces[k], pp[:, offs[k]:offs[k + 1]])
        energies[k] = e


@njit(cache=True)
def band_energy_forces_subset(pos, which, box, types, diam, mp, starts, idx, offs, pp, forces, energies):
    """As :func:`band_energy_forces` for the images ``which`` only (the others are left untouched)."""
    for j in range(which.shape[0]):
        k = which[j]
        e, _ = kernels.energy_forces(pos[k], box, types, diam, mp, starts[k],
                                     idx[offs[k]:offs[k + 1]], forces[k], pp[:, offs[k]:offs[k + 1]])
        energies[k] = e


class BandEvaluator:
    """Per-image neighbour lists for a :class:`~twolevel.engine.ParticleSystem`.

    ``evaluate(images)`` with ``images`` of shape (K, N, d) (K fixed at
    construction) returns (energies (K,), forces (K, N, d)) and adds K to
    ``system.force_evaluations``. ``evaluate(images, which)`` computes only the
    images listed in ``which`` (their lists are the only ones checked) and
    returns (energies (len(which),), forces (len(which), N, d)); it adds
    len(which) to the counter.
    """

    def __init__(self, system, k: int):
        self.system = system
        self.k = int(k)
        n, d = system.n, system.dim
        self.refs = np.zeros((self.k, n, d))
        self.lists: list = [None] * self.k
        self.starts = np.zeros((self.k, n + 1), dtype=np.int64)
        self.idx = np.zeros(0, dtype=np.int64)
        self.pp = np.zeros((2, 0))
        self.offs = np.zeros(self.k + 1, dtype=np.int64)
        self.builds = 0

    def _update_lists(self, pos, which=None) -> None:
        s = self.system
        changed = False
        for k in (range(self.k) if which is None else which):
            if self.lists[k] is None or neighbors.needs_rebuild(pos[k], self.refs[k], s.skin):
                if not np.all(np.isfinite(pos[k])):
                    from ..errors import PhysicsError
                    raise PhysicsError(f"band image {k}: positions are not finite (NaN or inf)")
                start, idx = neighbors.build_neighbors(pos[k], s.box, s.types, s.diam, s.mp, s.skin)
                self.lists[k] = (start, idx, kernels.pair_params(s.types, s.diam, s.mp, start, idx))
                self.refs[k] = pos[k]
                self.starts[k] = start
                changed = True
                self.builds += 1
        if changed:
            self.offs[1:] = np.cumsum([len(lst[1]) for lst in self.lists])
            self.idx = np.concatenate([lst[1] for lst in self.lists])
            self.pp = np.ascontiguousarray(np.concatenate([lst[2] for lst in self.lists], axis=1))

    def evaluate(self, images, which=None):
        s = self.system
        images = np.asarray(images, dtype=np.float64)
        if images.size != self.k * s.n * s.dim:
            raise InputError(f"band evaluator built for {self.k} images of {s.n} particles, got {images.shape}")
        pos = np.ascontiguousarray(images.reshape(self.k, s.n, s.dim))
        if which is None:
            self._update_lists(pos)
            forces = np.empty_like(pos)
            energies = np.empty(self.k)
            band_energy_forces(pos, s.box, s.types, s.diam, s.mp, self.starts, self.idx, self.offs, self.pp,
                               forces, energies)
        else:
            which = np.asarray(which, dtype=np.int64).reshape(-1)
            if which.size and (which.min() < 0 or which.max() >= self.k):
                raise InputError(f"band evaluator: image indices must lie in [0, {self.k}), got {which.tolist()}")
            self._update_lists(pos, which)
            forces = np.zeros_like(pos)
            energies = np.zeros(self.k)
            band_energy_forces_subset(pos, which, s.box, s.types, s.diam, s.mp, self.starts, self.idx,
                                      self.offs, self.pp, forces, energies)
            forces, energies, pos = forces[which], energies[which], pos[which]
        s.force_evaluations += energies.shape[0]
        bad = ~np.isfinite(energies) | (energies > 1e8 * s.n)
        if np.any(bad):
            k = int(np.argmax(bad))
            s._check_energy(float(energies[k]), pos[k])  # raises a PhysicsError naming the overlap
        return energies, forces
