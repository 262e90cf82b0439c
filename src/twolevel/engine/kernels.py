"""Compiled kernels: the pair potential, energy/forces/virial, Hessian, third derivatives.

All models share the polynomial form of :mod:`twolevel.models.base`,
``v(r) = e_ij f(r / s_ij)`` with ``f(u) = a12 u^-12 - a6 u^-6 + c0 + c2 u^2 + c4 u^4``
for ``u < x_c``. The model parameters arrive as the named record ``mp`` of
:meth:`PairModel.kernel_params` (:class:`twolevel.models.base.KernelParams`: ``mp.mode``,
``mp.sigma``, ``mp.eps``, ``mp.nonadditivity``, ``mp.xc``, ``mp.a12`` ... ``mp.c4``).

The kernels take half neighbour lists (j > i) in CSR form ``(start, idx)`` from
:mod:`twolevel.engine.neighbors` (a pair is listed when r < x_c s_ij + skin). Positions
are kept unwrapped; distances use the minimum-image convention of the orthorhombic box.
"""

from __future__ import annotations

import numpy as np
from numba import njit


# ---- the pair potential, written once (issue #16) ---------------------------------------
# Every compiled route (forces, energies, Hessian, swap Monte Carlo, the sheared box) takes the
# mixing rule and f(u) from these three inline functions; models/base.py keeps a numpy
# transcription for tables and plots, held to them by tests/test_engine.py (1e-12 per particle).
@njit(cache=True, inline="always")
def mix_sigma(sig_ab, di, dj, na):
    """s_ij = sigma[t_i, t_j] (d_i + d_j)/2 (1 - na |d_i - d_j|): the one mixing rule. Type models
    run with all diameters 1 and na = 0 (s_ij = the sigma table, 002 Eq. (5)); PSS with sigma = 1 and
    the non-additive rule of ../shared/papers/README.md (Ninarello et al. 2017, na = 0.2)."""
    return sig_ab * 0.5 * (di + dj) * (1.0 - na * abs(di - dj))


@njit(cache=True, inline="always")
def f_u(u2, inv6, a12, a6, c0, c2, c4):
    """f(u) = a12 u^-12 - a6 u^-6 + c0 + c2 u^2 + c4 u^4 from u^2 and u^-6, inside the cutoff
    (PSS: 001_1b8b0be289dbb4b8.txt Eq. (1); TLJ: 002_b660eabf4d6c7be7.txt Eqs. (4)-(5))."""
    return a12 * inv6 * inv6 - a6 * inv6 + c0 + (c2 + c4 * u2) * u2


@njit(cache=True, inline="always")
def f1_over_u(u2, inv2, inv6, a12, a6, c2, c4):
    """f'(u)/u of :func:`f_u` (the pair force is -e f'(u)/u (r_i - r_j) / s^2)."""
    return (-12.0 * a12 * inv6 * inv6 + 6.0 * a6 * inv6) * inv2 + 2.0 * c2 + 4.0 * c4 * u2


@njit(cache=True, inline="always")
def pair_se(i, j, types, diam, mp):
    """s_ij and e_ij of the pair (i, j).

    One branch-free rule for all models: s_ij = sigma[t_i, t_j] * (d_i + d_j)/2 *
    (1 - nonadditivity |d_i - d_j|). Type models run with all diameters 1 and
    nonadditivity 0 (s_ij = sigma table); PSS runs with one type, sigma = 1 and
    the non-additive mixing rule of ../shared/papers/README.md.
    """
    di = diam[i]
    dj = diam[j]
    ti = types[i]
    tj = types[j]
    return mix_sigma(mp.sigma[ti, tj], di, dj, mp.nonadditivity), mp.eps[ti, tj]


@njit(cache=True, inline="always")
def min_image(x, b, binv):
    return x - b * np.rint(x * binv)


@njit(cache=True, inline="always")
def padded_box(box):
    """The box padded to three sides (d = 2: a third side of 1e300 that never wraps, so 3D code
    serves 2D) and its inverse: (box3, binv3)."""
    box3 = np.full(3, 1e300)
    for k in range(box.shape[0]):
        box3[k] = box[k]
    return box3, 1.0 / box3


