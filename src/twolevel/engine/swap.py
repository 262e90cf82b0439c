"""Swap Monte Carlo (PSS) and hybrid swap MC / MD (TLJ), compiled.

Swap Monte Carlo (001_1b8b0be289dbb4b8.txt "Glass preparation"; Ninarello,
Berthier, Coslovich, PRX 7, 021039 (2017)): Metropolis translational moves of
one particle by a uniform displacement in [-delta, delta]^d, mixed with moves
that exchange the diameters of two particles chosen at random (probability
``p_swap``, usually 0.2). Both are accepted with min(1, exp(-Delta U / T)).

Hybrid swap MC / MD for type mixtures (002_b660eabf4d6c7be7.txt Sec. II C):
blocks of 10 MD steps (dt = 0.005) alternate with 1.75 N attempted exchanges of
the types of two particles of different types.

Energy differences are LOCAL: a move touches one or two particles, and the
kernel sums only over their neighbours from a *full* Verlet list (each pair
listed on both sides). The list cutoff is the largest pair cutoff the
conserved diameter (or type) multiset can ever produce, x_c max s_ab, plus a
skin, so that a swap never needs a rebuild; the list is rebuilt (cell list,
O(N)) before any trial position that would leave the skin/2 sphere around
the particle's position at the last build. Rebuilding changes no state, so
the chain is exactly the Metropolis chain.

Detailed balance: a translational proposal is symmetric (uniform cube); a
diameter exchange picks an ordered pair (i, j != i) uniformly; a type exchange
picks i uniformly and j uniformly among the N - n_{t_i} particles of another
type -- after the exchange the type counts are the same, so the proposal
probability of the reverse move is the same. The multiset of diameters (types)
is conserved exactly: moves only exchange entries.

Random numbers come from numba's generator, seeded at the start of every call
(``seed``); a driver that derives the seed from its own call counter is
deterministic and resumable from a checkpoint.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import Configuration
from ..errors import InputError
from ..models import PairModel, get_model
from .kernels import energy_forces, f_u, max_cutoff_diam, min_image, mix_sigma
from .neighbors import build_neighbors, cell_grid, cell_index, needs_rebuild

SWAP_NONE = 0
SWAP_DIAMETERS = 1
SWAP_TYPES = 2


# ---------------------------------------------------------------------------------------
# incremental full neighbour list
#
# Each particle i has a reference position ref[i] and a row nbr[i, :nn[i]] of every k with
# |ref_i - ref_k| < rl = x_c max s_ab + skin (the largest pair cutoff the conserved diameter or
# type multiset can produce). The row is partitioned in three segments:
#   [0, nnear[i])        "near": |ref_i - ref_k| < x_c s_ik + skin with the CURRENT values;
#   [nnear[i], nmid[i])  "mid":  |ref_i - ref_k| < x_c smax[k] + skin, where smax[k] is the
#                        largest s between k and any (type, diameter) of the conserved multiset;
#   [nmid[i], nn[i])     "far":  the rest.
# While every particle stays within skin/2 of its reference, a pair missing from the near part
# is beyond its cutoff (translations scan the near part), and a pair missing from the near +
# mid parts is beyond its cutoff whatever value i takes in an exchange (exchanges scan
# [0, nmid[i])): the partner k keeps its value, and i's new value belongs to the multiset.
# The classification is per side (row i uses smax[k], row k uses smax[i]). smax is a value of
# the particle's diameter/type, so it is exchanged with it.
# When a trial position leaves the skin/2 sphere, only that particle's row is rebuilt (cell
# list over reference positions) and it is removed from / added to the rows of its old / new
# neighbours; after an accepted exchange the rows of the two particles are re-classified and
# their entries in the neighbours' rows with them. No global rebuild is ever needed (except to
# grow the arrays).
# ---------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", inline="always")
def _sij(ti, tj, di, dj, mp):
    return mix_sigma(mp.sigma[ti, tj], di, dj, mp.nonadditivity)  # the one mixing rule (kernels.mix_sigma)


@njit(cache=True, error_model="numpy", inline="always")
def _v(r2, ti, tj, di, dj, mp):
    """Pair energy e_ij f(r/s_ij) of the common form (models/base.py), 0 beyond x_c s_ij
    (PSS: 001_1b8b0be289dbb4b8.txt Eq. (1); TLJ: 002_b660eabf4d6c7be7.txt Eqs. (4)-(5))."""
    s = _sij(ti, tj, di, dj, mp)
    u2 = r2 / (s * s)
    w = mp.eps[ti, tj] if u2 < mp.xc * mp.xc else 0.0   # a select, not a branch
    inv2 = 1.0 / u2
    inv6 = inv2 * inv2 * inv2
    return w * f_u(u2, inv6, mp.a12, mp.a6, mp.c0, mp.c2, mp.c4)


@njit(cache=True, error_model="numpy")
def partner_smax(types, diam, mp):
    """smax[k] = max over the multiset of (type, diameter) values v of s(v, value of k).
    Exact over the distinct values (O(U N)); the row classification only needs an upper bound."""
    n = types.shape[0]
    # distinct (type, diameter) values
    ut = np.empty(n, np.int64)
    ud = np.empty(n)
    nu = 0
    order = np.argsort(diam)
    for q in range(n):
        i = order[q]
        new = True
        for u in range(nu - 1, -1, -1):
            if ud[u] != diam[i]:
                break
            if ut[u] == types[i]:
                new = False
                break
        if new:
            ut[nu] = types[i]
            ud[nu] = diam[i]
            nu += 1
    out = np.empty(n)
    sig = mp.sigma
    nad = mp.nonadditivity
    for k in range(n):
        m = 0.0
        for u in range(nu):
            m = max(m, _s_loc(ut[u], types[k], ud[u], diam[k], sig, nad))
        out[k] = m
    return out


@njit(cache=True, error_model="numpy", inline="always")
def _d2(x, i, k, box, binv):
    d = x.shape[1]
    r2 = 0.0
    for a in range(d):
        t = min_image(x[i, a] - x[k, a], box[a], binv[a])
        r2 += t * t
    return r2


@njit(cache=True, error_model="numpy", inline="always")
def _s_loc(ti, tj, di, dj, sig, nad):
    return mix_sigma(sig[ti, tj], di, dj, nad)  # as _sij, with the sigma table and nonadditivity passed directly


@njit(cache=True, error_model="numpy", inline="always")
def _cls_v(ti, tk, di, dk, smk, r2, sig, nad, xc, skin):
    """Class (0 near, 1 mid, 2 far) of a partner k with values (tk, dk, smax smk) in the row
    of a particle with values (ti, di), at squared reference distance r2."""
    rc = xc * _s_loc(ti, tk, di, dk, sig, nad) + skin
    if r2 < rc * rc:
        return 0
    rm = xc * smk + skin
    return 1 if r2 < rm * rm else 2


@njit(cache=True, error_model="numpy", inline="always")
def _cls(i, k, r2, types, diam, smax, sig, nad, xc, skin):
    """Class of k in row i (0 near, 1 mid, 2 far) at squared reference distance r2."""
    return _cls_v(types[i], types[k], diam[i], diam[k], smax[k], r2, sig, nad, xc, skin)


@njit(cache=True, error_model="numpy", inline="always")
def _row_remove(nbr, nn, nnear, nmid, k, i):
    """Remove i from row k (keeping the three segments contiguous); returns its old class or -1."""
    m = nn[k]
    p = 0
    while p < m and nbr[k, p] != i:
        p += 1
    if p == m:
        return -1
    c = 2
    if p < nnear[k]:
        c = 0
        ln = nnear[k] - 1
        nbr[k, p] = nbr[k, ln]
        p = ln
        nnear[k] = ln
    if p < nmid[k]:
        if c == 2:
            c = 1
        lm = nmid[k] - 1
        nbr[k, p] = nbr[k, lm]
        p = lm
        nmid[k] = lm
    nbr[k, p] = nbr[k, m - 1]
    nn[k] = m - 1
    return c


@njit(cache=True, error_model="numpy", inline="always")
def _row_add(nbr, nn, nnear, nmid, k, i, c):
    """Append i to row k in class c. False on overflow."""
    m = nn[k]
    if m >= nbr.shape[1]:
        return False
    p = m
    if c <= 1:
        nbr[k, p] = nbr[k, nmid[k]]
        p = nmid[k]
        nmid[k] += 1
    if c == 0:
        nbr[k, p] = nbr[k, nnear[k]]
        p = nnear[k]
        nnear[k] += 1
    nbr[k, p] = i
    nn[k] = m + 1
    return True


@njit(cache=True, error_model="numpy", inline="always")
def _row_find(nbr, nn, nnear, nmid, k, i, c):
    """Position of i in row k, searched first in the segment of class c (the class the
    invariant says it has), then in the whole row; -1 if absent."""
    lo = 0
    hi = nnear[k]
    if c == 1:
        lo = hi
        hi = nmid[k]
    elif c == 2:
        lo = nmid[k]
        hi = nn[k]
    for p in range(lo, hi):
        if nbr[k, p] == i:
            return p
    for p in range(nn[k]):
        if nbr[k, p] == i:
            return p
    return -1


@njit(cache=True, error_model="numpy", inline="always")
def _row_reclass(nbr, nn, nnear, nmid, k, i, cold, cnew):
    """Move i from class cold to class cnew in row k by shifting segment boundaries (at most
    two element swaps; no search outside cold's segment unless the entry is misplaced)."""
    p = _row_find(nbr, nn, nnear, nmid, k, i, cold)
    if p < 0:
        return
    # the actual class of position p
    c = 0 if p < nnear[k] else (1 if p < nmid[k] else 2)
    while c < cnew:
        if c == 0:          # near -> mid: swap with the last near entry, shrink near
            q = nnear[k] - 1
            nnear[k] = q
        else:               # mid -> far: swap with the last mid entry, shrink mid
            q = nmid[k] - 1
            nmid[k] = q
        nbr[k, p] = nbr[k, q]
        nbr[k, q] = i
        p = q
        c += 1
    while c > cnew:
        if c == 2:          # far -> mid: swap with the first far entry, grow mid
            q = nmid[k]
            nmid[k] = q + 1
        else:               # mid -> near: swap with the first mid entry, grow near
            q = nnear[k]
            nnear[k] = q + 1
        nbr[k, p] = nbr[k, q]
        nbr[k, q] = i
        p = q
        c -= 1


@njit(cache=True, error_model="numpy", inline="always")
def _row_remove_at(nbr, nn, nnear, nmid, k, p):
    """Remove the entry at position p of row k (keeping the three segments contiguous)."""
    m = nn[k]
    if p < nnear[k]:
        ln = nnear[k] - 1
        nbr[k, p] = nbr[k, ln]
        p = ln
        nnear[k] = ln
    if p < nmid[k]:
        lm = nmid[k] - 1
        nbr[k, p] = nbr[k, lm]
        p = lm
        nmid[k] = lm
    nbr[k, p] = nbr[k, m - 1]
    nn[k] = m - 1


@njit(cache=True, error_model="numpy")
def _scan_row(i, ref, box, binv, types, diam, mp, skin, rl2, ncell, cmem, ccnt, cell_of,
              nbr, nn, nnear, nmid, smax, mirror):
    """Fill row i from the cells around ref[i]; with ``mirror`` also add i to each k's row.
    Returns False on overflow."""
    n, d = ref.shape
    sig = mp.sigma
    nad = mp.nonadditivity
    xc = mp.xc
    if ncell[0] == 0:
        # small box: all pairs
        for k in range(n):
            r2 = _d2(ref, i, k, box, binv)
            if k != i and r2 < rl2:
                if not _row_add(nbr, nn, nnear, nmid, i, k, _cls(i, k, r2, types, diam, smax, sig, nad, xc, skin)):
                    return False
                if mirror and not _row_add(nbr, nn, nnear, nmid, k, i,
                                           _cls(k, i, r2, types, diam, smax, sig, nad, xc, skin)):
                    return False
        return True
    rem = cell_of[i]
    c0 = 0
    c1 = 0
    c2 = 0
    if d == 3:
        c2 = rem % ncell[2]
        rem //= ncell[2]
    c1 = rem % ncell[1]
    c0 = rem // ncell[1]
    # cells at least rl / ns wide (ns = ncell[d]): the pairs within rl lie in the
    # (2 ns + 1)^d block of cells around i's cell
    ns = ncell[d]
    w = 2 * ns + 1
    n2 = w if d == 3 else 1
    for o0 in range(w):
        a0 = (c0 + o0 - ns) % ncell[0]
        for o1 in range(w):
            a1 = (c1 + o1 - ns) % ncell[1]
            for o2 in range(n2):
                if d == 3:
                    cc = (a0 * ncell[1] + a1) * ncell[2] + (c2 + o2 - ns) % ncell[2]
                else:
                    cc = a0 * ncell[1] + a1
                for q in range(ccnt[cc]):
                    k = cmem[cc, q]
                    r2 = _d2(ref, i, k, box, binv)
                    if k != i and r2 < rl2:
                        if not _row_add(nbr, nn, nnear, nmid, i, k,
                                        _cls(i, k, r2, types, diam, smax, sig, nad, xc, skin)):
                            return False
                        if mirror and not _row_add(nbr, nn, nnear, nmid, k, i,
                                                   _cls(k, i, r2, types, diam, smax, sig, nad, xc, skin)):
                            return False
    return True


@njit(cache=True, error_model="numpy")
def full_build(pos, ref, box, types, diam, mp, skin, rl, nbr, nn, nnear, nmid, smax, ncell, cmem, ccnt,
               cell_of, cpos):
    """Rebuild everything from the current positions (ref = pos). False on overflow."""
    n, d = pos.shape
    binv = 1.0 / box
    ref[:] = pos
    nn[:] = 0
    nnear[:] = 0
    nmid[:] = 0
    ccnt[:] = 0
    if ncell[0] > 0:
        for i in range(n):
            c = cell_index(ref, i, box, binv, 0.0, ncell)
            cell_of[i] = c
            if ccnt[c] >= cmem.shape[1]:
                return False
            cmem[c, ccnt[c]] = i
            cpos[i] = ccnt[c]
            ccnt[c] += 1
    for i in range(n):
        if not _scan_row(i, ref, box, binv, types, diam, mp, skin, rl * rl, ncell, cmem, ccnt,
                         cell_of, nbr, nn, nnear, nmid, smax, False):
            return False
    return True


@njit(cache=True, error_model="numpy")
def _update_particle(i, pos, ref, box, binv, types, diam, mp, skin, rl2, nbr, nn, nnear, nmid, smax, ncell,
                     cmem, ccnt, cell_of, cpos):
    """Move the reference of particle i to its current position and rebuild its pairs."""
    sig = mp.sigma
    nad = mp.nonadditivity
    xc = mp.xc
    for p in range(nn[i]):
        k = nbr[i, p]
        # i's class in row k at the old reference (the invariant): search that segment first
        c = _cls(k, i, _d2(ref, i, k, box, binv), types, diam, smax, sig, nad, xc, skin)
        q = _row_find(nbr, nn, nnear, nmid, k, i, c)
        if q >= 0:
            _row_remove_at(nbr, nn, nnear, nmid, k, q)
    nn[i] = 0
    nnear[i] = 0
    nmid[i] = 0
    for a in range(pos.shape[1]):
        ref[i, a] = pos[i, a]
    if ncell[0] > 0:
        c = cell_index(ref, i, box, binv, 0.0, ncell)
        old = cell_of[i]
        if c != old:
            # swap-remove from the old cell, append to the new one
            last = cmem[old, ccnt[old] - 1]
            cmem[old, cpos[i]] = last
            cpos[last] = cpos[i]
            ccnt[old] -= 1
            if ccnt[c] >= cmem.shape[1]:
                return False
            cmem[c, ccnt[c]] = i
            cpos[i] = ccnt[c]
            ccnt[c] += 1
            cell_of[i] = c
    return _scan_row(i, ref, box, binv, types, diam, mp, skin, rl2, ncell, cmem, ccnt, cell_of,
                     nbr, nn, nnear, nmid, smax, True)


@njit(cache=True, error_model="numpy")
def _repartition(i, ti0, di0, sm0, ref, box, binv, types, diam, mp, skin, nbr, nn, nnear, nmid,
                 smax, buf, cbuf):
    """Re-classify the pairs of row i after i's values changed from (ti0, di0, smax sm0), and
    i's entries in the rows of its neighbours (their class depends on i's values through s_ik
    and smax[i]; moved only where it changed)."""
    sig = mp.sigma
    nad = mp.nonadditivity
    xc = mp.xc
    m = nn[i]
    cnt0 = 0
    cnt1 = 0
    for p in range(m):
        k = nbr[i, p]
        buf[p] = k
        r2 = _d2(ref, i, k, box, binv)
        c = _cls(i, k, r2, types, diam, smax, sig, nad, xc, skin)
        cbuf[p] = c
        if c == 0:
            cnt0 += 1
        elif c == 1:
            cnt1 += 1
        cn = _cls(k, i, r2, types, diam, smax, sig, nad, xc, skin)
        co = _cls_v(types[k], ti0, diam[k], di0, sm0, r2, sig, nad, xc, skin)
        if cn != co:
            _row_reclass(nbr, nn, nnear, nmid, k, i, co, cn)
    a0 = 0
    a1 = cnt0
    a2 = cnt0 + cnt1
    for p in range(m):
        c = cbuf[p]
        if c == 0:
            nbr[i, a0] = buf[p]
            a0 += 1
        elif c == 1:
            nbr[i, a1] = buf[p]
            a1 += 1
        else:
            nbr[i, a2] = buf[p]
            a2 += 1
    nnear[i] = cnt0
    nmid[i] = cnt0 + cnt1


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _f_inv(inv2, u2, cf):
    """f(u) of the common form (models/base.py) from 1/u^2 and u^2, 0 beyond x_c: a select,
    not a branch (PSS: 001_1b8b0be289dbb4b8.txt Eq. (1); TLJ: 002_b660eabf4d6c7be7.txt Eqs. (4)-(5)).
    cf = (nonadditivity, x_c^2, a12, a6, c0, c2, c4): plain floats, see _coefs."""
    inv6 = inv2 * inv2 * inv2
    f = f_u(u2, inv6, cf[2], cf[3], cf[4], cf[5], cf[6])
    return f if u2 < cf[1] else 0.0


@njit(cache=True, error_model="numpy", inline="always")
def _coefs(mp):
    """The scalar model parameters as a tuple of floats. Hot loops use these and local
    references to the sigma/eps tables instead of indexing the mixed tuple ``mp`` (each
    array taken out of it inside a loop costs a reference-count update)."""
    return (mp.nonadditivity, mp.xc * mp.xc, mp.a12, mp.a6, mp.c0, mp.c2, mp.c4)


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _exchange_delta(i, j, ti, tj, di, dj, pos, box, binv, types, diam, sig, eps, cf, nbr, m):
    """Energy change of i's pairs (except with j) when i goes from (ti, di) to (tj, dj),
    summed over the first m entries of row i. Branch-free: every listed pair is evaluated
    (the cutoff is a select inside _f_inv; the i-j pair is multiplied by 0)."""
    de = 0.0
    x0 = pos[i, 0]
    x1 = pos[i, 1]
    x2 = pos[i, 2] if pos.shape[1] == 3 else 0.0
    for kk in range(m):
        k = nbr[i, kk]
        a0 = min_image(x0 - pos[k, 0], box[0], binv[0])
        a1 = min_image(x1 - pos[k, 1], box[1], binv[1])
        r2 = a0 * a0 + a1 * a1
        if pos.shape[1] == 3:
            a2 = min_image(x2 - pos[k, 2], box[2], binv[2])
            r2 += a2 * a2
        tk = types[k]
        dk = diam[k]
        so = _s_loc(ti, tk, di, dk, sig, cf[0])
        sn = _s_loc(tj, tk, dj, dk, sig, cf[0])
        so2 = so * so
        sn2 = sn * sn
        # one division: q = 1/(r2 so2 sn2) gives 1/u_old^2, 1/u_new^2 and both u^2
        q = 1.0 / (r2 * so2 * sn2)
        uo = r2 * r2 * sn2 * q      # r2 / so2
        un = r2 * r2 * so2 * q      # r2 / sn2
        io = so2 * so2 * sn2 * q    # so2 / r2
        iN = sn2 * sn2 * so2 * q    # sn2 / r2
        w = 0.0 if k == j else 1.0
        de += w * (eps[tj, tk] * _f_inv(iN, un, cf) - eps[ti, tk] * _f_inv(io, uo, cf))
    return de


# ---------------------------------------------------------------------------------------
# the Monte Carlo kernel
# ---------------------------------------------------------------------------------------
@njit(cache=True, fastmath=True, error_model="numpy")
def mc_run(pos, box, types, diam, mp, state, skin, rl, beta, delta, p_swap, nmoves, seed,
           swap_kind, group, slot, gstart, gcount, energy, force_build):
    """Attempt up to ``nmoves`` Monte Carlo moves in place on pos (and diam or types).

    state = (ref, nbr, nn, nnear, nmid, smax, ncell, cmem, ccnt, cell_of, cpos): the incremental
    list (smax: see partner_smax; exchanged with the diameters/types).
    swap_kind: 0 translations only, 1 diameter exchanges, 2 type exchanges.
    group/slot/gstart/gcount: particles grouped by type (group[gstart[t]:gstart[t]+gcount[t]]),
    slot[i] = position of i in group; used by type exchanges, kept consistent in place.
    ``energy`` is the current total energy; the returned one is updated by the accepted
    Delta U (compare with a full recomputation to check the local differences).

    Returns (status, moves_done, energy, n_trans, acc_trans, n_swap, acc_swap, n_updates);
    status 1 means an array overflowed: grow it, force a full build and call again.
    """
    ref, nbr, nn, nnear, nmid, smax, ncell, cmem, ccnt, cell_of, cpos = state
    np.random.seed(seed)
    n, d = pos.shape
    binv = 1.0 / box
    sig = mp.sigma
    eps = mp.eps
    cf = _coefs(mp)
    lim = 0.25 * skin * skin
    rl2 = rl * rl
    nup = 0
    # A listed pair is closer than rl + skin (both within skin/2 of their references) and a
    # trial moves by at most sqrt(d) delta: when the box exceeds twice that, the old minimum
    # image plus the trial displacement is still the minimum image of the new separation.
    direct = True
    for a in range(d):
        if box[a] <= 2.0 * (rl + skin + np.sqrt(d) * delta) + 1e-9:
            direct = False
    if force_build or needs_rebuild(pos, ref, skin):
        if not full_build(pos, ref, box, types, diam, mp, skin, rl, nbr, nn, nnear, nmid, smax, ncell, cmem,
                          ccnt, cell_of, cpos):
            return 1, 0, energy, 0, 0, 0, 0, nup
    n_tr = 0
    a_tr = 0
    n_sw = 0
    a_sw = 0
    buf = np.empty(nbr.shape[1], nbr.dtype)
    cbuf = np.empty(nbr.shape[1], np.int64)
    newx = np.empty(3)
    # one uniform u per move picks the move kind AND the particle i: conditionally on the
    # kind, u / p_swap (exchange) or (u - p_swap) / (1 - p_swap) (translation) is uniform on
    # [0, 1), so i is uniform up to the 2^-53 grid of u (a relative bias ~ N 2^-53)
    p_tr = 1.0 - p_swap if swap_kind != SWAP_NONE else 1.0
    p_ex = p_swap if swap_kind != SWAP_NONE else 0.0
    sc_ex = n / p_ex if p_ex > 0.0 else 0.0
    sc_tr = n / p_tr if p_tr > 0.0 else 0.0
    for move in range(nmoves):
        u = np.random.random()
        if u < p_ex:
            n_sw += 1
            i = min(int(u * sc_ex), n - 1)
            if swap_kind == SWAP_DIAMETERS:
                j = np.random.randint(0, n - 1)
                if j >= i:
                    j += 1
            else:
                ti = types[i]
                r = np.random.randint(0, n - gcount[ti])
                if r >= gstart[ti]:
                    r += gcount[ti]
                j = group[r]
            ti = types[i]
            tj = types[j]
            di = diam[i]
            dj = diam[j]
            # i takes (tj, dj), j takes (ti, di); the i-j pair is unchanged (s_ij symmetric).
            # The near + mid parts are needed: the new cutoffs can reach beyond the near parts.
            de = _exchange_delta(i, j, ti, tj, di, dj, pos, box, binv, types, diam, sig, eps, cf, nbr,
                                 nmid[i]) \
                + _exchange_delta(j, i, tj, ti, dj, di, pos, box, binv, types, diam, sig, eps, cf, nbr,
                                  nmid[j])
            if de <= 0.0 or np.random.random() < np.exp(-beta * de):
                a_sw += 1
                energy += de
                if swap_kind == SWAP_DIAMETERS:
                    diam[i] = dj
                    diam[j] = di
                else:
                    types[i] = tj
                    types[j] = ti
                    si = slot[i]
                    sj = slot[j]
                    group[si] = j
                    group[sj] = i
                    slot[i] = sj
                    slot[j] = si
                t = smax[i]
                smax[i] = smax[j]
                smax[j] = t
                # i's old values are j's new ones and vice versa; i and j themselves are
                # re-classified in each other's rows by the two calls
                _repartition(i, ti, di, smax[j], ref, box, binv, types, diam, mp, skin, nbr, nn, nnear,
                             nmid, smax, buf, cbuf)
                _repartition(j, tj, dj, smax[i], ref, box, binv, types, diam, mp, skin, nbr, nn, nnear,
                             nmid, smax, buf, cbuf)
        else:
            n_tr += 1
            i = min(int((u - p_ex) * sc_tr), n - 1)
            r2ref = 0.0
            for a in range(d):
                newx[a] = pos[i, a] + delta * (2.0 * np.random.random() - 1.0)
                x = newx[a] - ref[i, a]
                r2ref += x * x
            if r2ref > lim:
                # the trial position leaves the skin sphere: re-centre i's list first
                nup += 1
                if not _update_particle(i, pos, ref, box, binv, types, diam, mp, skin, rl2, nbr,
                                        nn, nnear, nmid, smax, ncell, cmem, ccnt, cell_of, cpos):
                    return 1, move, energy, n_tr - 1, a_tr, n_sw, a_sw, nup
            ti = types[i]
            di = diam[i]
            e_old = 0.0
            e_new = 0.0
            x0 = pos[i, 0]
            x1 = pos[i, 1]
            x2 = pos[i, 2] if d == 3 else 0.0
            y0 = newx[0]
            y1 = newx[1]
            y2 = newx[2] if d == 3 else 0.0
            g0 = y0 - x0
            g1 = y1 - x1
            g2 = y2 - x2
            for kk in range(nnear[i]):
                k = nbr[i, kk]
                p0 = pos[k, 0]
                p1 = pos[k, 1]
                a0 = min_image(x0 - p0, box[0], binv[0])
                a1 = min_image(x1 - p1, box[1], binv[1])
                if direct:
                    b0 = a0 + g0
                    b1 = a1 + g1
                else:
                    b0 = min_image(y0 - p0, box[0], binv[0])
                    b1 = min_image(y1 - p1, box[1], binv[1])
                ra = a0 * a0 + a1 * a1
                rb = b0 * b0 + b1 * b1
                if d == 3:
                    p2 = pos[k, 2]
                    a2 = min_image(x2 - p2, box[2], binv[2])
                    b2 = a2 + g2 if direct else min_image(y2 - p2, box[2], binv[2])
                    ra += a2 * a2
                    rb += b2 * b2
                tk = types[k]
                s = _s_loc(ti, tk, di, diam[k], sig, cf[0])
                s2 = s * s
                # one division: q = 1/(ra rb s2) gives 1/u_a^2, 1/u_b^2 and both u^2
                q = 1.0 / (ra * rb * s2)
                ua = ra * ra * rb * q       # ra / s2
                ub = rb * rb * ra * q       # rb / s2
                ia = s2 * s2 * rb * q       # s2 / ra
                ib = s2 * s2 * ra * q       # s2 / rb
                e = eps[ti, tk]
                e_old += e * _f_inv(ia, ua, cf)
                e_new += e * _f_inv(ib, ub, cf)
            de = e_new - e_old
            if de <= 0.0 or np.random.random() < np.exp(-beta * de):
                a_tr += 1
                energy += de
                for a in range(d):
                    pos[i, a] = newx[a]
    return 0, nmoves, energy, n_tr, a_tr, n_sw, a_sw, nup


@njit(cache=True, error_model="numpy")
def list_energy(pos, box, types, diam, mp, nbr, nn):
    """Total energy summed over the full rows (each pair twice, halved): checks the list."""
    n = pos.shape[0]
    binv = 1.0 / box
    e = 0.0
    for i in range(n):
        for kk in range(nn[i]):
            k = nbr[i, kk]
            e += _v(_d2(pos, i, k, box, binv), types[i], types[k], diam[i], diam[k], mp)
    return 0.5 * e


@njit(cache=True, error_model="numpy")
def energy_virial(pos, box, types, diam, mp, skin):
    """(U, W) of a configuration from scratch (half list + the engine's force kernel)."""
    start, idx = build_neighbors(pos, box, types, diam, mp, skin)
    f = np.empty_like(pos)
    return energy_forces(pos, box, types, diam, mp, start, idx, f)


# ---------------------------------------------------------------------------------------
# Python driver
# ---------------------------------------------------------------------------------------
class SwapMC:
    """Swap Monte Carlo state for one configuration at temperature T.

    Parameters
    ----------
    conf : starting configuration (copied)
    temperature : T (k_B = 1)
    model : PairModel or name (default conf.model)
    swap : "diameters" (PSS), "types" (type mixtures) or "none"; default from the model
    p_swap : fraction of attempted moves that are exchanges (0.2, Ninarello et al. 2017)
    delta : maximal translational displacement per component
    seed : base seed; call k of :meth:`run` uses the seed (seed, k)
    skin : Verlet skin; raised to at least 2.2 sqrt(d) delta so a rebuild always covers a move

    Time is counted in attempted moves; one sweep = N attempts.
    """

    def __init__(self, conf: Configuration, temperature: float, model: PairModel | str | None = None,
                 swap: str | None = None, p_swap: float = 0.2, delta: float = 0.1, seed: int = 0,
                 skin: float = 0.5):
        model = model if model is not None else conf.model
        if model is None:
            raise InputError("SwapMC: no model given and the configuration names none")
        self.model = get_model(model) if isinstance(model, str) else model
        self.model.check_configuration(conf)
        if not (np.isfinite(temperature) and temperature > 0):
            raise InputError(f"temperature must be positive, got {temperature}")
        if not 0.0 <= p_swap <= 1.0:
            raise InputError(f"p_swap must be in [0, 1], got {p_swap}")
        if not (np.isfinite(delta) and delta > 0):
            raise InputError(f"delta must be positive, got {delta}")
        if swap is None:
            swap = "diameters" if self.model.mode == 1 else "types"
        kinds = {"none": SWAP_NONE, "diameters": SWAP_DIAMETERS, "types": SWAP_TYPES}
        if swap not in kinds:
            raise InputError(f"swap must be one of {', '.join(kinds)}, got {swap!r}")
        if swap == "diameters" and self.model.mode != 1:
            raise InputError(f"model {self.model.name} has types, not diameters: use swap='types'")
        if swap == "types" and self.model.mode != 0:
            raise InputError(f"model {self.model.name} has diameters, not types: use swap='diameters'")
        self.swap_kind = kinds[swap]
        self.conf0 = conf
        self.n, self.dim = conf.positions.shape
        self.box = conf.box.copy()
        self.pos = conf.positions.copy()
        if self.model.mode == 0:
            self.types = conf.types.copy()
            self.diam = np.ones(self.n)
        else:
            self.types = np.zeros(self.n, np.int64)
            self.diam = conf.diameters.copy()
        self.mp = self.model.kernel_params()
        self.temperature = float(temperature)
        self.p_swap = float(p_swap) if self.swap_kind != SWAP_NONE else 0.0
        self.seed = int(seed)
        self.calls = 0
        self._skin0 = float(skin)
        self.rcut = float(max_cutoff_diam(self.diam, self.mp))
        if np.any(self.box < 2 * self.rcut):
            raise InputError(f"box {self.box.tolist()} is smaller than twice the largest cutoff "
                             f"{self.rcut:.3f} of model {self.model.name}")
        self._width = 32
        self._cellcap = 16
        self._alloc()
        self.set_delta(delta)
        self._group_arrays()
        self.energy = self.full_energy()
        self.counts = np.zeros(5, np.int64)  # n_trans, acc_trans, n_swap, acc_swap, builds
        self.attempted = 0

    # -- bookkeeping ---------------------------------------------------------------------
    def _group_arrays(self):
        t = self.types
        ntyp = int(t.max()) + 1
        self.group = np.argsort(t, kind="stable").astype(np.int64)
        self.slot = np.empty(self.n, np.int64)
        self.slot[self.group] = np.arange(self.n)
        self.gcount = np.bincount(t, minlength=ntyp).astype(np.int64)
        self.gstart = np.concatenate([[0], np.cumsum(self.gcount)[:-1]]).astype(np.int64)
        if self.swap_kind == SWAP_TYPES and np.count_nonzero(self.gcount) < 2:
            raise InputError("type exchanges need at least two particle types present")

    def _alloc(self) -> None:
        n = self.n
        self.ref = self.pos.copy()
        self.nbr = np.zeros((n, self._width), np.int32)
        self.nn = np.zeros(n, np.int64)
        self.nnear = np.zeros(n, np.int64)
        self.nmid = np.zeros(n, np.int64)
        self.smax = partner_smax(self.types, self.diam, self.mp)
        self.cell_of = np.zeros(n, np.int64)
        self.cpos = np.zeros(n, np.int64)
        self._cells()

    def _cells(self) -> None:
        # the engine's cell grid (twolevel.engine.neighbors.cell_grid): cells rl/2 wide with >= 5
        # per side (5^d stencil: ~2.4x fewer candidates than the 3^d stencil of rl-wide cells when
        # a single row is rebuilt), else rl wide with >= 3 per side, else (small boxes) all pairs:
        # ncell = 0. ncell[d] = cells per rl (stencil half-width).
        if hasattr(self, "rl"):
            self.ncell = cell_grid(np.asarray(self.box, dtype=np.float64), 0.0, float(self.rl))
        else:
            self.ncell = np.append(np.zeros(self.dim, np.int64), 1).astype(np.int64)
        nc = self.ncell[:self.dim]
        ntot = int(np.prod(nc)) if nc[0] > 0 else 1
        if nc[0] > 0:
            per = self.n / ntot
            self._cellcap = max(self._cellcap, int(2 * per + 16))
        self.cmem = np.zeros((ntot, self._cellcap), np.int64)
        self.ccnt = np.zeros(ntot, np.int64)

    def _state(self):
        return (self.ref, self.nbr, self.nn, self.nnear, self.nmid, self.smax, self.ncell, self.cmem, self.ccnt,
                self.cell_of, self.cpos)

    def set_delta(self, delta: float) -> None:
        delta = float(delta)
        half = 0.5 * float(np.min(self.box)) / np.sqrt(self.dim)
        self.delta = min(delta, half)
        skin = max(self._skin0, 2.2 * np.sqrt(self.dim) * self.delta)
        if not hasattr(self, "skin") or skin != self.skin:
            self.skin = skin
            self.rl = self.rcut + self.skin
            self._cells()
            self._force = True

    def set_state(self, pos, diam=None, types=None) -> None:
        """Replace positions (and diameters/types) from outside (MD, checkpoint)."""
        self.pos[:] = pos
        if diam is not None and self.model.mode == 1:
            self.diam[:] = diam
        if types is not None and self.model.mode == 0:
            self.types[:] = types
            self._group_arrays()
        self.smax = partner_smax(self.types, self.diam, self.mp)
        self._force = True
        self.energy = self.full_energy()

    def full_energy(self) -> float:
        u, _ = energy_virial(self.pos, self.box, self.types, self.diam, self.mp, 0.3)
        return float(u)

    def energy_virial(self) -> tuple[float, float]:
        u, w = energy_virial(self.pos, self.box, self.types, self.diam, self.mp, 0.3)
        return float(u), float(w)

    def pressure(self) -> float:
        """P = rho T + W / (d V) (virial route) of the current configuration."""
        _, w = self.energy_virial()
        vol = float(np.prod(self.box))
        return self.n * self.temperature / vol + w / (self.dim * vol)

    # -- running ---------------------------------------------------------------------------
    def run(self, nmoves: int) -> dict:
        """Attempt ``nmoves`` moves; returns the acceptance counts of this call."""
        nmoves = int(nmoves)
        if nmoves < 0:
            raise InputError(f"number of moves must be non-negative, got {nmoves}")
        total = np.zeros(5, np.int64)
        left = nmoves
        sub = 0
        while True:
            seed = int(np.random.SeedSequence([self.seed, self.calls, sub]).generate_state(1)[0])
            out = mc_run(self.pos, self.box, self.types, self.diam, self.mp, self._state(), self.skin,
                         self.rl, 1.0 / self.temperature, self.delta, self.p_swap, left, seed,
                         self.swap_kind, self.group, self.slot, self.gstart, self.gcount, self.energy,
                         self._force)
            status, done = int(out[0]), int(out[1])
            self.energy = float(out[2])
            total += np.array(out[3:], dtype=np.int64)
            left -= done
            self._force = False
            if status == 0:
                break
            # an array overflowed: grow rows and cells, rebuild from scratch, go on
            self._width = int(self._width * 1.5) + 8
            self._cellcap = int(self._cellcap * 1.5) + 8
            self._alloc()
            self._force = True
            sub += 1
        self.calls += 1
        self.counts += total
        self.attempted += nmoves
        return {"trans": int(total[0]), "trans_acc": int(total[1]), "swap": int(total[2]),
                "swap_acc": int(total[3]), "list_updates": int(total[4])}

    def sweeps(self, k: float) -> dict:
        return self.run(int(round(k * self.n)))

    @property
    def acceptance(self) -> dict:
        c = self.counts
        return {"translation": float(c[1] / c[0]) if c[0] else float("nan"),
                "swap": float(c[3] / c[2]) if c[2] else float("nan")}

    def configuration(self, **meta) -> Configuration:
        types = self.types.copy() if self.model.mode == 0 else self.conf0.types.copy()
        diam = self.diam.copy() if self.model.mode == 1 else self.conf0.diameters.copy()
        return Configuration(self.pos.copy(), self.box.copy(), types, diam, self.model.name,
                             {**self.conf0.meta, **meta})


def tune_delta(mc: SwapMC, target: float = 0.3, rounds: int = 10, sweeps_per_round: float = 5.0) -> float:
    """Adjust the translational step towards an acceptance ``target`` (equilibration only:
    changing delta on the fly breaks detailed balance, so production runs keep it fixed)."""
    for _ in range(rounds):
        c = mc.sweeps(sweeps_per_round)
        if c["trans"] == 0:
            break
        acc = c["trans_acc"] / c["trans"]
        # multiplicative update, bounded so one noisy round cannot run away
        fac = float(np.clip((acc + 0.02) / (target + 0.02), 0.5, 2.0))
        mc.set_delta(mc.delta * fac)
    return mc.delta


class HybridSwapMD:
    """Hybrid swap MC / MD for type mixtures (002_b660eabf4d6c7be7.txt Sec. II C).

    Blocks of ``md_steps`` MD steps (default 10, dt = 0.005) alternate with
    ``swap_factor`` N attempted exchanges of the types of two particles of different types
    (default 1.75 N). The MD part is Langevin (BAOAB, friction ``gamma``): it samples the
    canonical ensemble, as the exchanges do, so the alternation keeps the Boltzmann
    distribution. The MD thermostat is a Nosé-Hoover chain by default (002 Sec. II C: "dt = 5e-3
    together with a Nosé-Hoover thermostat"; period tau = 0.5 = 100 dt), or Langevin (friction gamma).
    Exchanges keep the velocities (equal masses). Time is MD time: blocks x md_steps x dt.
    """

    def __init__(self, conf: Configuration, temperature: float, model: PairModel | str | None = None,
                 dt: float = 0.005, md_steps: int = 10, swap_factor: float = 1.75, gamma: float = 1.0,
                 seed: int = 0, skin: float = 0.5, velocities: np.ndarray | None = None,
                 thermostat: str = "nose-hoover", tau: float = 0.5):
        from .system import maxwell_boltzmann

        self.mc = SwapMC(conf, temperature, model=model, swap="types", p_swap=1.0, delta=0.01,
                         seed=seed, skin=skin)
        if dt <= 0 or md_steps < 1 or swap_factor < 0 or gamma <= 0 or tau <= 0:
            raise InputError("hybrid swap MD needs dt > 0, md_steps >= 1, swap_factor >= 0, gamma > 0, tau > 0")
        if thermostat not in ("nose-hoover", "langevin"):
            raise InputError(f"hybrid swap MD thermostat must be nose-hoover or langevin, got {thermostat!r}")
        self.dt = float(dt)
        self.md_steps = int(md_steps)
        self.n_swaps = int(round(swap_factor * self.mc.n))
        self.gamma = float(gamma)
        self.thermostat = thermostat
        self.tau = float(tau)
        # Nosé-Hoover chain state (M = 3), carried across the MD blocks: one trajectory
        self.nhc = np.zeros(6)
        self.seed = int(seed)
        self.blocks = 0
        self.md_skin = 0.3
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 7]))
        self.vel = (maxwell_boltzmann(self.mc.n, self.mc.dim, temperature, rng) if velocities is None
                    else np.array(velocities, dtype=np.float64))
        self._md_list = None

    @property
    def pos(self):
        return self.mc.pos

    @property
    def time(self) -> float:
        return self.blocks * self.md_steps * self.dt

    def run_blocks(self, nblocks: int) -> dict:
        from .md import LANGEVIN, NOSE_HOOVER, md_run

        mc = self.mc
        acc = 0
        att = 0
        for _ in range(int(nblocks)):
            if self._md_list is None:
                start, idx = build_neighbors(mc.pos, mc.box, mc.types, mc.diam, mc.mp, self.md_skin)
                self._md_list = (start, idx, mc.pos.copy())
            start, idx, ref = self._md_list
            seed = int(np.random.SeedSequence([self.seed, 11, self.blocks]).generate_state(1)[0])
            nose = self.thermostat == "nose-hoover"
            # Nosé-Hoover conserves the total momentum (zeroed at the start): d (N - 1) degrees of freedom
            dof = float(mc.dim * (mc.n - 1) if nose else mc.dim * mc.n)
            start, idx, samples, *_ = md_run(
                mc.pos, self.vel, mc.box, mc.types, mc.diam, mc.mp, start, idx, ref, self.md_skin,
                self.dt, self.md_steps, NOSE_HOOVER if nose else LANGEVIN, mc.temperature, self.tau,
                self.gamma, seed, dof, self.md_steps, self.nhc if nose else np.zeros(0))
            self._md_list = (start, idx, ref)
            mc.energy = float(samples[-1, 0])
            if self.n_swaps:
                c = mc.run(self.n_swaps)
                att += c["swap"]
                acc += c["swap_acc"]
                if c["swap_acc"]:
                    self._md_list = None     # types changed: the MD list cutoffs with them
            self.blocks += 1
        if not np.all(np.isfinite(mc.pos)):
            from ..errors import PhysicsError
            raise PhysicsError("hybrid swap MD blew up: positions are no longer finite")
        return {"swap": att, "swap_acc": acc}

    def run_time(self, t: float) -> dict:
        return self.run_blocks(int(np.ceil(t / (self.md_steps * self.dt) - 1e-9)))

    def configuration(self, **meta) -> Configuration:
        return self.mc.configuration(**meta)
