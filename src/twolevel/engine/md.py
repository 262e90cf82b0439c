"""Compiled molecular dynamics: velocity-Verlet NVE, Berendsen NVT, Langevin (BAOAB) NVT.

Unit masses, reduced units. The whole run loop, including neighbour-list
maintenance, runs inside one compiled call (no Python per step).

- NVE: velocity Verlet (Swope et al. 1982).
- Berendsen (Berendsen et al. 1984; used for the exploration of
  002_b660eabf4d6c7be7.txt Sec. II D): v <- lambda v each step with
  lambda = sqrt(1 + dt/tau (T0/T - 1)). It fixes <T> but suppresses the
  kinetic-energy fluctuations (not canonical).
- Langevin BAOAB (Leimkuhler & Matthews 2013): canonical, with friction gamma;
  O step v <- c1 v + sqrt((1 - c1^2) T0) R, c1 = exp(-gamma dt).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import build_neighbors, energy_forces, needs_rebuild

NVE = 0
BERENDSEN = 1
LANGEVIN = 2


@njit(cache=True)
def _kinetic(vel):
    return 0.5 * np.sum(vel * vel)


@njit(cache=True, fastmath=True, error_model="numpy")
def md_loop(pos, vel, box, types, diam, mp, start, idx, ref, skin, dt, nsteps,
            thermostat, t0, tau, gamma, seed, dof, sample_every):
    """Run ``nsteps`` steps in place on pos, vel. Returns the (possibly rebuilt)
    neighbour list, the reference positions, samples of (U, K, W) every
    ``sample_every`` steps, the final forces and the number of list rebuilds."""
    n, d = pos.shape
    if thermostat == LANGEVIN:
        np.random.seed(seed)
    forces = np.empty_like(pos)
    if needs_rebuild(pos, ref, skin):
        start, idx = build_neighbors(pos, box, types, diam, mp, skin)
        ref[:] = pos
    u, w = energy_forces(pos, box, types, diam, mp, start, idx, forces)
    nsamp = nsteps // sample_every if sample_every > 0 else 0
    samples = np.empty((nsamp, 3))
    nbuild = 0
    c1 = np.exp(-gamma * dt)
    c2 = np.sqrt((1.0 - c1 * c1) * t0)
    hdt = 0.5 * dt
    for step in range(1, nsteps + 1):
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
            start, idx = build_neighbors(pos, box, types, diam, mp, skin)
            ref[:] = pos
            nbuild += 1
        u, w = energy_forces(pos, box, types, diam, mp, start, idx, forces)
        for i in range(n):
            for k in range(d):
                vel[i, k] += hdt * forces[i, k]
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
    return start, idx, samples, forces, nbuild