@njit(cache=True, inline="always")
def pair_terms(r2, s, e, mp):
    """(v, v'/r, v'', v''') of the pair at squared distance r2 (inside the cutoff).

    f(u) = a12 u^-12 - a6 u^-6 + c0 + c2 u^2 + c4 u^4, v = e f(r/s); derivatives in r.
    """
    a12 = mp.a12
    a6 = mp.a6
    c0 = mp.c0
    c2 = mp.c2
    c4 = mp.c4
    s2 = s * s
    u2 = r2 / s2
    inv2 = 1.0 / u2
    inv6 = inv2 * inv2 * inv2
    inv12 = inv6 * inv6
    f0 = f_u(u2, inv6, a12, a6, c0, c2, c4)
    f1u = f1_over_u(u2, inv2, inv6, a12, a6, c2, c4)
    u = np.sqrt(u2)
    f2 = 156.0 * a12 * inv12 * inv2 - 42.0 * a6 * inv6 * inv2 + 2.0 * c2 + 12.0 * c4 * u2
    f3 = (-2184.0 * a12 * inv12 * inv2 + 336.0 * a6 * inv6 * inv2) / u + 24.0 * c4 * u
    return e * f0, e * f1u / s2, e * f2 / s2, e * f3 / (s2 * s)


@njit(cache=True, error_model="numpy")
def max_cutoff_diam(diam, mp):
    """Largest cutoff x_c s_ij that any pair can have (see :func:`pair_se`)."""
    dmax = diam.max()
    dmin = diam.min()
    factor = max(dmax, mix_sigma(1.0, dmin, dmax, mp.nonadditivity))
    return mp.xc * mp.sigma.max() * factor


@njit(cache=True, fastmath=True, error_model="numpy")
def _row_forces(m, bx, by, bz, bs, bw, box3, binv3, xc2, a12, a6, c0, c2, c4):
    """Pair terms of one row of the half list, on contiguous buffers (vectorised by LLVM).

    In: bx, by, bz the raw differences r_i - r_j, bs = 1/s_ij^2, bw = e_ij. Out: the pair
    forces f_ij (on i) overwrite bx, by, bz; returns (energy, virial, f_i). No indirect access
    and no branch (the cutoff is a select), so the loop runs 4 pairs per AVX2 instruction.
    f(u) and f'(u)/u of the common form (models/base.py; PSS: 001_1b8b0be289dbb4b8.txt Eq. (1),
    TLJ: 002_b660eabf4d6c7be7.txt Eqs. (4)-(5)).
    """
    b0, b1, b2 = box3[0], box3[1], box3[2]
    i0, i1, i2 = binv3[0], binv3[1], binv3[2]
    ei = 0.0
    wi = 0.0
    fx = 0.0
    fy = 0.0
    fz = 0.0
    for q in range(m):
        dx0 = bx[q] - b0 * np.rint(bx[q] * i0)
        dx1 = by[q] - b1 * np.rint(by[q] * i1)
        dx2 = bz[q] - b2 * np.rint(bz[q] * i2)
        r2 = dx0 * dx0 + dx1 * dx1 + dx2 * dx2
        si = bs[q]
        u2 = r2 * si
        w = bw[q] if u2 < xc2 else 0.0
        inv2 = 1.0 / u2
        inv6 = inv2 * inv2 * inv2
        ei += w * f_u(u2, inv6, a12, a6, c0, c2, c4)
        v1r = w * si * f1_over_u(u2, inv2, inv6, a12, a6, c2, c4)
        wi -= v1r * r2
        g0 = -v1r * dx0
        g1 = -v1r * dx1
        g2 = -v1r * dx2
        fx += g0
        fy += g1
        fz += g2
        bx[q] = g0
        by[q] = g1
        bz[q] = g2
    return ei, wi, fx, fy, fz


