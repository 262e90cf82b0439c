"""The two cheaper multidimensional corrections: 1D problems on better profiles.

1. **Vibrationally adiabatic potential** along the MEP (002_b660eabf4d6c7be7.txt App. C: the
   Hessian along the path; Richardson 2018, Sec. 4, for the adiabatic picture):

       V_ad(xi) = V(xi) + sum_k hbar omega_k(xi) / 2 - (same at the lower end)

   with omega_k^2 the eigenvalues of the mass-weighted Hessian projected orthogonal to the path
   tangent (and, in a periodic box, to the d uniform translations): the zero-point energy of the
   transverse modes, which the 1D MEP problem leaves out. V_ad is then solved by the 1D
   Schrödinger equation of :func:`twolevel.quantum.tunnelling` (002 Eq. (10)).
2. **1D along the instanton path**: the same 1D equation on the profile V(s) along the
   instanton's path (which cuts the corner of a curved MEP), s its arc length.

Both keep the 1D problem's approximations (no transverse kinetic coupling, harmonic
continuation beyond the ends); the end curvatures are estimated from the profile.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from ..errors import InputError


def _arc(images: np.ndarray) -> np.ndarray:
    X = images.reshape(images.shape[0], -1)
    seg = np.linalg.norm(np.diff(X, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def resample(images, n: int = 65) -> np.ndarray:
    """n configurations at equal arc length on the cubic spline through ``images`` (K, ...)."""
    images = np.asarray(images, dtype=float)
    if images.shape[0] < 3:
        raise InputError(f"a path needs at least 3 images, got {images.shape[0]}")
    s = _arc(images)
    keep = np.concatenate([[True], np.diff(s) > 1e-14 * max(s[-1], 1e-300)])
    sp = CubicSpline(s[keep], images.reshape(images.shape[0], -1)[keep], axis=0)
    return sp(np.linspace(0.0, s[-1], n)).reshape((n,) + images.shape[1:])


def profile(pot, images) -> dict:
    """xi (0..1), V (from the first image) and path length d (sigma) of a path of images."""
    from ..paths import band_energies_forces

    images = np.asarray(images, dtype=float)
    s = _arc(images)
    E, _ = band_energies_forces(pot, images)
    return {"xi": s / s[-1], "V": E - E[0], "d": float(s[-1])}


def zpe_nodes(k: int, points: int | None) -> np.ndarray:
    """Indices of the images where :func:`transverse_zpe` diagonalises: ``points`` evenly spread
    over the K images, both ends included (all K for None or points >= K)."""
    if points is None or points >= k:
        return np.arange(k)
    if points < 3:
        raise InputError(f"zpe_points must be >= 3 (got {points})")
    return np.unique(np.round(np.linspace(0, k - 1, int(points))).astype(int))


def transverse_zpe(pot, images, m_tilde: float, points: int | None = None) -> tuple[np.ndarray, int]:
    """sum_k omega_k / 2 (hbar = 1) of the modes orthogonal to the path tangent at every image,
    and the number of images where a transverse eigenvalue was negative (dropped).

    ``points``: diagonalise at that many images only (:func:`zpe_nodes`) and interpolate the
    zero-point energy in arc length by a cubic spline: the dense (N d)^3 diagonalisation is the
    whole cost (~15 s per image for N = 1500 in 3D), and the transverse zero-point energy varies
    smoothly along a converged band (docs/instanton.md, "Cost")."""
    from ..paths import _translation_dim
    from .rpi import _hessian, _translation_basis

    images = np.asarray(images, dtype=float)
    K = images.shape[0]
    X = images.reshape(K, -1)
    arc = _arc(images)
    sp = CubicSpline(arc, X, axis=0)
    tang = sp(arc, 1)
    f = X.shape[1]
    T = _translation_basis(f, _translation_dim(pot))
    nodes = zpe_nodes(K, points)
    zpe = np.empty(K)
    bad = 0
    for i in nodes:
        t = tang[i]
        if T is not None:
            t = t - T @ (T.T @ t)
        t = t / np.linalg.norm(t)
        B = np.column_stack([t] if T is None else [t, T])
        P = np.eye(f) - B @ B.T
        H = P @ _hessian(pot, images[i]) @ P / m_tilde
        w2 = np.linalg.eigvalsh(0.5 * (H + H.T))
        w2 = np.sort(w2)
        # drop the zero eigenvalues of the projected-out directions (the B.shape[1] smallest |w2|)
        o = np.argsort(np.abs(w2))
        w2 = np.delete(w2, o[: B.shape[1]])
        if np.any(w2 < 0):
            bad += 1
        zpe[i] = 0.5 * float(np.sqrt(np.clip(w2, 0.0, None)).sum())
    if nodes.size < K:
        zpe = CubicSpline(arc[nodes], zpe[nodes])(arc)
    return zpe, bad


def adiabatic_profile(pot, images, m_tilde: float, zpe_points: int | None = None) -> dict:
    """The MEP profile with the transverse zero-point energy added (module docstring, item 1);
    ``zpe_points``: see :func:`transverse_zpe`."""
    pr = profile(pot, images)
    zpe, bad = transverse_zpe(pot, images, m_tilde, zpe_points)
    pr["V_ad"] = pr["V"] + zpe - zpe[0]
    pr["zpe_perp"] = zpe
    pr["negative_modes"] = bad
    return pr


def tunnelling_1d(xi, V, d: float, m_tilde: float, **kw):
    """:func:`twolevel.quantum.tunnelling` on a profile (end curvatures estimated unless given)."""
    from .. import quantum

    return quantum.tunnelling(np.asarray(xi, float), np.asarray(V, float), float(d), m_tilde, **kw)
