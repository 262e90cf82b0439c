"""Compiled kernels of the DPLM (numba, cache=True, nogil).

Model: 000_ac86d19d448073de.txt Sec. II. Energy E = sum over occupied nearest
neighbour pairs of V_{s_i s_j} (Eq. (2)); a particle hops into a neighbouring
void at the Metropolis rate w0 min(1, exp(-dE/T)) (Eq. (3)).

Memory stays O(N):
- the a-priori V_kl (drawn from g) come from a counter-based hash of
  (min(k,l), max(k,l), seed) -- splitmix64 -- so the same pair always gets the
  same value and nothing is stored;
- the pairs that were nearest neighbours in the equilibrium start carry values
  drawn from p_eq (Eq. (A14)); they are stored per particle, indexed by the
  direction in which the partner sat: ``initN[k, d]`` (partner id or -1) and
  ``initV[k, d]``. A look-up scans those z entries, then falls back to the hash.
- ``bondE[i, d]`` caches the current bond energy between the occupants of site
  i and of its neighbour along d (0 if either is a void), so the energy a
  particle loses by leaving needs no look-up.

Rejection-free kinetic Monte Carlo (BKL / n-fold way): every void has z hop
"slots" (void v, direction d: the particle at nbr[site_v, d] hops into the
void). Their rates sit in the leaves of a binary sum tree (O(log n) update and
selection), time advances by exponential waiting times.
"""

from __future__ import annotations

import numpy as np
from numba import njit

U64 = np.uint64
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV53 = 1.0 / 9007199254740992.0


# --------------------------------------------------------------------------- hashing / RNG
@njit(cache=True, inline="always", error_model="numpy")
def splitmix64(x):
    z = x + _GOLD
    z = (z ^ (z >> U64(30))) * _M1
    z = (z ^ (z >> U64(27))) * _M2
    return z ^ (z >> U64(31))


@njit(cache=True, inline="always", error_model="numpy")
def pair_uniform(k, l, seedm):
    """Uniform [0,1) for the unordered particle pair {k, l}: splitmix64(key ^ seed)."""
    a = k if k < l else l
    b = l if k < l else k
    key = (U64(a) << U64(32)) | U64(b)
    x = splitmix64(key ^ seedm)
    return np.float64(x >> U64(11)) * _INV53


@njit(cache=True, inline="always", error_model="numpy")
def _rotl(x, k):
    return (x << U64(k)) | (x >> U64(64 - k))


@njit(cache=True, inline="always", error_model="numpy")
def rng_next(s):
    """xoshiro256** step on the state array s (4 x uint64)."""
    result = _rotl(s[1] * U64(5), 7) * U64(9)
    t = s[1] << U64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True, inline="always", error_model="numpy")
def rng_uniform(s):
    return np.float64(rng_next(s) >> U64(11)) * _INV53


def rng_state(seed: int) -> np.ndarray:
    """xoshiro256** state seeded through splitmix64 (pure Python, reproducible)."""
    out = np.empty(4, dtype=np.uint64)
    x = int(seed) & 0xFFFFFFFFFFFFFFFF
    for i in range(4):
        x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        out[i] = z ^ (z >> 31)
    return out


def mix_seed(seed: int) -> np.uint64:
    return np.uint64(int(splitmix64(np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF))))


# --------------------------------------------------------------------------- g(V) sampling
@njit(cache=True, inline="always", error_model="numpy")
def sample_g(u, gkind, ga, gb, gtab):
    """Inverse CDF: exact affine map for a uniform g (gkind 0), else linear interpolation in gtab."""
    if gkind == 0:
        return ga + gb * u
    x = u * (gtab.shape[0] - 1)
    i = int(x)
    if i >= gtab.shape[0] - 1:
        i = gtab.shape[0] - 2
    f = x - i
    return gtab[i] + f * (gtab[i + 1] - gtab[i])


@njit(cache=True, inline="always", error_model="numpy")
def pair_V(k, l, initN, initV, gkind, ga, gb, gtab, seedm):
    """V_kl: the stored p_eq value if k and l were neighbours at the start, else the hash draw from g."""
    z = initN.shape[1]
    for i in range(z):
        if initN[k, i] == l:
            return initV[k, i]
    return sample_g(pair_uniform(k, l, seedm), gkind, ga, gb, gtab)


@njit(cache=True, error_model="numpy")
def pair_V_many(ks, ls, initN, initV, gkind, ga, gb, gtab, seedm):
    out = np.empty(ks.shape[0])
    for i in range(ks.shape[0]):
        out[i] = pair_V(ks[i], ls[i], initN, initV, gkind, ga, gb, gtab, seedm)
    return out


