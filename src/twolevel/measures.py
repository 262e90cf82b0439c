"""Per-particle measures of a displacement or a mode: one owner for d, PR and their relatives.

Two quantities share the name "participation ratio" in the papers; here each has its own name:

- :func:`participation_ratio`: 002_b660eabf4d6c7be7.txt Eq. (16),
  PR = [sum_i (d^i)^2]^2 / sum_i (d^i)^4 with d^i the displacement of particle i between two
  inherent structures: the *number* of particles that take part (1 for a single-particle hop,
  N for a uniform displacement). The explore and paths stages report it as ``PR``.
- :func:`participation_fraction`: the same ratio divided by N, per eigenvector of the Hessian
  (1 extended, 1/N one particle), the usual measure of a vibrational mode's localisation
  (004_9b896d29dc320c3d.txt). The harmonic route reports it as ``pr_fraction``.

A potential that is not a particle system (a synthetic landscape, :mod:`twolevel.landscapes`)
counts each coordinate as one particle: :func:`particle_dim` is 1 there.
"""

from __future__ import annotations

import numpy as np

__all__ = ["particle_dim", "per_particle_sq", "participation_ratio", "participation_fraction"]


def particle_dim(pot) -> int:
    """Coordinates per particle: the potential's ``dim``, or 1 (each coordinate one particle)."""
    d = getattr(pot, "dim", None)
    return int(d) if d else 1


def per_particle_sq(dx: np.ndarray, dim: int) -> np.ndarray:
    """|dx_i|^2 for each particle i of a flat or (N, d) displacement (coordinates when dim does not divide)."""
    dx = np.asarray(dx, dtype=np.float64)
    if dx.size % dim:
        dim = 1
    dd = dx.reshape(-1, dim)
    return np.einsum("ij,ij->i", dd, dd)


def participation_ratio(d2: np.ndarray) -> float:
    """002 Eq. (16) from the squared per-particle displacements ``d2``; 0 for no displacement."""
    d2 = np.asarray(d2, dtype=np.float64)
    s2 = float(d2.sum())
    s4 = float((d2 * d2).sum())
    return s2 * s2 / s4 if s4 > 0 else 0.0


def participation_fraction(vectors: np.ndarray, dim: int) -> np.ndarray:
    """PR / N per column of ``vectors`` (N d, k): (sum_i |e_i|^2)^2 / (N sum_i |e_i|^4)."""
    v = np.asarray(vectors, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    nd, k = v.shape
    n = nd // dim
    a = (v.reshape(n, dim, k) ** 2).sum(axis=1)
    return (a.sum(axis=0) ** 2) / (n * (a * a).sum(axis=0))