@njit(cache=True, fastmath=True, error_model="numpy")
def pair_params(types, diam, mp, start, idx):
    """(2, pairs) array of each listed pair's 1/s_ij^2 and e_ij (:func:`pair_se`), in list order:
    made once per list (MD, the compiled L-BFGS and ParticleSystem keep it beside the list) so
    that :func:`energy_forces` copies them contiguously instead of looking up the type table (TLJ
    N = 1200: 0.58 -> 0.43 ms per evaluation, issue #19) or the diameters' mixing rule (PSS).
    The same arithmetic, compiled with the same flags as the kernels' lookup (fastmath: the
    mixing rule's contraction must match), so the forces are the same bits either way."""
    n = start.size - 1
    out = np.empty((2, start[n]))
    poly = mp.mode == 1
    na = mp.nonadditivity
    e0 = mp.eps[0, 0]
    s2inv_tab = 1.0 / (mp.sigma * mp.sigma)
    for i in range(n):
        ti = types[i]
        di = diam[i]
        for kk in range(start[i], start[i + 1]):
            j = idx[kk]
            if poly:
                sij = mix_sigma(1.0, di, diam[j], na)
                out[0, kk] = 1.0 / (sij * sij)
                out[1, kk] = e0
            else:
                out[0, kk] = s2inv_tab[ti, types[j]]
                out[1, kk] = mp.eps[ti, types[j]]
    return out


@njit(cache=True, fastmath=True, error_model="numpy")
def energy_forces(pos, box, types, diam, mp, start, idx, forces, pp=None):
    """Potential energy and virial W = sum_pairs r_ij . f_ij; forces written in place.
    ``pp``: the list's :func:`pair_params` (optional; without it the pair parameters are looked
    up per evaluation).

    Per row of the half list (Newton's third law: each pair once) three passes: gather the
    neighbours' coordinates and pair parameters into contiguous buffers, evaluate the pair
    terms there in a branch-free loop that LLVM vectorises (:func:`_row_forces`), scatter the
    pair forces to the neighbours. Evaluating the pair terms inline, in the gather loop, kept
    the loop scalar (indirect loads) and cost 1.6-1.9x more per pair for TLJ (docs/benchmarks.md).
    Type models run with unit diameters and the sigma table (s_ij = :func:`mix_sigma` of the
    table entry, precomputed as 1/s_ij^2 per type pair).

    PSS (per-particle diameters) goes to :func:`energy_forces_scalar`: with ~7 pairs per row the
    buffers do not pay, and the scalar loop was 1.14x faster for N = 1500 (interleaved A/B at load
    0.4, 6 rounds; TLJ: the vectorised rows 0.66x the scalar time).
    """
    if mp.mode == 1:
        return energy_forces_scalar(pos, box, types, diam, mp, start, idx, forces, pp)
    n, d = pos.shape
    xc2 = mp.xc * mp.xc
    a12 = mp.a12
    a6 = mp.a6
    c0 = mp.c0
    c2 = mp.c2
    c4 = mp.c4
    box3, binv3 = padded_box(box)   # d = 2: the third component is 0 and never wraps
    nt = mp.sigma.shape[0]
    eps_flat = mp.eps.ravel().copy()
    s2inv_flat = (1.0 / (mp.sigma * mp.sigma)).ravel().copy()
    mx = 1
    for i in range(n):
        mx = max(mx, start[i + 1] - start[i])
    bx = np.empty(mx)
    by = np.empty(mx)
    bz = np.empty(mx)
    bs = np.empty(mx)
    bw = np.empty(mx)
    p = np.zeros((n, 3))
    for i in range(n):
        for k in range(d):
            p[i, k] = pos[i, k]
    fa = np.zeros((n, 3))
    energy = 0.0
    virial = 0.0
    for i in range(n):
        s0 = start[i]
        m = start[i + 1] - s0
        xi0 = p[i, 0]
        xi1 = p[i, 1]
        xi2 = p[i, 2]
        row = types[i] * nt
        for q in range(m):
            j = idx[s0 + q]
            bx[q] = xi0 - p[j, 0]
            by[q] = xi1 - p[j, 1]
            bz[q] = xi2 - p[j, 2]
        if pp is None:  # type models: s_ij and e_ij from the tables (PSS took the scalar loop)
            for q in range(m):
                tj = types[idx[s0 + q]]
                bs[q] = s2inv_flat[row + tj]
                bw[q] = eps_flat[row + tj]
        else:           # the list's own copy, contiguous
            for q in range(m):
                bs[q] = pp[0, s0 + q]
                bw[q] = pp[1, s0 + q]
        ei, wi, fx, fy, fz = _row_forces(m, bx, by, bz, bs, bw, box3, binv3, xc2, a12, a6, c0, c2, c4)
        for q in range(m):
            j = idx[s0 + q]
            fa[j, 0] -= bx[q]
            fa[j, 1] -= by[q]
            fa[j, 2] -= bz[q]
        fa[i, 0] += fx
        fa[i, 1] += fy
        fa[i, 2] += fz
        energy += ei
        virial += wi
    for i in range(n):
        for k in range(d):
            forces[i, k] = fa[i, k]
    return energy, virial