@njit(cache=True, error_model="numpy")
def apriori_V_many(ks, ls, gkind, ga, gb, gtab, seedm):
    out = np.empty(ks.shape[0])
    for i in range(ks.shape[0]):
        out[i] = sample_g(pair_uniform(ks[i], ls[i], seedm), gkind, ga, gb, gtab)
    return out


# --------------------------------------------------------------------------- direct construction
@njit(cache=True, nogil=True, error_model="numpy")
def lattice_gas_voids(nbr, occ_void, void_site, log_z1, nmoves, rng):
    """Sample void positions with weight z1^(n_vv) (n_vv: void-void contacts).

    Integrating out the bond energies of the DPLM (Zhang & Lam 2017, 000 Ref. [19]),
    a void configuration has weight z1^(n_b), n_b = number of particle-particle bonds
    = const - z n_v + n_vv, with z1 = integral g(V) exp(-V/T_I) dV. Metropolis moves
    of a random void to a random particle site anywhere (non-local Kawasaki moves).
    ``occ_void[site]`` is True on voids. Returns the number of accepted moves.
    """
    nsites, z = nbr.shape
    nv = void_site.shape[0]
    acc = 0
    if nv == 0 or nv == nsites:
        return 0
    for _ in range(nmoves):
        v = int(rng_uniform(rng) * nv)
        a = void_site[v]
        t = int(rng_uniform(rng) * nsites)
        if occ_void[t]:
            continue
        c_old = 0
        for d in range(z):
            if occ_void[nbr[a, d]]:
                c_old += 1
        c_new = 0
        for d in range(z):
            j = nbr[t, d]
            if j != a and occ_void[j]:
                c_new += 1
        dn = c_new - c_old
        if dn <= 0 or rng_uniform(rng) < np.exp(dn * log_z1):
            occ_void[a] = False
            occ_void[t] = True
            void_site[v] = t
            acc += 1
    return acc


@njit(cache=True, nogil=True, error_model="numpy")
def place_particles_and_bonds(nbr, occ_void, occ, void_site, initN, initV, bondE, peq_kind, pa, pb, peq_tab, rng):
    """Random particle labels on the occupied sites; p_eq-drawn energies for every occupied bond.

    000 Eq. (A14): at equilibrium an occupied bond's V follows p_eq(V) ~ g(V) exp(-V/T_I).
    ``peq_kind`` 0: truncated exponential (uniform g) V = pa - pb*log(1 - u*(1-exp(-dV/T))),
    passed as pa = V0, pb = T_I and peq_tab[0] = 1 - exp(-dV/T_I); else table look-up.
    Returns the total energy E (Eq. (2)).
    """
    nsites, z = nbr.shape
    N = initN.shape[0]
    labels = np.arange(N).astype(np.int32)
    for i in range(N - 1, 0, -1):  # Fisher-Yates
        j = int(rng_uniform(rng) * (i + 1))
        tmp = labels[i]
        labels[i] = labels[j]
        labels[j] = tmp
    p = 0
    nv = 0
    for s in range(nsites):
        if occ_void[s]:
            occ[s] = -(nv + 1)
            void_site[nv] = s
            nv += 1
        else:
            occ[s] = labels[p]
            p += 1
    initN[:, :] = -1
    initV[:, :] = 0.0
    bondE[:, :] = 0.0
    E = 0.0
    for s in range(nsites):
        k = occ[s]
        if k < 0:
            continue
        for d in range(0, z, 2):  # each bond once: even directions
            j = nbr[s, d]
            l = occ[j]
            if l < 0:
                continue
            u = rng_uniform(rng)
            if peq_kind == 0:
                V = pa - pb * np.log(1.0 - u * peq_tab[0])
            else:
                V = sample_g(u, 1, 0.0, 1.0, peq_tab)
            initN[k, d] = l
            initV[k, d] = V
            initN[l, d ^ 1] = k
            initV[l, d ^ 1] = V
            bondE[s, d] = V
            bondE[j, d ^ 1] = V
            E += V
    return E


@njit(cache=True, nogil=True, error_model="numpy")
def total_energy(nbr, occ, initN, initV, gkind, ga, gb, gtab, seedm):
    """E of Eq. (2) from scratch through pair_V (checks the cached bondE and the running E)."""
    nsites, z = nbr.shape
    E = 0.0
    for s in range(nsites):
        k = occ[s]
        if k < 0:
            continue
        for d in range(0, z, 2):
            l = occ[nbr[s, d]]
            if l >= 0:
                E += pair_V(k, l, initN, initV, gkind, ga, gb, gtab, seedm)
    return E


