"""Compiled molecular dynamics: velocity-Verlet NVE, Berendsen, Langevin (BAOAB) and Nosé-Hoover chain NVT.

Unit masses, reduced units. The whole run loop, including neighbour-list
maintenance, runs inside one compiled call (no Python per step). The same
integrators for any potential (an object with ``energy_forces(x)``, such as the
synthetic landscapes of :mod:`twolevel.landscapes`) are :func:`run_md_generic`:
the same splittings, formulas and random stream, one Python step at a time.

- NVE: velocity Verlet (Swope et al. 1982).
- Berendsen (Berendsen et al. 1984; used for the exploration of
  002_b660eabf4d6c7be7.txt Sec. II D): v <- lambda v each step with
  lambda = sqrt(1 + dt/tau (T0/T - 1)). It fixes <T> but suppresses the
  kinetic-energy fluctuations (not canonical).
- Langevin BAOAB (Leimkuhler & Matthews 2013): canonical, with friction gamma;
  O step v <- c1 v + sqrt((1 - c1^2) T0) R, c1 = exp(-gamma dt).
- Nosé-Hoover chain (Martyna, Klein, Tuckerman, J. Chem. Phys. 97, 2635 (1992); the
  time-reversible splitting of Martyna, Tuckerman, Tobias, Klein, Mol. Phys. 87, 1117 (1996),
  one Trotter step per half step as in Frenkel & Smit, Algorithm 31): the thermostat of the
  MD of 002_b660eabf4d6c7be7.txt Sec. II C ("dt = 5e-3 together with a Nosé-Hoover thermostat").
  Deterministic and canonical; masses Q_1 = g T0 tau^2, Q_j = T0 tau^2 (tau: the thermostat
  period; LAMMPS' usual Tdamp = 100 dt = 0.5 for dt = 0.005). The chain state (thermostat
  velocities and positions) lives in an array the caller keeps between calls, so a trajectory
  cut into blocks (the hybrid swap MC/MD) is the same trajectory. Conserved:
  H' = U + K + sum_j Q_j v_j^2 / 2 + g T0 xi_1 + T0 sum_{j>1} xi_j.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import InputError, PhysicsError
from .kernels import energy_forces, pair_params
from .neighbors import build_neighbors, needs_rebuild, refresh

NVE = 0
BERENDSEN = 1
LANGEVIN = 2
NOSE_HOOVER = 3
THERMOSTATS = {"nve": NVE, "berendsen": BERENDSEN, "langevin": LANGEVIN, "nose-hoover": NOSE_HOOVER}


def thermostat_code(thermostat: str, dt: float, temperature: float, tau: float) -> int:
    """The code of ``thermostat`` for the integrators, after checking the run's settings (one
    InputError line for an unknown thermostat, a bad time step, temperature or time constant)."""
    if thermostat not in THERMOSTATS:
        raise InputError(f"unknown thermostat {thermostat!r}; use one of {', '.join(THERMOSTATS)}")
    if dt <= 0 or not np.isfinite(dt):
        raise InputError(f"time step must be positive, got {dt}")
    if thermostat != "nve" and temperature <= 0:
        raise InputError(f"thermostat {thermostat} needs a positive temperature, got {temperature}")
    if thermostat in ("berendsen", "nose-hoover") and not tau > 0:
        raise InputError(f"thermostat {thermostat} needs a positive time constant tau, got {tau}")
    return THERMOSTATS[thermostat]


def check_chain(nhc) -> np.ndarray:
    """A Nosé-Hoover chain state: a fresh chain of M = 3 for None, else the caller's array."""
    if nhc is None:  # a fresh chain for this call: nothing keeps thermostat state between callers
        return np.zeros(6)
    if not (isinstance(nhc, np.ndarray) and nhc.dtype == np.float64 and nhc.ndim == 1
            and nhc.size >= 2 and nhc.size % 2 == 0):
        raise InputError("nhc must be a float64 array of even length 2M >= 2 "
                         "(M thermostat velocities, then M positions)")
    return nhc


@njit(cache=True)
def _kinetic(vel):
    return 0.5 * np.sum(vel * vel)


@njit(cache=True, fastmath=True, error_model="numpy")
def _nhc_masses(m, t0, tau, dof):
    q = np.empty(m)
    q[:] = t0 * tau * tau
    q[0] *= dof
    return q


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _nhc_kick(nhc, j, m, kin, t0, q, dof, qdt, edt):
    """Thermostat j's velocity over dt/4 under its force G_j, between two dt/8 scalings by the
    next thermostat (Frenkel & Smit Alg. 31): G_1 = (2K - g T0)/Q_1, G_j = (Q_{j-1} v_{j-1}^2 - T0)/Q_j."""
    if j < m - 1:
        nhc[j] *= np.exp(-nhc[j + 1] * edt)
    g = (2.0 * kin - dof * t0) / q[0] if j == 0 else (q[j - 1] * nhc[j - 1] ** 2 - t0) / q[j]
    nhc[j] += g * qdt
    if j < m - 1:
        nhc[j] *= np.exp(-nhc[j + 1] * edt)