@njit(cache=True, fastmath=True, error_model="numpy")
def energy_forces_scalar(pos, box, types, diam, mp, start, idx, forces, pp=None):
    """The kernel of PSS (short rows, see :func:`energy_forces`) and the reference of the
    vectorised one for the type models (tests, benchmarks/engine.py A/B): pair terms evaluated
    inline in the gather loop. Same results to rounding. ``pp``: as for :func:`energy_forces`.

    The cutoff test is a select, not a branch: the pair terms are computed for
    every listed pair and multiplied by 0 outside the cutoff (a mispredicted
    branch per pair costs more than the arithmetic). Components are scalars
    (d = 2 or 3) so that they stay in registers.
    """
    n, d = pos.shape
    three = d == 3
    xc2 = mp.xc * mp.xc
    a12 = mp.a12
    a6 = mp.a6
    c0 = mp.c0
    c2 = mp.c2
    c4 = mp.c4
    b0 = box[0]
    b1 = box[1]
    b2 = box[2] if three else 1.0
    i0 = 1.0 / b0
    i1 = 1.0 / b1
    i2 = 1.0 / b2
    # Type models run with unit diameters and the sigma table; PSS with one type and
    # the diameter rule (see pair_se). Only one of the two branches below is used.
    poly = mp.mode == 1
    na = mp.nonadditivity
    e0 = mp.eps[0, 0]
    eps_tab = mp.eps
    s2inv_tab = 1.0 / (mp.sigma * mp.sigma)
    forces[:] = 0.0
    energy = 0.0
    virial = 0.0
    for i in range(n):
        ti = types[i]
        di = diam[i]
        xi0 = pos[i, 0]
        xi1 = pos[i, 1]
        xi2 = pos[i, 2] if three else 0.0
        fi0 = 0.0
        fi1 = 0.0
        fi2 = 0.0
        for kk in range(start[i], start[i + 1]):
            j = idx[kk]
            dx0 = min_image(xi0 - pos[j, 0], b0, i0)
            dx1 = min_image(xi1 - pos[j, 1], b1, i1)
            dx2 = min_image(xi2 - pos[j, 2], b2, i2) if three else 0.0
            r2 = dx0 * dx0 + dx1 * dx1 + dx2 * dx2
            # loop-invariant choice (LLVM unswitches the loop): per-particle diameters
            # (PSS mixing rule) or precomputed type tables
            if pp is not None:
                si = pp[0, kk]
                e = pp[1, kk]
            elif poly:
                dj = diam[j]
                s = mix_sigma(1.0, di, dj, na)
                si = 1.0 / (s * s)
                e = e0
            else:
                tj = types[j]
                si = s2inv_tab[ti, tj]
                e = eps_tab[ti, tj]
            u2 = r2 * si
            w = e if u2 < xc2 else 0.0
            inv2 = 1.0 / u2
            inv6 = inv2 * inv2 * inv2
            # f(u) and f'(u)/u of the common form (kernels.f_u, f1_over_u)
            energy += w * f_u(u2, inv6, a12, a6, c0, c2, c4)
            v1r = w * si * f1_over_u(u2, inv2, inv6, a12, a6, c2, c4)
            virial -= v1r * r2
            f0 = -v1r * dx0
            f1 = -v1r * dx1
            fi0 += f0
            fi1 += f1
            forces[j, 0] -= f0
            forces[j, 1] -= f1
            if three:
                f2 = -v1r * dx2
                fi2 += f2
                forces[j, 2] -= f2
        forces[i, 0] += fi0
        forces[i, 1] += fi1
        if three:
            forces[i, 2] += fi2
    return energy, virial


