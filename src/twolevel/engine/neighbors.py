"""Neighbour lists: the one cell search of the package (issue #16), for every box geometry.

A box is its side lengths ``L`` (d,) and a tilt ``xy`` (Lees-Edwards / LAMMPS' tilted cell: the
image of a particle across the y boundary is shifted by ``xy`` along x; ``xy = 0`` is the plain
orthorhombic box). Particles are binned in fractional coordinates, so the same cells serve both
geometries; the cells are at least ``rl / ns`` wide measured perpendicular to their faces (the
x faces of a tilted box are ``L_x L_y / sqrt(L_y^2 + xy^2)`` apart), so every pair within ``rl``
lies in the ``(2 ns + 1)^d`` block of cells around a particle's cell.

Owners built on it:

- :func:`build_neighbors` here: the half Verlet list (CSR ``start, idx``, each row sorted) of the
  force kernels, MD, minimisers, bands and the sheared box (``vibrations/sheared.py``);
- the swap Monte Carlo kernel (``engine/swap.py``) keeps its own incremental per-particle rows
  (classified by distance, updated one particle at a time) but takes its cells from
  :func:`cell_grid` and :func:`cell_index`.

The list is the same whichever search finds it (cells or all pairs): the rows are sorted by
neighbour index, so the order of summation in the force kernels, and hence every trajectory, does
not depend on the cell layout.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import max_cutoff_diam, mix_sigma, padded_box

# cells per cutoff (stencil half-width) tried in this order; each needs 2 ns + 1 cells a side
_SUBDIVISIONS = (2, 1)


@njit(cache=True, error_model="numpy")
def face_widths(box, tilt):
    """Distances between opposite faces of the (possibly tilted) periodic cell."""
    d = box.shape[0]
    w = box.copy()
    if d >= 2 and tilt != 0.0:
        w[0] = box[0] * box[1] / np.sqrt(box[1] * box[1] + tilt * tilt)
    return w


@njit(cache=True, error_model="numpy")
def cell_grid(box, tilt, rl):
    """Cells per side ``(d + 1,)``: ``ncell[:d]`` and, last, ``ns`` (cells per ``rl``, the stencil
    half-width). Cells at least ``rl/2`` wide with >= 5 per side (5^d stencil: ~1.7x fewer candidates
    than 3^d cells of width rl), else ``rl`` wide with >= 3 per side, else ``ncell[:d] = 0`` (small
    box: search all pairs). The stencil is never wider than the box, so no cell is visited twice."""
    d = box.shape[0]
    w = face_widths(box, tilt)
    out = np.zeros(d + 1, np.int64)
    out[d] = 1
    for ns in _SUBDIVISIONS:
        ok = True
        for k in range(d):
            if int(np.floor(ns * w[k] / rl)) < 2 * ns + 1:
                ok = False
        if ok:
            for k in range(d):
                out[k] = int(np.floor(ns * w[k] / rl))
            out[d] = ns
            return out
    return out


@njit(cache=True, error_model="numpy", inline="always")
def fractional(x, i, k, box, binv, tilt):
    """Fractional coordinate k of particle i in [0, 1) (x is unwrapped; the tilt enters along x)."""
    if k == 0 and tilt != 0.0:
        # r = s_x a + s_y b with a = (L_x, 0), b = (xy, L_y): s_x = (x - xy s_y) / L_x, s_y unwrapped
        s = (x[i, 0] - tilt * x[i, 1] * binv[1]) * binv[0]
    else:
        s = x[i, k] * binv[k]
    s -= np.floor(s)
    if s >= 1.0:
        s = 0.0
    return s


@njit(cache=True, error_model="numpy", inline="always")
def cell_index(x, i, box, binv, tilt, ncell):
    """Linear cell index (row-major over the d axes) of particle i."""
    d = x.shape[1]
    c = 0
    for a in range(d):
        ca = int(fractional(x, i, a, box, binv, tilt) * ncell[a])
        if ca >= ncell[a]:
            ca = ncell[a] - 1
        if ca < 0:   # rounding, or a non-finite coordinate (a blown-up MD step): stay inside the grid
            ca = 0
        c = c * ncell[a] + ca
    return c


@njit(cache=True, inline="always")
def image(dx0, dx1, dx2, box, binv, tilt):
    """Minimum image of a separation in the (tilted) box: y first (it shifts x by the tilt), then
    z, then x. With ``tilt = 0`` this is the orthorhombic ``x - L rint(x / L)``."""
    ny = np.rint(dx1 * binv[1])
    dx0 -= tilt * ny
    dx1 -= box[1] * ny
    dx2 -= box[2] * np.rint(dx2 * binv[2])
    dx0 -= box[0] * np.rint(dx0 * binv[0])
    return dx0, dx1, dx2


@njit(cache=True, error_model="numpy")
def _rows_from_pairs(n, pa, pb, m):
    """CSR of the half list from unordered pairs (pa < pb): two stable counting sorts (by b, then
    by a), so each row comes out sorted by neighbour index at O(pairs + n) cost."""
    cnt = np.zeros(n + 1, np.int64)
    for q in range(m):
        cnt[pb[q] + 1] += 1
    for i in range(n):
        cnt[i + 1] += cnt[i]
    byb = np.empty(m, np.int64)
    for q in range(m):
        b = pb[q]
        byb[cnt[b]] = q
        cnt[b] += 1
    start = np.zeros(n + 1, np.int64)
    for q in range(m):
        start[pa[q] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    fill = start[:n].copy()
    idx = np.empty(m, np.int64)
    for r in range(m):
        q = byb[r]
        a = pa[q]
        idx[fill[a]] = pb[q]
        fill[a] += 1
    return start, idx


@njit(cache=True, fastmath=True, error_model="numpy")
def build_neighbors_tilted(pos, box, tilt, types, diam, mp, skin):
    """Half neighbour list (CSR ``start, idx``; rows sorted) of the pairs with r < x_c s_ij + skin
    in a box of sides ``box`` and tilt ``tilt`` (s_ij: :func:`~twolevel.engine.kernels.mix_sigma`).

    Particles are counting-sorted into cells (fractional coordinates, :func:`cell_grid`) and
    copied into contiguous arrays, so the search walks each stencil cell's members as a
    contiguous block; each cell visits half of its stencil, so each pair is tested once. Small
    boxes search all pairs. Cost O(N (2 ns + 1)^d rho (rl/ns)^d) plus two counting sorts.
    """
    n, d = pos.shape
    rl_max = max_cutoff_diam(diam, mp) + skin
    xc = mp.xc
    poly = mp.mode == 1                      # PSS: s_ij from the diameters; else the sigma table
    rl2_tab = (xc * mp.sigma + skin) ** 2
    na = mp.nonadditivity
    box3, binv3 = padded_box(box)
    ncell = cell_grid(box, tilt, rl_max)
    cap = 32 * n + 1024
    pa = np.empty(cap, np.int64)
    pb = np.empty(cap, np.int64)
    m = 0
    if ncell[0] == 0:
        for i in range(n):
            if m + n > cap:
                cap = max(2 * cap, m + n)
                pa = _regrow(pa, m, cap)
                pb = _regrow(pb, m, cap)
            ti = types[i]
            di = diam[i]
            for j in range(i + 1, n):
                dx0, dx1, dx2 = image(pos[i, 0] - pos[j, 0], pos[i, 1] - pos[j, 1],
                                      (pos[i, 2] - pos[j, 2]) if d == 3 else 0.0, box3, binv3, tilt)
                r2 = dx0 * dx0 + dx1 * dx1 + dx2 * dx2
                if poly:
                    rl = xc * mix_sigma(1.0, di, diam[j], na) + skin
                    rl2 = rl * rl
                else:
                    rl2 = rl2_tab[ti, types[j]]
                pa[m] = i
                pb[m] = j
                m += 1 if r2 < rl2 else 0
        return _rows_from_pairs(n, pa, pb, m)
    # counting sort of the particles into cells (stable: increasing index within a cell)
    ns = ncell[d]
    ntot = 1
    for k in range(d):
        ntot *= ncell[k]
    binv = 1.0 / box
    cell = np.empty(n, np.int64)
    cstart = np.zeros(ntot + 1, np.int64)
    for i in range(n):
        c = cell_index(pos, i, box, binv, tilt, ncell)
        cell[i] = c
        cstart[c + 1] += 1
    for c in range(ntot):
        cstart[c + 1] += cstart[c]
    fill = cstart[:ntot].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        order[fill[cell[i]]] = i
        fill[cell[i]] += 1
    sx = np.empty(n)
    sy = np.empty(n)
    sz = np.zeros(n)
    sd = np.empty(n)
    st = np.empty(n, np.int64)
    for q in range(n):
        i = order[q]
        sx[q] = pos[i, 0]
        sy[q] = pos[i, 1]
        if d == 3:
            sz[q] = pos[i, 2]
        sd[q] = diam[i]
        st[q] = types[i]
    # the grid as (g0, g1, g2) cells with the last axis innermost (d = 2: g0 = 1)
    g0 = ncell[0] if d == 3 else 1
    g1 = ncell[1] if d == 3 else ncell[0]
    g2 = ncell[2] if d == 3 else ncell[1]
    h0 = ns if d == 3 else 0
    bx = np.empty(n)
    by = np.empty(n)
    bz = np.empty(n)
    bd = np.empty(n)
    bt = np.empty(n, np.int64)
    bj = np.empty(n, np.int64)
    keep = np.empty(n, np.bool_)
    nrmax = 2 * (2 * h0 + 1) * (2 * ns + 1) + 3
    lo = np.empty(nrmax, np.int64)
    hi = np.empty(nrmax, np.int64)
    for c in range(ntot):
        p0 = cstart[c]
        p1 = cstart[c + 1]
        if p1 == p0:
            continue
        c2 = c % g2
        c1 = (c // g2) % g1
        c0 = c // (g2 * g1)
        # half of the stencil (offsets after (0, 0, 0) in lexicographic order), as contiguous
        # ranges of the sorted arrays: along the last axis the cells are consecutive, split in
        # two where they wrap. Every unordered pair of cells is visited once (offsets in
        # [-ns, ns] name distinct cells because each axis has >= 2 ns + 1 of them).
        lo[0] = p0                # the cell's own members first
        hi[0] = p1
        nr = 1
        for e0 in range(-h0, h0 + 1):
            for e1 in range(-ns, ns + 1):
                if e0 < 0 or (e0 == 0 and e1 < 0):
                    continue
                base = (((c0 + e0) % g0) * g1 + (c1 + e1) % g1) * g2
                z0 = c2 + 1 if (e0 == 0 and e1 == 0) else c2 - ns
                z1 = c2 + ns + 1
                if z0 < 0:
                    lo[nr] = cstart[base + z0 + g2]
                    hi[nr] = cstart[base + g2]
                    nr += 1
                    z0 = 0
                if z1 > g2:
                    lo[nr] = cstart[base]
                    hi[nr] = cstart[base + z1 - g2]
                    nr += 1
                    z1 = g2
                lo[nr] = cstart[base + z0]
                hi[nr] = cstart[base + z1]
                nr += 1
        # the candidates of this cell's particles: its own members after them, then the
        # half-stencil cells, gathered into one contiguous buffer behind the own members
        nb = 0
        for r in range(nr):
            for q in range(lo[r], hi[r]):
                bx[nb] = sx[q]
                by[nb] = sy[q]
                bz[nb] = sz[q]
                bd[nb] = sd[q]
                bt[nb] = st[q]
                bj[nb] = order[q]
                nb += 1
        if m + (p1 - p0) * nb > cap:
            cap = max(2 * cap, m + (p1 - p0) * nb)
            pa = _regrow(pa, m, cap)
            pb = _regrow(pb, m, cap)
        for p in range(p0, p1):
            i = order[p]
            k0 = p - p0 + 1          # own-cell members after p, then the stencil
            xi0 = sx[p]
            xi1 = sy[p]
            xi2 = sz[p]
            # branch-free distance and cutoff test (vectorised), then the compaction
            if poly:
                di = sd[p]
                for q in range(k0, nb):
                    dx0, dx1, dx2 = image(xi0 - bx[q], xi1 - by[q], xi2 - bz[q], box3, binv3, tilt)
                    rl = xc * mix_sigma(1.0, di, bd[q], na) + skin
                    keep[q] = dx0 * dx0 + dx1 * dx1 + dx2 * dx2 < rl * rl
            else:
                row = rl2_tab[st[p]]
                for q in range(k0, nb):
                    dx0, dx1, dx2 = image(xi0 - bx[q], xi1 - by[q], xi2 - bz[q], box3, binv3, tilt)
                    keep[q] = dx0 * dx0 + dx1 * dx1 + dx2 * dx2 < row[bt[q]]
            m0 = m
            for q in range(k0, nb):
                pb[m] = bj[q]
                m += keep[q]
            pa[m0:m] = i
    _order_pairs(pa, pb, m)
    return _rows_from_pairs(n, pa, pb, m)


@njit(cache=True, error_model="numpy")
def _order_pairs(pa, pb, m):
    """(a, b) -> (min, max) in place, after the search (kept out of its inner loop, where the
    data-dependent branch cost more than the distance)."""
    for q in range(m):
        a = pa[q]
        b = pb[q]
        if a > b:
            pa[q] = b
            pb[q] = a


@njit(cache=True, error_model="numpy")
def _regrow(a, m, cap):
    new = np.empty(cap, np.int64)
    new[:m] = a[:m]
    return new


@njit(cache=True, error_model="numpy")
def build_neighbors(pos, box, types, diam, mp, skin):
    """Half neighbour list of the orthorhombic box (:func:`build_neighbors_tilted` with no tilt)."""
    return build_neighbors_tilted(pos, box, 0.0, types, diam, mp, skin)


@njit(cache=True, fastmath=True, error_model="numpy")
def prune_neighbors(pos, box, types, diam, mp, skin, start_o, idx_o):
    """The half list of :func:`build_neighbors` (radius x_c s_ij + ``skin``) taken from a list of
    larger radius (``start_o, idx_o``, built with a larger skin): dynamic pruning as GROMACS' dual
    pair list (Páll et al., J. Chem. Phys. 153, 134110 (2020)). Valid while every particle moved
    less than (outer skin - skin) / 2 since the outer list was built (the caller checks with
    :func:`needs_rebuild`). Same test, same arithmetic and the outer rows' order (sorted), so the
    result equals a cell search's list: trajectories do not depend on which one made it.

    Per row: gather the neighbours into contiguous buffers, test them in a branch-free loop
    (vectorised), compact (as the cell search does)."""
    n, d = pos.shape
    xc = mp.xc
    poly = mp.mode == 1
    rl2_tab = (xc * mp.sigma + skin) ** 2
    na = mp.nonadditivity
    box3, binv3 = padded_box(box)
    mx = 1
    for i in range(n):
        mx = max(mx, start_o[i + 1] - start_o[i])
    bx = np.empty(mx)
    by = np.empty(mx)
    bz = np.empty(mx)
    br = np.empty(mx)
    keep = np.empty(mx, np.bool_)
    p = np.zeros((n, 3))
    for i in range(n):
        for k in range(d):
            p[i, k] = pos[i, k]
    start = np.zeros(n + 1, np.int64)
    idx = np.empty(start_o[n], np.int64)
    m = 0
    for i in range(n):
        s0 = start_o[i]
        mr = start_o[i + 1] - s0
        xi0 = p[i, 0]
        xi1 = p[i, 1]
        xi2 = p[i, 2]
        if poly:
            di = diam[i]
            for q in range(mr):
                j = idx_o[s0 + q]
                bx[q] = xi0 - p[j, 0]
                by[q] = xi1 - p[j, 1]
                bz[q] = xi2 - p[j, 2]
                br[q] = diam[j]
            for q in range(mr):
                dx0, dx1, dx2 = image(bx[q], by[q], bz[q], box3, binv3, 0.0)
                rl = xc * mix_sigma(1.0, di, br[q], na) + skin
                keep[q] = dx0 * dx0 + dx1 * dx1 + dx2 * dx2 < rl * rl
        else:
            row = rl2_tab[types[i]]
            for q in range(mr):
                j = idx_o[s0 + q]
                bx[q] = xi0 - p[j, 0]
                by[q] = xi1 - p[j, 1]
                bz[q] = xi2 - p[j, 2]
                br[q] = row[types[j]]
            for q in range(mr):
                dx0, dx1, dx2 = image(bx[q], by[q], bz[q], box3, binv3, 0.0)
                keep[q] = dx0 * dx0 + dx1 * dx1 + dx2 * dx2 < br[q]
        for q in range(mr):
            idx[m] = idx_o[s0 + q]
            m += keep[q]
        start[i + 1] = m
    return start, idx[:m].copy()


@njit(cache=True, error_model="numpy")
def refresh(pos, box, types, diam, mp, skin, outer_skin, start_o, idx_o, ref_o, have_outer, new_outer):
    """A new list of radius x_c s_ij + ``skin`` at ``pos``: the one rule of the two lists, for MD,
    the compiled L-BFGS and ParticleSystem alike. Pruned (:func:`prune_neighbors`) from the outer
    list (``start_o, idx_o`` built at ``ref_o`` with ``outer_skin``) while every particle is within
    (outer_skin - skin)/2 of ``ref_o``; else, when ``new_outer``, a cell search with
    ``outer_skin`` at ``pos`` (``ref_o`` updated in place) and the prune; else a cell search with
    ``skin``. ``outer_skin <= skin`` is the plain cell search. Returns (start, idx, start_o, idx_o,
    have_outer, 1 if the outer list was searched anew else 0). Every branch gives the same list."""
    if outer_skin > skin:
        if have_outer and not needs_rebuild(pos, ref_o, outer_skin - skin):
            start, idx = prune_neighbors(pos, box, types, diam, mp, skin, start_o, idx_o)
            return start, idx, start_o, idx_o, True, 0
        if new_outer:
            start_o, idx_o = build_neighbors(pos, box, types, diam, mp, outer_skin)
            ref_o[:] = pos
            start, idx = prune_neighbors(pos, box, types, diam, mp, skin, start_o, idx_o)
            return start, idx, start_o, idx_o, True, 1
    start, idx = build_neighbors(pos, box, types, diam, mp, skin)
    return start, idx, start_o, idx_o, have_outer, 0


@njit(cache=True, error_model="numpy")
def needs_rebuild(pos, ref, skin):
    """True when any particle moved more than skin/2 since the list was built."""
    n, d = pos.shape
    lim = 0.25 * skin * skin
    for i in range(n):
        r2 = 0.0
        for k in range(d):
            dx = pos[i, k] - ref[i, k]
            r2 += dx * dx
        if r2 > lim:
            return True
    return False