@njit(cache=True, fastmath=True, error_model="numpy")
def _nhc_half(vel, nhc, kin, t0, q, dof, hdt):
    """Nosé-Hoover chain over half a time step hdt (Frenkel & Smit Alg. 31 generalised to M
    thermostats): nhc[:M] thermostat velocities, nhc[M:] positions; rescales vel in place and
    returns the new kinetic energy."""
    m = nhc.size // 2
    qdt = 0.5 * hdt     # dt / 4
    edt = 0.25 * hdt    # dt / 8
    for j in range(m - 1, -1, -1):
        _nhc_kick(nhc, j, m, kin, t0, q, dof, qdt, edt)
    sc = np.exp(-nhc[0] * hdt)
    n, d = vel.shape
    for i in range(n):
        for k in range(d):
            vel[i, k] *= sc
    kin *= sc * sc
    for j in range(m):
        nhc[m + j] += nhc[j] * hdt
    for j in range(m):
        _nhc_kick(nhc, j, m, kin, t0, q, dof, qdt, edt)
    return kin


def nhc_energy(nhc, temperature: float, tau: float, dof: float) -> float:
    """The chain's part of the conserved quantity: sum_j Q_j v_j^2 / 2 + g T0 xi_1 + T0 sum_{j>1} xi_j."""
    nhc = np.asarray(nhc, dtype=float)
    m = nhc.size // 2
    if m == 0:
        return 0.0
    q = _nhc_masses(m, float(temperature), float(tau), float(dof))
    v, xi = nhc[:m], nhc[m:]
    return float(0.5 * np.sum(q * v * v) + dof * temperature * xi[0] + temperature * np.sum(xi[1:]))