@njit(cache=True, fastmath=True, error_model="numpy")
def energy_only(pos, box, types, diam, mp, start, idx):
    n, d = pos.shape
    xc2 = mp.xc * mp.xc
    a12 = mp.a12
    a6 = mp.a6
    c0 = mp.c0
    c2 = mp.c2
    c4 = mp.c4
    binv = 1.0 / box
    energy = 0.0
    for i in range(n):
        for kk in range(start[i], start[i + 1]):
            j = idx[kk]
            r2 = 0.0
            for k in range(d):
                x = min_image(pos[i, k] - pos[j, k], box[k], binv[k])
                r2 += x * x
            s, e = pair_se(i, j, types, diam, mp)
            si = 1.0 / (s * s)
            u2 = r2 * si
            w = e if u2 < xc2 else 0.0
            inv2 = 1.0 / u2
            inv6 = inv2 * inv2 * inv2
            energy += w * f_u(u2, inv6, a12, a6, c0, c2, c4)
    return energy


@njit(cache=True, error_model="numpy")
def closest_pair(pos, box, types, diam, mp, start, idx):
    """The listed pair with the smallest r / s_ij (for overlap diagnostics)."""
    n, d = pos.shape
    best = np.inf
    bi = -1
    bj = -1
    for i in range(n):
        for kk in range(start[i], start[i + 1]):
            j = idx[kk]
            r2 = 0.0
            for k in range(d):
                x = pos[i, k] - pos[j, k]
                x -= box[k] * np.rint(x / box[k])
                r2 += x * x
            s, e = pair_se(i, j, types, diam, mp)
            q = np.sqrt(r2) / s
            if q < best:
                best = q
                bi = i
                bj = j
    return bi, bj, best


@njit(cache=True, error_model="numpy")
def hessian_coo(pos, box, types, diam, mp, start, idx):
    """Hessian d^2E/dx dx as COO triplets (rows, cols, vals); diagonal blocks summed.

    Pair block K = v'' n n^T + (v'/r)(1 - n n^T); H_ij = -K, H_ii += K, H_jj += K.
    """
    n, d = pos.shape
    xc2 = mp.xc * mp.xc
    npairs = start[n]
    rows = np.empty(2 * npairs * d * d + n * d * d, np.int64)
    cols = np.empty_like(rows)
    vals = np.zeros(rows.shape[0])
    diag = np.zeros((n, d, d))
    m = 0
    dx = np.empty(d)
    for i in range(n):
        for kk in range(start[i], start[i + 1]):
            j = idx[kk]
            r2 = 0.0
            for k in range(d):
                x = pos[i, k] - pos[j, k]
                x -= box[k] * np.rint(x / box[k])
                dx[k] = x
                r2 += x * x
            s, e = pair_se(i, j, types, diam, mp)
            if r2 < xc2 * s * s:
                v, v1r, v2, v3 = pair_terms(r2, s, e, mp)
                for a in range(d):
                    for b in range(d):
                        nn = dx[a] * dx[b] / r2
                        kab = v2 * nn + v1r * ((1.0 if a == b else 0.0) - nn)
                        diag[i, a, b] += kab
                        diag[j, a, b] += kab
                        rows[m] = i * d + a
                        cols[m] = j * d + b
                        vals[m] = -kab
                        m += 1
                        rows[m] = j * d + b
                        cols[m] = i * d + a
                        vals[m] = -kab
                        m += 1
    for i in range(n):
        for a in range(d):
            for b in range(d):
                rows[m] = i * d + a
                cols[m] = i * d + b
                vals[m] = diag[i, a, b]
                m += 1
    return rows[:m], cols[:m], vals[:m]