@njit(cache=True, nogil=True, error_model="numpy")
def bond_energies(nbr, occ, bondE):
    """All current occupied-bond energies (each bond once) from the cache."""
    nsites, z = nbr.shape
    n = 0
    for s in range(nsites):
        if occ[s] < 0:
            continue
        for d in range(0, z, 2):
            if occ[nbr[s, d]] >= 0:
                n += 1
    out = np.empty(n)
    n = 0
    for s in range(nsites):
        if occ[s] < 0:
            continue
        for d in range(0, z, 2):
            if occ[nbr[s, d]] >= 0:
                out[n] = bondE[s, d]
                n += 1
    return out


# --------------------------------------------------------------------------- KMC
@njit(cache=True, inline="always", error_model="numpy")
def _compute_slot(v, d, a, nbr, occ, bondE, initN, initV, gkind, ga, gb, gtab, seedm, dE, newV):
    """dE of the hop of the particle at nbr[a, d] into void v at site a; caches the new bond values."""
    z = nbr.shape[1]
    slot = v * z + d
    s = nbr[a, d]
    k = occ[s]
    if k < 0:
        dE[slot] = np.inf  # neighbour is a void: no hop
        for dd in range(z):
            newV[slot, dd] = 0.0
        return
    eold = 0.0
    for dd in range(z):
        eold += bondE[s, dd]
    enew = 0.0
    for dd in range(z):
        if dd == d:
            newV[slot, dd] = 0.0
            continue
        m = occ[nbr[a, dd]]
        if m >= 0:
            val = pair_V(k, m, initN, initV, gkind, ga, gb, gtab, seedm)
            newV[slot, dd] = val
            enew += val
        else:
            newV[slot, dd] = 0.0
    dE[slot] = enew - eold


@njit(cache=True, inline="always", error_model="numpy")
def _rate(de, invT):
    # 000 Eq. (3) divided by w0: min(1, exp(-dE/T))
    if de <= 0.0:
        return 1.0
    return np.exp(-de * invT)


@njit(cache=True, inline="always", error_model="numpy")
def _tree_fix(tree, lo, hi):
    """Recompute the ancestors of the leaves lo..hi (contiguous), level by level."""
    lo >>= 1
    hi >>= 1
    while lo >= 1:
        for i in range(lo, hi + 1):
            tree[i] = tree[2 * i] + tree[2 * i + 1]
        lo >>= 1
        hi >>= 1


@njit(cache=True, nogil=True, error_model="numpy")
def init_slots(nbr, occ, void_site, bondE, initN, initV, gkind, ga, gb, gtab, seedm, dE, newV):
    nv = void_site.shape[0]
    z = nbr.shape[1]
    for v in range(nv):
        a = void_site[v]
        for d in range(z):
            _compute_slot(v, d, a, nbr, occ, bondE, initN, initV, gkind, ga, gb, gtab, seedm, dE, newV)


@njit(cache=True, nogil=True, error_model="numpy")
def set_rates(dE, tree, M, invT):
    """All leaves for temperature 1/invT, then the tree bottom-up: O(n)."""
    n = dE.shape[0]
    for i in range(n):
        tree[M + i] = _rate(dE[i], invT)
    for i in range(M + n, 2 * M):
        tree[i] = 0.0
    for i in range(M - 1, 0, -1):
        tree[i] = tree[2 * i] + tree[2 * i + 1]


