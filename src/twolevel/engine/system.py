"""A particle system: configuration + model + neighbour list, with the Potential interface.

Everything downstream (minimisers, MD, NEB, exploration) talks to a
*potential*: an object with ``energy(x)``, ``energy_forces(x)`` and
``dof_shape``, where ``x`` is the flat or ``(N, d)`` array of coordinates.
:class:`ParticleSystem` is the one for particle models; tests and the
synthetic landscapes of 002 App. A provide others (see :class:`Potential`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.sparse as sp

from ..config import Configuration
from ..errors import InputError, PhysicsError
from ..models import PairModel, get_model
from . import kernels, neighbors
from .md import check_chain, md_run, thermostat_code

# Energy per particle above which we call the configuration overlapping.
OVERLAP_ENERGY = 1e8


class Potential(Protocol):
    """What the minimisers, MD wrappers and band methods need."""

    def energy(self, x: np.ndarray) -> float: ...

    def energy_forces(self, x: np.ndarray) -> tuple[float, np.ndarray]: ...

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Displacement y - x (minimum image for periodic systems), same shape as x."""
        ...


class ParticleSystem:
    """A periodic particle system of one model.

    Parameters
    ----------
    conf : Configuration (positions are copied; the system keeps its own state)
    model : PairModel or model name; defaults to ``conf.model``
    skin : Verlet-list skin; the list is rebuilt when a particle moved more than skin/2
    outer_skin : from its second list on, the system searches the cells with this larger skin
        and prunes its lists from that one (neighbors.refresh) until a particle moved more than
        (outer_skin - skin)/2 from where it was searched (default 4 skin; <= skin: a cell search
        each time). MD, minimisers and single evaluations share that outer list. The lists, and
        so the trajectories and minima, are the same either way (docs/engine.md, issue #19).
    """

    def __init__(self, conf: Configuration, model: PairModel | str | None = None, skin: float = 0.3,
                 outer_skin: float | None = None):
        if model is None:
            if conf.model is None:
                raise InputError("no model given and the configuration names none")
            model = conf.model
        self.model = get_model(model) if isinstance(model, str) else model
        self.model.check_configuration(conf)
        self.conf = conf
        self.box = conf.box.copy()
        # The kernels use one mixing rule for all models (kernels.pair_se): type models run
        # with unit diameters, the polydisperse model with a single type.
        if self.model.mode == 0:
            self.types = conf.types
            self.diam = np.ones(conf.n)
        else:
            self.types = np.zeros(conf.n, dtype=np.int64)
            self.diam = conf.diameters
        self.mp = self.model.kernel_params()
        self.skin = float(skin)
        self.outer_skin = 4.0 * self.skin if outer_skin is None else float(outer_skin)
        self.n, self.dim = conf.positions.shape
        rmax = self.model.max_cutoff(conf)
        if np.any(self.box < 2 * rmax):
            raise InputError(
                f"box {self.box.tolist()} is smaller than twice the largest cutoff {rmax:.3f} of model "
                f"{self.model.name}: the minimum-image convention would miss interactions "
                f"(too few particles for this density?)")
        self._ref = None
        self._start = None
        self._idx = None
        self._pp = None   # the list's pair parameters (kernels.pair_params)
        # the outer list of the two lists (neighbors.refresh): CSR arrays and where it was built
        self._outer_start = np.zeros(self.n + 1, np.int64)
        self._outer_idx = np.zeros(0, np.int64)
        self._outer_ref = np.empty((self.n, self.dim))
        self._have_outer = False
        self.force_evaluations = 0
        self.list_builds = 0
        self.outer_builds = 0   # cell searches with outer_skin (of list_builds; the rest were pruned)

    # -- neighbour list ----------------------------------------------------------------
    def _pos(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.size != self.n * self.dim:
            raise InputError(f"coordinate array of size {x.size} does not match N*d = {self.n * self.dim}")
        return np.ascontiguousarray(x.reshape(self.n, self.dim))

    def neighbors(self, pos: np.ndarray):
        if self._ref is None or neighbors.needs_rebuild(pos, self._ref, self.skin):
            if not np.all(np.isfinite(pos)):
                raise PhysicsError("positions are not finite (NaN or inf)")
            self._start, self._idx = self._refresh(pos, self.list_builds > 0)
            self._pp = kernels.pair_params(self.types, self.diam, self.mp, self._start, self._idx)
            self._ref = pos.copy()
            self.list_builds += 1
        return self._start, self._idx

    def _refresh(self, pos, new_outer: bool):
        """A list at pos by the two-list rule (neighbors.refresh), keeping the outer list."""
        start, idx, self._outer_start, self._outer_idx, self._have_outer, searched = neighbors.refresh(
            pos, self.box, self.types, self.diam, self.mp, self.skin, self.outer_skin, self._outer_start,
            self._outer_idx, self._outer_ref, self._have_outer, new_outer)
        self.outer_builds += searched
        return start, idx

    def outer_state(self) -> tuple:
        """The two lists' state as md_run and the compiled L-BFGS take it."""
        return self.outer_skin, self._outer_start, self._outer_idx, self._outer_ref, self._have_outer

    def reset_neighbors(self) -> None:
        """Forget the neighbour list: the next call makes a new one at its positions.

        The list only decides which pairs are visited, not the result, but the order of
        summation changes the last bits; resetting at fixed points makes runs bit-reproducible.
        The new list is the cell search's list at those positions whether it is searched or
        pruned from the outer list (kept: neighbors.refresh), so the outer list survives a reset.
        """
        self._ref = None
        self._start = None
        self._idx = None
        self._pp = None

    def _check_energy(self, e: float, pos) -> None:
        if not np.isfinite(e) or e > OVERLAP_ENERGY * self.n:
            start, idx = self.neighbors(pos)
            i, j, q = kernels.closest_pair(pos, self.box, self.types, self.diam, self.mp, start, idx)
            if np.isfinite(q) and q < 0.5:
                raise PhysicsError(f"particles {i} and {j} overlap (r / sigma_ij = {q:.3g}); energy {e:.3g}")
            raise PhysicsError(f"energy is not finite or overflows ({e:.3g})")

    # -- Potential interface -------------------------------------------------------------
    def energy(self, x) -> float:
        pos = self._pos(x)
        start, idx = self.neighbors(pos)
        e = kernels.energy_only(pos, self.box, self.types, self.diam, self.mp, start, idx)
        self._check_energy(e, pos)
        return float(e)

    def energy_forces(self, x) -> tuple[float, np.ndarray]:
        pos = self._pos(x)
        start, idx = self.neighbors(pos)
        f = np.empty_like(pos)
        e, _ = kernels.energy_forces(pos, self.box, self.types, self.diam, self.mp, start, idx, f, self._pp)
        self.force_evaluations += 1
        self._check_energy(e, pos)
        return float(e), f.reshape(np.shape(x))

    def energy_forces_virial(self, x) -> tuple[float, np.ndarray, float]:
        pos = self._pos(x)
        start, idx = self.neighbors(pos)
        f = np.empty_like(pos)
        e, w = kernels.energy_forces(pos, self.box, self.types, self.diam, self.mp, start, idx, f, self._pp)
        self.force_evaluations += 1
        self._check_energy(e, pos)
        return float(e), f, float(w)

    def distance(self, x, y) -> np.ndarray:
        dx = self._pos(y) - self._pos(x)
        dx -= self.box * np.round(dx / self.box)
        return dx.reshape(np.shape(x))

    # -- derived quantities -----------------------------------------------------------------
    def pressure(self, x, temperature: float = 0.0) -> float:
        """P = rho T + W / (d V) (virial route); temperature 0 for an inherent structure."""
        _, _, w = self.energy_forces_virial(x)
        vol = float(np.prod(self.box))
        return self.n * temperature / vol + w / (self.dim * vol)

    def hessian(self, x) -> sp.csr_matrix:
        """The (N d) x (N d) Hessian as a scipy CSR matrix (unit masses: the dynamical matrix)."""
        pos = self._pos(x)
        start, idx = self.neighbors(pos)
        r, c, v = kernels.hessian_coo(pos, self.box, self.types, self.diam, self.mp, start, idx)
        nd = self.n * self.dim
        return sp.csr_matrix((v, (r, c)), shape=(nd, nd))

    def hessian_dot(self, x, z) -> np.ndarray:
        pos = self._pos(x)
        start, idx = self.neighbors(pos)
        return kernels.hessian_dot(pos, self.box, self.types, self.diam, self.mp, start, idx,
                                   self._pos(z)).reshape(np.shape(z))

    def third_contract(self, x, z) -> np.ndarray:
        """sum_ij U3_kij z_i z_j (a vector); z . result = U3 . zzz."""
        pos = self._pos(x)
        start, idx = self.neighbors(pos)
        return kernels.third_contract(pos, self.box, self.types, self.diam, self.mp, start, idx,
                                      self._pos(z)).reshape(np.shape(z))

    def configuration(self, x, **meta) -> Configuration:
        c = Configuration(self._pos(x).copy(), self.box.copy(), self.conf.types.copy(),
                          self.conf.diameters.copy(), self.model.name, {**self.conf.meta, **meta})
        return c

    # -- molecular dynamics --------------------------------------------------------------------
    def run_md(self, pos, vel, nsteps: int, dt: float, thermostat: str = "nve", temperature: float = 0.0,
               tau: float = 0.1, gamma: float = 1.0, seed: int = 0, sample_every: int = 0,
               dof: float | None = None, nhc=None):
        """Advance (pos, vel) in place by ``nsteps`` steps; returns samples (U, K, W) and the forces.

        thermostat: "nve", "berendsen" (time constant tau), "langevin" (friction gamma) or
        "nose-hoover" (a chain of thermostats with period tau, e.g. 0.5 = 100 dt as LAMMPS' usual
        Tdamp; 002 Sec. II C). The Nosé-Hoover chain state (thermostat velocities, then positions)
        is ``nhc``, a float array of even length 2M owned by the caller and updated in place:
        pass the same array to consecutive calls to continue one trajectory. Without it each call
        starts a fresh chain of M = 3 (the system keeps no thermostat state, so two callers of one
        ParticleSystem never share a chain).
        dof: degrees of freedom for the instantaneous temperature, default d (N - 1)
        (momentum conserved) or d N for Langevin.
        """
        code = thermostat_code(thermostat, dt, temperature, tau)
        if dof is None:
            dof = self.dim * self.n if thermostat == "langevin" else self.dim * (self.n - 1)
        # the system keeps no thermostat state: without nhc each call starts a fresh chain
        nhc = check_chain(nhc) if thermostat == "nose-hoover" else np.zeros(0)
        pos_ = self._pos(pos)
        self.neighbors(pos_)
        start, idx, samples, forces, nb, nouter, self._outer_start, self._outer_idx, self._have_outer = md_run(
            pos_, vel, self.box, self.types, self.diam, self.mp, self._start, self._idx, self._ref,
            self.skin, float(dt), int(nsteps), code, float(temperature), float(tau),
            float(gamma), int(seed) % (2**32), float(dof), int(sample_every), nhc, self.outer_state())
        self._start, self._idx = start, idx
        if nb:
            self._pp = kernels.pair_params(self.types, self.diam, self.mp, start, idx)
        self.list_builds += nb
        self.outer_builds += nouter
        self.force_evaluations += nsteps + 1
        if not np.all(np.isfinite(pos_)):
            raise PhysicsError("MD blew up: positions are no longer finite (time step too large?)")
        if pos_ is not pos:
            np.copyto(pos, pos_.reshape(np.shape(pos)))
        return samples, forces


def maxwell_boltzmann(n: int, dim: int, temperature: float, rng: np.random.Generator,
                      zero_momentum: bool = True) -> np.ndarray:
    """Velocities from the Maxwell-Boltzmann distribution (unit masses), rescaled to exactly T
    with d (N - 1) degrees of freedom when the total momentum is removed."""
    v = rng.normal(0.0, np.sqrt(temperature), size=(n, dim))
    if zero_momentum:
        v -= v.mean(axis=0)
        dof = dim * (n - 1)
    else:
        dof = dim * n
    t = np.sum(v * v) / dof
    if t > 0:
        v *= np.sqrt(temperature / t)
    return v