@njit(cache=True, error_model="numpy")
def hessian_dot(pos, box, types, diam, mp, start, idx, z):
    """H z without forming H."""
    n, d = pos.shape
    xc2 = mp.xc * mp.xc
    out = np.zeros((n, d))
    dx = np.empty(d)
    for i in range(n):
        for kk in range(start[i], start[i + 1]):
            j = idx[kk]
            r2 = 0.0
            for k in range(d):
                x = pos[i, k] - pos[j, k]
                x -= box[k] * np.rint(x / box[k])
                dx[k] = x
                r2 += x * x
            s, e = pair_se(i, j, types, diam, mp)
            if r2 < xc2 * s * s:
                v, v1r, v2, v3 = pair_terms(r2, s, e, mp)
                ndz = 0.0
                for k in range(d):
                    ndz += dx[k] * (z[i, k] - z[j, k])
                ndz /= r2
                for k in range(d):
                    dz = z[i, k] - z[j, k]
                    g = v2 * dx[k] * ndz + v1r * (dz - dx[k] * ndz)
                    out[i, k] += g
                    out[j, k] -= g
    return out


@njit(cache=True, error_model="numpy")
def third_contract(pos, box, types, diam, mp, start, idx, z):
    """T_k = sum_ij U3_kij z_i z_j, the contraction of the third derivatives with z z.

    With psi(s) = phi(sqrt(s)), s = r^2, c = r . dz, b = dz . dz per pair:
    grad_r [d^2E/dt^2] = 8 c^2 psi''' r + 8 c psi'' dz + 4 b psi'' r, and
    z . T = U3 . zzz = sum_pairs 8 c^3 psi''' + 12 b c psi''.
    (Used for the nonlinear modes of 004_9b896d29dc320c3d.txt SI Eqs. (15)-(16).)
    """
    n, d = pos.shape
    xc2 = mp.xc * mp.xc
    out = np.zeros((n, d))
    dx = np.empty(d)
    dz = np.empty(d)
    for i in range(n):
        for kk in range(start[i], start[i + 1]):
            j = idx[kk]
            r2 = 0.0
            for k in range(d):
                x = pos[i, k] - pos[j, k]
                x -= box[k] * np.rint(x / box[k])
                dx[k] = x
                r2 += x * x
            s, e = pair_se(i, j, types, diam, mp)
            if r2 < xc2 * s * s:
                v, v1r, v2, v3 = pair_terms(r2, s, e, mp)
                r = np.sqrt(r2)
                v1 = v1r * r
                psi2 = (v2 - v1r) / (4.0 * r2)
                psi3 = (v3 - 3.0 * v2 / r + 3.0 * v1 / r2) / (8.0 * r2 * r)
                c = 0.0
                b = 0.0
                for k in range(d):
                    dz[k] = z[i, k] - z[j, k]
                    c += dx[k] * dz[k]
                    b += dz[k] * dz[k]
                for k in range(d):
                    g = 8.0 * c * c * psi3 * dx[k] + 8.0 * c * psi2 * dz[k] + 4.0 * b * psi2 * dx[k]
                    out[i, k] += g
                    out[j, k] -= g
    return out


@njit(cache=True)
def pair_virial_tensor(pos, box, types, diam, mp, start, idx):
    """sum_pairs (v'(r)/r) r_a r_b = dU/d(strain_ab) under an affine strain: the (d, d) virial tensor
    (io.ase_calculator.stress_tensor divides it by the volume). Kept with the other pair loops."""
    n, d = pos.shape
    xc2 = mp.xc * mp.xc
    out = np.zeros((d, d))
    dx = np.empty(d)
    for i in range(n):
        for kk in range(start[i], start[i + 1]):
            j = idx[kk]
            r2 = 0.0
            for k in range(d):
                x = pos[i, k] - pos[j, k]
                x -= box[k] * np.rint(x / box[k])
                dx[k] = x
                r2 += x * x
            s, e = pair_se(i, j, types, diam, mp)
            if r2 < xc2 * s * s:
                _, v1r, _, _ = pair_terms(r2, s, e, mp)
                for a in range(d):
                    for b in range(d):
                        out[a, b] += v1r * dx[a] * dx[b]
    return out
