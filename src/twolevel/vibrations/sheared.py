"""A particle system in a sheared periodic box (Lees-Edwards boundary conditions).

The box has side lengths ``L`` (d,) and a tilt ``xy``: the periodic image of a
particle across the y boundary is shifted by ``xy`` along x (LAMMPS' tilted
cell). The simple-shear strain is ``gamma = xy / L_y``. This is what the
athermal quasistatic (AQS) shear of 002_b660eabf4d6c7be7.txt Sec. IV C,
Eq. (17) needs: the box is tilted step by step and the particles relaxed.

The compiled kernels reuse the engine's pair terms
(:func:`twolevel.engine.kernels.pair_se`, :func:`~twolevel.engine.kernels.pair_terms`),
so the potential is the very same as in :class:`twolevel.engine.ParticleSystem`;
only the minimum-image convention differs. Besides energies and forces they
return the shear stress and the affine ("Born") second derivative with
respect to the strain and the mixed derivative Xi = d^2 U / dr dgamma used
in the non-affine correction of the shear modulus.

Neighbour lists are the engine's (:func:`twolevel.engine.neighbors.build_neighbors_tilted`:
cells in fractional coordinates of the tilted cell); they are rebuilt when a particle moved, or
the tilt changed, by more than half the skin.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import Configuration
from ..engine import ParticleSystem
from ..engine.kernels import padded_box, pair_se, pair_terms
from ..engine.neighbors import build_neighbors_tilted, image, needs_rebuild
from ..errors import InputError, PhysicsError
from ..models import PairModel


@njit(cache=True, inline="always")
def _le_sep(pos, i, j, box3, binv3, tilt, dx):
    """Minimum-image separation r_i - r_j in the tilted box (written into dx) and its square."""
    d = pos.shape[1]
    a0, a1, a2 = image(pos[i, 0] - pos[j, 0], pos[i, 1] - pos[j, 1],
                       (pos[i, 2] - pos[j, 2]) if d == 3 else 0.0, box3, binv3, tilt)
    dx[0] = a0
    dx[1] = a1
    if d == 3:
        dx[2] = a2
    return a0 * a0 + a1 * a1 + a2 * a2


@njit(cache=True)
def le_energy_forces(pos, L, tilt, types, diam, mp, start, idx, forces):
    """Energy, forces (in place), sum_pairs (v'/r) x y and the virial W = -sum_pairs v' r.

    The shear stress is sigma_xy = (1/V) dU/dgamma = (1/V) sum_pairs (v'/r) x_ij y_ij
    (002_b660eabf4d6c7be7.txt Eq. (17) uses G = sigma_xy / gamma_xy).
    """
    n, d = pos.shape
    xc2 = mp.xc * mp.xc
    box3, binv3 = padded_box(L)
    forces[:] = 0.0
    energy = 0.0
    sxy = 0.0
    virial = 0.0
    dx = np.empty(d)
    for i in range(n):
        for kk in range(start[i], start[i + 1]):
            j = idx[kk]
            r2 = _le_sep(pos, i, j, box3, binv3, tilt, dx)
            s, e = pair_se(i, j, types, diam, mp)
            if r2 < xc2 * s * s:
                v, v1r, v2, v3 = pair_terms(r2, s, e, mp)
                energy += v
                sxy += v1r * dx[0] * dx[1]
                virial -= v1r * r2
                for k in range(d):
                    f = -v1r * dx[k]
                    forces[i, k] += f
                    forces[j, k] -= f
    return energy, sxy, virial


@njit(cache=True)
def le_born_xi(pos, L, tilt, types, diam, mp, start, idx, xi):
    """Affine second derivative d^2U/dgamma^2 and Xi = d^2U/dr dgamma (written into xi).

    Under simple shear x_ij -> x_ij + gamma y_ij, so dr_ij/dgamma = x y / r and
      d^2U/dgamma^2 = sum_pairs (v'' - v'/r) x^2 y^2 / r^2 + (v'/r) y^2,
      Xi_i = sum_j (v'' - v'/r) (x y / r^2) r_ij + (v'/r) y_ij e_x.
    These enter G = (d^2U/dgamma^2 - Xi^T H^+ Xi) / V (Born term minus the non-affine
    correction; the identity checked against the AQS G of 002 Eq. (17)).
    """
    n, d = pos.shape
    xc2 = mp.xc * mp.xc
    box3, binv3 = padded_box(L)
    xi[:] = 0.0
    born = 0.0
    dx = np.empty(d)
    for i in range(n):
        for kk in range(start[i], start[i + 1]):
            j = idx[kk]
            r2 = _le_sep(pos, i, j, box3, binv3, tilt, dx)
            s, e = pair_se(i, j, types, diam, mp)
            if r2 < xc2 * s * s:
                v, v1r, v2, v3 = pair_terms(r2, s, e, mp)
                xy = dx[0] * dx[1]
                a = (v2 - v1r) / r2
                born += a * xy * xy + v1r * dx[1] * dx[1]
                for k in range(d):
                    g = a * xy * dx[k]
                    if k == 0:
                        g += v1r * dx[1]
                    xi[i, k] += g
                    xi[j, k] -= g
    return born


class ShearedSystem:
    """The potential of a configuration in a box with tilt ``xy`` (Lees-Edwards).

    Implements the Potential interface (``energy``, ``energy_forces``, ``distance``,
    ``dim``) so that :func:`twolevel.engine.minimize` relaxes it, plus
    :meth:`stress_xy`, :meth:`pressure` and :meth:`born_xi`.
    """

    def __init__(self, conf: Configuration, model: PairModel | str | None = None, tilt: float = 0.0,
                 skin: float = 0.3):
        # ParticleSystem validates the model, the configuration and the box size for us.
        ps = ParticleSystem(conf, model, skin=skin)
        if conf.dim not in (2, 3):
            raise InputError(f"sheared box needs d = 2 or 3, got {conf.dim}")
        self.model = ps.model
        self.types, self.diam, self.mp = ps.types, ps.diam, ps.mp
        self.conf = conf
        self.n, self.dim = ps.n, ps.dim
        self.box = conf.box.copy()
        self.skin = float(skin)
        self._tilt = float(tilt)
        self._ref = None
        self._ref_tilt = 0.0
        self.force_evaluations = 0

    @property
    def tilt(self) -> float:
        return self._tilt

    @tilt.setter
    def tilt(self, value: float) -> None:
        if abs(value) > 0.5 * self.box[0]:
            raise InputError(f"tilt {value:.4g} exceeds half the box length {0.5 * self.box[0]:.4g}")
        self._tilt = float(value)

    @property
    def strain(self) -> float:
        return self._tilt / self.box[1]

    @property
    def volume(self) -> float:
        return float(np.prod(self.box))

    def _pos(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.size != self.n * self.dim:
            raise InputError(f"coordinate array of size {x.size} does not match N*d = {self.n * self.dim}")
        return np.ascontiguousarray(x.reshape(self.n, self.dim))

    def neighbors(self, pos):
        lim = 0.5 * self.skin - abs(self._tilt - self._ref_tilt)
        if self._ref is None or lim <= 0 or needs_rebuild(pos, self._ref, lim):
            if not np.all(np.isfinite(pos)):
                raise PhysicsError("positions are not finite (NaN or inf)")
            self._start, self._idx = build_neighbors_tilted(pos, self.box, self._tilt, self.types,
                                                            self.diam, self.mp, self.skin)
            self._ref = pos.copy()
            self._ref_tilt = self._tilt
        return self._start, self._idx

    def _efs(self, x):
        pos = self._pos(x)
        start, idx = self.neighbors(pos)
        f = np.empty_like(pos)
        e, sxy, w = le_energy_forces(pos, self.box, self._tilt, self.types, self.diam, self.mp,
                                     start, idx, f)
        self.force_evaluations += 1
        if not np.isfinite(e):
            raise PhysicsError(f"energy is not finite ({e}) in the sheared box (overlap?)")
        return float(e), f, float(sxy), float(w)

    def energy(self, x) -> float:
        return self._efs(x)[0]

    def energy_forces(self, x):
        e, f, _, _ = self._efs(x)
        return e, f.reshape(np.shape(x))

    def stress_xy(self, x) -> float:
        """sigma_xy = (1/V) dU/dgamma (002 Eq. (17))."""
        return self._efs(x)[2] / self.volume

    def pressure(self, x) -> float:
        """P = W / (d V) at T = 0."""
        return self._efs(x)[3] / (self.dim * self.volume)

    def born_xi(self, x) -> tuple[float, np.ndarray]:
        """(d^2U/dgamma^2 at fixed scaled coordinates, Xi (N, d))."""
        pos = self._pos(x)
        start, idx = self.neighbors(pos)
        xi = np.empty_like(pos)
        b = le_born_xi(pos, self.box, self._tilt, self.types, self.diam, self.mp, start, idx, xi)
        return float(b), xi

    def distance(self, x, y) -> np.ndarray:
        dx = self._pos(y) - self._pos(x)
        ny = np.rint(dx[:, 1] / self.box[1])
        dx[:, 0] -= self._tilt * ny
        dx[:, 1] -= self.box[1] * ny
        dx -= self.box * np.rint(dx / self.box)
        return dx.reshape(np.shape(x))

    def shear_affinely(self, x, dgamma: float) -> np.ndarray:
        """Tilt the box by dgamma L_y and move the particles affinely: x_i += dgamma y_i."""
        pos = self._pos(x).copy()
        pos[:, 0] += dgamma * pos[:, 1]
        self.tilt = self._tilt + dgamma * self.box[1]
        return pos.reshape(np.shape(x))