@njit(cache=True, nogil=True, error_model="numpy")
def kmc_run(nbr, nb2, blk, bnb, bcount, bmod, bk_site, bk_sum, bk_dE, bk_newV, bk_rate, bk_invT,
            al_dE, al_newV, al_rate, al_invT, ustamp, vlast,
            occ, void_site, bondE, initN, initV, gkind, ga, gb, gtab, seedm,
            dE, newV, tree, M, dvec, pdisp, vdisp, prevp, prevv, rng,
            invT, w0, t_stop, max_events, acc, cnt,
            mapon, site_time, varrive, vis_site, vis_time, vis_n,
            vtrack, ptrack, tr_t, tr_who, tr_pos):
    """Advance the BKL kinetic Monte Carlo at fixed T = 1/invT until time t_stop or max_events.

    acc: [t, E, Eref, int (E-Eref) dt, int (E-Eref)^2 dt]   (updated in place)
    cnt: [events, particle hops with a previous hop, particle returns,
          void hops with a previous hop, void returns, trace length]
    When the next event would fall beyond t_stop the clock stops at t_stop
    (exact for piecewise-constant rates: exponential waiting times are memoryless).
    Returns the number of events done.
    """
    z = nbr.shape[1]
    dim = dvec.shape[1]
    t = acc[0]
    E = acc[1]
    Eref = acc[2]
    iE = acc[3]
    iE2 = acc[4]
    oldb = np.empty(z)
    found = np.empty(64, dtype=np.int64)
    n = 0
    trcap = tr_t.shape[0]
    K = vis_site.shape[1]
    while n < max_events:
        R = tree[1]
        if R <= 0.0:
            dt = t_stop - t
            x = E - Eref
            iE += x * dt
            iE2 += x * x * dt
            t = t_stop
            break
        u = rng_uniform(rng)
        dt = -np.log(1.0 - u) / (w0 * R)
        if t + dt >= t_stop:
            dt = t_stop - t
            x = E - Eref
            iE += x * dt
            iE2 += x * x * dt
            t = t_stop
            break
        x = E - Eref
        iE += x * dt
        iE2 += x * x * dt
        t += dt
        # ---- select a slot: descend the sum tree
        while True:
            r = rng_uniform(rng) * tree[1]
            i = 1
            while i < M:  # branch-free descent
                tl = tree[2 * i]
                go = r >= tl
                r -= tl if go else 0.0
                i = 2 * i + (1 if go else 0)
            slot = i - M
            if tree[i] > 0.0:
                break
        v = slot // z
        d = slot - v * z
        a = void_site[v]
        s = nbr[a, d]
        k = occ[s]
        dEv = dE[slot]
        # ---- bonds: k leaves s, arrives at a
        for dd in range(z):
            oldb[dd] = bondE[s, dd]
            j = nbr[s, dd]
            if occ[j] >= 0:
                bondE[j, dd ^ 1] = 0.0
            bondE[s, dd] = 0.0
        for dd in range(z):
            val = newV[slot, dd]
            bondE[a, dd] = val
            if dd != d:
                j = nbr[a, dd]
                if occ[j] >= 0:
                    bondE[j, dd ^ 1] = val
        occ[a] = k
        occ[s] = -(v + 1)
        void_site[v] = s
        E += dEv
        ba = blk[a]
        bs = blk[s]
        if ba != bs:
            bcount[ba] -= 1
            bcount[bs] += 1
        # ---- displacements, returns
        for c in range(dim):
            pdisp[k, c] += dvec[d ^ 1, c]
            vdisp[v, c] += dvec[d, c]
        if prevp[k] >= 0:
            cnt[1] += 1
            if prevp[k] == a:
                cnt[2] += 1
        prevp[k] = s
        if prevv[v] >= 0:
            cnt[3] += 1
            if prevv[v] == s:
                cnt[4] += 1
        prevv[v] = a
        if mapon:
            dw = t - varrive[v]
            site_time[a] += dw
            varrive[v] = t
            nvis = vis_n[v]
            hit = False
            for q in range(min(nvis, K)):
                if vis_site[v, q] == a:
                    vis_time[v, q] += dw
                    hit = True
                    break
            if not hit:
                if nvis < K:
                    vis_site[v, nvis] = a
                    vis_time[v, nvis] = dw
                vis_n[v] = nvis + 1
            if vis_n[v] <= K:
                hit = False
                for q in range(min(vis_n[v], K)):
                    if vis_site[v, q] == s:
                        hit = True
                        break
                if not hit:
                    if vis_n[v] < K:
                        vis_site[v, vis_n[v]] = s
                        vis_time[v, vis_n[v]] = 0.0
                    vis_n[v] += 1
        if trcap > 0:
            if vtrack[v] >= 0 and cnt[5] < trcap:
                p = cnt[5]
                tr_t[p] = t
                tr_who[p] = vtrack[v]
                for c in range(dim):
                    tr_pos[p, c] = vdisp[v, c]
                cnt[5] += 1
            if ptrack[k] >= 0 and cnt[5] < trcap:
                p = cnt[5]
                tr_t[p] = t
                tr_who[p] = -(ptrack[k] + 1)
                for c in range(dim):
                    tr_pos[p, c] = pdisp[k, c]
                cnt[5] += 1
        # ---- slots of the moved void (now at s)
        # TLS shortcut: if v returns to the site it left last time and no other event
        # happened in the blocks around that site since (block modification sums agree),
        # its slots there are exactly the saved ones; swap saved and current slots.
        bmod[ba] += 1
        if bs != ba:
            bmod[bs] += 1
        ssum = 0
        for q2 in range(bnb.shape[1]):
            ssum += bmod[bnb[bs, q2]]
        base = v * z
        gid = cnt[0] + n + 1  # unique id of this event (> 0)
        short = bk_site[v] == s and bk_sum[v] == ssum - 1 - (1 if bs != ba else 0)
        if short:
            reuse = bk_invT[v] == invT  # saved rates were computed at this temperature
            for dd in range(z):
                tmp = bk_dE[v, dd]
                bk_dE[v, dd] = dE[base + dd]
                dE[base + dd] = tmp
                for e in range(z):
                    tmp = bk_newV[v, dd, e]
                    bk_newV[v, dd, e] = newV[base + dd, e]
                    newV[base + dd, e] = tmp
                rold = tree[M + base + dd]
                tree[M + base + dd] = bk_rate[v, dd] if reuse else _rate(dE[base + dd], invT)
                bk_rate[v, dd] = rold
            bk_invT[v] = invT
            bk_site[v] = a
        else:
            for dd in range(z):
                bk_dE[v, dd] = dE[base + dd]
                bk_rate[v, dd] = tree[M + base + dd]
                for e in range(z):
                    bk_newV[v, dd, e] = newV[base + dd, e]
            bk_invT[v] = invT
            bk_site[v] = a
            rev = d ^ 1
            for dd in range(z):
                sl = base + dd
                if dd == rev:
                    dE[sl] = -dEv  # the way back: exactly minus the hop just made
                    for e in range(z):
                        newV[sl, e] = oldb[e] if e != rev else 0.0
                else:
                    _compute_slot(v, dd, s, nbr, occ, bondE, initN, initV, gkind, ga, gb, gtab, seedm, dE, newV)
                tree[M + sl] = _rate(dE[sl], invT)
        # sum of block modifications around a, as seen right after this event
        asum = 0
        for q2 in range(bnb.shape[1]):
            asum += bmod[bnb[ba, q2]]
        bk_sum[v] = asum
        _tree_fix(tree, M + base, M + base + z - 1)
        # ---- other voids within distance 2 of a or s (their slots depend on the sites a, s)
        nf = 0
        nn2 = nb2.shape[1]
        crowd = 0
        for q2 in range(bnb.shape[1]):
            crowd += bcount[bnb[ba, q2]]
        for c0 in range(2 if crowd > 1 else 0):
            cs = a if c0 == 0 else s
            for q2 in range(nn2):
                o1 = occ[nb2[cs, q2]]
                if o1 < 0 and o1 != -(v + 1):
                    u1 = -o1 - 1
                    dup = False
                    for q in range(nf):
                        if found[q] == u1:
                            dup = True
                            break
                    if not dup and nf < 64:
                        found[nf] = u1
                        nf += 1
        # Neighbour-void shortcut: when v exactly undoes its previous hop (short) and a
        # neighbour void u1 was last touched by that very hop (ustamp == vlast[v]), every
        # site u1's slots depend on is back to its state before that hop, so u1's slots
        # are the ones saved then (al_*): swap instead of recomputing.
        vprev = vlast[v]
        for q in range(nf):
            u1 = found[q]
            ub = u1 * z
            if short and ustamp[u1] == vprev:
                reuse = al_invT[u1] == invT
                for dd in range(z):
                    tmp = al_dE[u1, dd]
                    al_dE[u1, dd] = dE[ub + dd]
                    dE[ub + dd] = tmp
                    for e in range(z):
                        tmp = al_newV[u1, dd, e]
                        al_newV[u1, dd, e] = newV[ub + dd, e]
                        newV[ub + dd, e] = tmp
                    rold = tree[M + ub + dd]
                    tree[M + ub + dd] = al_rate[u1, dd] if reuse else _rate(dE[ub + dd], invT)
                    al_rate[u1, dd] = rold
            else:
                b = void_site[u1]
                for dd in range(z):
                    al_dE[u1, dd] = dE[ub + dd]
                    al_rate[u1, dd] = tree[M + ub + dd]
                    for e in range(z):
                        al_newV[u1, dd, e] = newV[ub + dd, e]
                    _compute_slot(u1, dd, b, nbr, occ, bondE, initN, initV, gkind, ga, gb, gtab, seedm, dE, newV)
                    tree[M + ub + dd] = _rate(dE[ub + dd], invT)
            al_invT[u1] = invT
            ustamp[u1] = gid
            _tree_fix(tree, M + ub, M + ub + z - 1)
        ustamp[v] = gid
        vlast[v] = gid
        n += 1
    acc[0] = t
    acc[1] = E
    acc[3] = iE
    acc[4] = iE2
    cnt[0] += n
    return n