@njit(cache=True, fastmath=True, error_model="numpy")
def md_run(pos, vel, box, types, diam, mp, start, idx, ref, skin, dt, nsteps,
           thermostat, t0, tau, gamma, seed, dof, sample_every, nhc, outer=None):
    """Run ``nsteps`` steps in place on pos, vel (and, for Nosé-Hoover, the chain state nhc).
    Returns the (possibly rebuilt) neighbour list, samples of (U, K, W) every ``sample_every``
    steps, the final forces, the number of list rebuilds and, of those, how many searched the
    cells with the outer skin (the rest were pruned; :func:`~twolevel.engine.neighbors.refresh`).

    ``outer``: the two lists' state, a tuple (outer_skin, start_o, idx_o, ref_o, have_outer) as
    ParticleSystem keeps it, ``ref_o`` updated in place; the updated (start_o, idx_o, have_outer)
    are returned last. None: one list (a cell search at every rebuild). A new outer list is
    searched from the second rebuild of a call on (a short run with one rebuild would pay the
    larger search for nothing) or when one exists already."""
    n, d = pos.shape
    if thermostat == LANGEVIN:
        np.random.seed(seed)
    forces = np.empty_like(pos)
    if needs_rebuild(pos, ref, skin):
        start, idx = build_neighbors(pos, box, types, diam, mp, skin)
        ref[:] = pos
    pp = pair_params(types, diam, mp, start, idx)   # the list's pair parameters, remade with it
    u, w = energy_forces(pos, box, types, diam, mp, start, idx, forces, pp)
    nsamp = nsteps // sample_every if sample_every > 0 else 0
    samples = np.empty((nsamp, 3))
    nbuild = 0
    c1 = np.exp(-gamma * dt)
    c2 = np.sqrt((1.0 - c1 * c1) * t0)
    hdt = 0.5 * dt
    nose = thermostat == NOSE_HOOVER and nhc.size >= 2
    if outer is None:
        outer_skin, start_o, idx_o, ref_o, have_outer = 0.0, start, idx, np.empty_like(pos), False
    else:
        outer_skin, start_o, idx_o, ref_o, have_outer = outer
    nouter = 0
    q = _nhc_masses(max(nhc.size // 2, 1), t0, tau, dof)
    for step in range(1, nsteps + 1):
        if nose:
            _nhc_half(vel, nhc, _kinetic(vel), t0, q, dof, hdt)
        if thermostat == LANGEVIN:
            for i in range(n):
                for k in range(d):
                    vel[i, k] += hdt * forces[i, k]
                    pos[i, k] += hdt * vel[i, k]
                    vel[i, k] = c1 * vel[i, k] + c2 * np.random.standard_normal()
                    pos[i, k] += hdt * vel[i, k]
        else:
            for i in range(n):
                for k in range(d):
                    vel[i, k] += hdt * forces[i, k]
                    pos[i, k] += dt * vel[i, k]
        if needs_rebuild(pos, ref, skin):
            start, idx, start_o, idx_o, have_outer, searched = refresh(
                pos, box, types, diam, mp, skin, outer_skin, start_o, idx_o, ref_o, have_outer,
                have_outer or nbuild > 0)
            nouter += searched
            ref[:] = pos
            nbuild += 1
            pp = pair_params(types, diam, mp, start, idx)
        u, w = energy_forces(pos, box, types, diam, mp, start, idx, forces, pp)
        for i in range(n):
            for k in range(d):
                vel[i, k] += hdt * forces[i, k]
        if nose:
            _nhc_half(vel, nhc, _kinetic(vel), t0, q, dof, hdt)
        if thermostat == BERENDSEN:
            kin = _kinetic(vel)
            tnow = 2.0 * kin / dof
            if tnow > 0.0:
                lam2 = 1.0 + dt / tau * (t0 / tnow - 1.0)
                if lam2 < 0.0:
                    lam2 = 0.0
                lam = np.sqrt(lam2)
                for i in range(n):
                    for k in range(d):
                        vel[i, k] *= lam
        if sample_every > 0 and step % sample_every == 0:
            s = step // sample_every - 1
            samples[s, 0] = u
            samples[s, 1] = _kinetic(vel)
            samples[s, 2] = w
        if not np.isfinite(u):
            break
    return start, idx, samples, forces, nbuild, nouter, start_o, idx_o, have_outer




def run_md_generic(pot, pos: np.ndarray, vel: np.ndarray, nsteps: int, dt: float, thermostat: str = "nve",
                   temperature: float = 0.0, tau: float = 0.1, gamma: float = 1.0, seed: int = 0,
                   dof: float | None = None, nhc=None) -> np.ndarray:
    """The integrators of :func:`md_run` for any potential: ``pot.energy_forces(x) -> (energy,
    forces)`` on coordinates of any shape (unit masses). Advances ``pos`` and ``vel`` (float64
    arrays of one shape) in place by ``nsteps`` steps and returns the final forces.

    Same steps and formulas as the compiled loop (module docstring for the references):
    velocity Verlet (Swope et al. 1982); Berendsen (Berendsen et al. 1984; 002 Sec. II D)
    v <- lambda v after each step, lambda = sqrt(max(0, 1 + dt/tau (T0/T - 1))), T = 2K/dof;
    Langevin BAOAB (Leimkuhler & Matthews 2013) with c1 = exp(-gamma dt), c2 = sqrt((1 - c1^2) T0),
    its Gaussian numbers from MT19937 seeded with ``seed`` and drawn per coordinate in C order,
    the stream numba gives :func:`md_run`; Nosé-Hoover chain half steps around the Verlet step
    (``nhc``: the chain state, as for :meth:`ParticleSystem.run_md`). ``dof`` (for T): default
    the number of coordinates (no conserved momentum assumed).
    """
    code = thermostat_code(thermostat, dt, temperature, tau)
    if pos.shape != vel.shape:
        raise InputError(f"positions {pos.shape} and velocities {vel.shape} differ in shape")
    dof = float(pos.size if dof is None else dof)
    t0, hdt = float(temperature), 0.5 * dt
    _, f = pot.energy_forces(pos)
    f = np.reshape(f, pos.shape)
    rng = np.random.RandomState(int(seed) % 2**32) if code == LANGEVIN else None
    c1 = np.exp(-gamma * dt)
    c2 = np.sqrt((1.0 - c1 * c1) * t0)
    nose = code == NOSE_HOOVER
    chain = check_chain(nhc) if nose else None
    q = _nhc_masses(chain.size // 2, t0, float(tau), dof) if nose else None
    v2 = vel.reshape(vel.shape[0] if vel.ndim > 1 else 1, -1)  # a view, for the chain's rescaling
    for _ in range(int(nsteps)):
        if nose:
            _nhc_half(v2, chain, 0.5 * float(np.vdot(vel, vel)), t0, q, dof, hdt)
        vel += hdt * f
        if code == LANGEVIN:  # B A O A B
            pos += hdt * vel
            vel[...] = c1 * vel + c2 * rng.standard_normal(vel.shape)
            pos += hdt * vel
        else:
            pos += dt * vel
        u, f = pot.energy_forces(pos)
        f = np.reshape(f, pos.shape)
        vel += hdt * f
        if nose:
            _nhc_half(v2, chain, 0.5 * float(np.vdot(vel, vel)), t0, q, dof, hdt)
        if code == BERENDSEN:
            tnow = float(np.vdot(vel, vel)) / dof
            if tnow > 0.0:
                vel *= np.sqrt(max(0.0, 1.0 + dt / tau * (t0 / tnow - 1.0)))
        if not np.isfinite(u):
            break
    if not np.all(np.isfinite(pos)):
        raise PhysicsError("MD blew up: positions are no longer finite (time step too large?)")
    return f
