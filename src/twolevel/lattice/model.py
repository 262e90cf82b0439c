"""The DPLM system: lattice, g(V), the equilibrium start and the KMC state.

000_ac86d19d448073de.txt Sec. II (model), Sec. III (direct construction at T_I,
Zhang & Lam 2017 = Ref. [19]). One :class:`DPLM` object owns every array of a
sample; :meth:`DPLM.advance` runs the compiled BKL kernel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from . import kernels as K
from .gdist import GDist
from .geometry import Geometry, make_geometry

W0_DEFAULT = 1.0e6  # 000 Eq. (3): w0 = 10^6


@dataclass
class Setup:
    seconds: float
    void_moves: int
    void_accepted: int
    n_vv: int  # void-void contacts after the start


class DPLM:
    """One sample of the distinguishable-particle lattice model.

    Parameters
    ----------
    kind, L : lattice ("square", "triangular", "cubic") and its linear size.
    phi_v : void density, N = L^d - round(phi_v L^d) particles.
    g : interaction distribution (:mod:`twolevel.lattice.gdist`).
    seed : one integer; the bond-energy hash and the KMC random stream derive from it.
    w0 : attempt rate of Eq. (3).
    """

    def __init__(self, kind: str, L: int, phi_v: float, g: GDist, seed: int = 0, w0: float = W0_DEFAULT,
                 ppf_points: int = 1 << 16):
        self.geom: Geometry = make_geometry(kind, L)
        if not 0.0 < phi_v < 1.0:
            raise InputError(f"lattice.phi_v: must be in (0, 1) (got {phi_v})")
        nsites = self.geom.nsites
        self.nv = int(round(phi_v * nsites))
        if self.nv < 1:
            raise InputError(f"lattice.phi_v: {phi_v} gives no void on {nsites} sites")
        self.N = nsites - self.nv
        self.phi_v = self.nv / nsites
        self.g = g
        self.seed = int(seed)
        self.w0 = float(w0)
        self.seedm = K.mix_seed(self.seed * 2 + 1)
        self.rng = K.rng_state(self.seed * 2 + 2)
        if g.uniform is not None:
            self.gkind, self.ga, self.gb = 0, float(g.uniform[0]), float(g.uniform[1])
            self.gtab = np.zeros(2)
        else:
            self.gkind, self.ga, self.gb = 1, 0.0, 1.0
            self.gtab = g.ppf_table(ppf_points)
        z, dim = self.geom.z, self.geom.dim
        self.occ = np.empty(nsites, dtype=np.int32)
        self.void_site = np.empty(self.nv, dtype=np.int32)
        self.bondE = np.zeros((nsites, z))
        self.initN = np.full((self.N, z), -1, dtype=np.int32)
        self.initV = np.zeros((self.N, z))
        nslots = self.nv * z
        self.M = 1 << max(1, int(np.ceil(np.log2(nslots))))
        self.dE = np.zeros(nslots)
        self.newV = np.zeros((nslots, z))
        self.tree = np.zeros(2 * self.M)
        self.pdisp = np.zeros((self.N, dim), dtype=np.int32)
        self.vdisp = np.zeros((self.nv, dim), dtype=np.int32)
        self.prevp = np.full(self.N, -1, dtype=np.int32)
        self.prevv = np.full(self.nv, -1, dtype=np.int32)
        self.acc = np.zeros(5)  # t, E, Eref, int E dt, int E^2 dt
        self.cnt = np.zeros(6, dtype=np.int64)
        self.T = np.nan
        self.T_I = np.nan
        # map / visit / trace buffers (inactive until used)
        self.mapon = False
        self.site_time = np.zeros(1)
        self.varrive = np.zeros(self.nv)
        self.vis_site = np.zeros((1, 1), dtype=np.int32)
        self.vis_time = np.zeros((1, 1))
        self.vis_n = np.zeros(1, dtype=np.int32)
        self.vtrack = np.full(self.nv, -1, dtype=np.int32)
        self.ptrack = np.full(1, -1, dtype=np.int32)
        self.tr_t = np.zeros(0)
        self.tr_who = np.zeros(0, dtype=np.int32)
        self.tr_pos = np.zeros((0, dim), dtype=np.int32)
        self.setup: Setup | None = None
        # TLS shortcut of the kernel: per-block modification counters and saved slots
        self.bmod = np.zeros(self.geom.bnb.shape[0], dtype=np.int64)
        self.bcount = np.zeros(self.geom.bnb.shape[0], dtype=np.int32)
        self.bk_site = np.full(self.nv, -1, dtype=np.int32)
        self.bk_sum = np.zeros(self.nv, dtype=np.int64)
        self.bk_dE = np.zeros((self.nv, z))
        self.bk_newV = np.zeros((self.nv, z, z))
        self.bk_rate = np.zeros((self.nv, z))
        self.bk_invT = np.full(self.nv, np.nan)
        # neighbour-void shortcut: slots saved before the last recomputation, event stamps
        self.al_dE = np.zeros((self.nv, z))
        self.al_newV = np.zeros((self.nv, z, z))
        self.al_rate = np.zeros((self.nv, z))
        self.al_invT = np.full(self.nv, np.nan)
        self.ustamp = np.full(self.nv, -2, dtype=np.int64)
        self.vlast = np.full(self.nv, -1, dtype=np.int64)

    # ------------------------------------------------------------------ start
    def start(self, T_I: float, method: str = "direct", void_sweeps: int = 30) -> Setup:
        """Equilibrium configuration at T_I by direct construction (000 Sec. III, Ref. [19]).

        method "direct": void positions sampled with weight z1^(n_vv) by a short lattice-gas
        Monte Carlo (``void_sweeps`` attempted moves per void), then bonds from p_eq.
        method "random": voids placed uniformly at random (biased; kept to quantify the bias).
        """
        if T_I <= 0:
            raise InputError(f"start.T_I: must be positive (got {T_I})")
        if method not in ("direct", "random"):
            raise InputError(f"start.method: must be 'direct' or 'random' (got {method!r})")
        t0 = time.perf_counter()
        nsites = self.geom.nsites
        occ_void = np.zeros(nsites, dtype=np.bool_)
        # initial uniform placement (partial Fisher-Yates through our RNG)
        perm = np.arange(nsites, dtype=np.int64)
        for i in range(self.nv):
            j = i + int(K.rng_uniform(self.rng) * (nsites - i))
            perm[i], perm[j] = perm[j], perm[i]
        void_site = perm[: self.nv].astype(np.int32).copy()
        occ_void[void_site] = True
        nmoves = acc = 0
        if method == "direct":
            z1 = self.g.z1(T_I)
            nmoves = int(void_sweeps) * self.nv
            acc = int(K.lattice_gas_voids(self.geom.nbr, occ_void, void_site, float(np.log(z1)), nmoves, self.rng))
        if self.g.uniform is not None:
            V0, dV = self.g.uniform
            peq_kind, pa, pb, ptab = 0, V0, T_I, np.array([-np.expm1(-dV / T_I)])
        else:
            peq_kind, pa, pb, ptab = 1, 0.0, 1.0, self.g.ppf_table(T=T_I)
        E = K.place_particles_and_bonds(self.geom.nbr, occ_void, self.occ, self.void_site, self.initN, self.initV,
                                        self.bondE, peq_kind, pa, pb, ptab, self.rng)
        self.acc[:] = 0.0
        self.acc[1] = E
        self.T_I = float(T_I)
        self.cnt[:] = 0
        self.pdisp[:] = 0
        self.vdisp[:] = 0
        self.prevp[:] = -1
        self.prevv[:] = -1
        self._gargs = (self.initN, self.initV, self.gkind, self.ga, self.gb, self.gtab, self.seedm)
        self.bmod[:] = 0
        self.bk_site[:] = -1
        self.bk_invT[:] = np.nan
        self.al_invT[:] = np.nan
        self.ustamp[:] = -2
        self.vlast[:] = -1
        self.bcount = np.bincount(self.geom.blk[self.void_site], minlength=self.geom.bnb.shape[0]).astype(np.int32)
        K.init_slots(self.geom.nbr, self.occ, self.void_site, self.bondE, *self._gargs, self.dE, self.newV)
        self.T = np.nan
        self.setup = Setup(time.perf_counter() - t0, nmoves, acc, self.void_contacts())
        return self.setup

    # ------------------------------------------------------------------ KMC
    @property
    def t(self) -> float:
        return float(self.acc[0])

    @property
    def E(self) -> float:
        return float(self.acc[1])

    @property
    def events(self) -> int:
        return int(self.cnt[0])

    def set_temperature(self, T: float) -> None:
        """Rates of all slots at temperature T (000 Eq. (3)); O(number of slots)."""
        if T <= 0:
            raise InputError(f"temperature must be positive (got {T})")
        if T != self.T:
            K.set_rates(self.dE, self.tree, self.M, 1.0 / T)
            self.T = float(T)

    def advance(self, t_stop: float, max_events: int = 1 << 62) -> int:
        """Run the compiled BKL kernel at the current T until time t_stop or max_events events."""
        if not np.isfinite(self.T):
            raise InputError("DPLM.advance: no temperature set; call set_temperature(T) first")
        return int(K.kmc_run(self.geom.nbr, self.geom.nb2, self.geom.blk, self.geom.bnb, self.bcount, self.bmod, self.bk_site,
                             self.bk_sum, self.bk_dE, self.bk_newV, self.bk_rate, self.bk_invT, self.al_dE, self.al_newV,
                             self.al_rate, self.al_invT, self.ustamp, self.vlast, self.occ, self.void_site, self.bondE, *self._gargs,
                             self.dE, self.newV, self.tree, self.M, self.geom.dvec, self.pdisp, self.vdisp,
                             self.prevp, self.prevv, self.rng, 1.0 / self.T, self.w0, float(t_stop), int(max_events),
                             self.acc, self.cnt, self.mapon, self.site_time, self.varrive, self.vis_site,
                             self.vis_time, self.vis_n, self.vtrack, self.ptrack, self.tr_t, self.tr_who, self.tr_pos))

    # ------------------------------------------------------------------ observables
    def pair_V(self, k, l) -> np.ndarray:
        """V_kl for arrays of particle ids (stored p_eq value or hash draw)."""
        k = np.atleast_1d(np.asarray(k, dtype=np.int64))
        l = np.atleast_1d(np.asarray(l, dtype=np.int64))
        return K.pair_V_many(k, l, *self._gargs)

    def energy_exact(self) -> float:
        """E of Eq. (2) recomputed from scratch."""
        return float(K.total_energy(self.geom.nbr, self.occ, *self._gargs))

    def bond_energies(self) -> np.ndarray:
        return K.bond_energies(self.geom.nbr, self.occ, self.bondE)

    def void_contacts(self) -> int:
        nb = self.geom.nbr[self.void_site]
        return int((self.occ[nb] < 0).sum() // 2)

    def slot_dE(self) -> np.ndarray:
        """(nv, z) energy changes of every hop into every void (inf where the neighbour is a void)."""
        return self.dE.reshape(self.nv, self.geom.z)

    def particle_sites(self) -> np.ndarray:
        sites = np.empty(self.N, dtype=np.int64)
        occ = self.occ
        m = occ >= 0
        sites[occ[m]] = np.nonzero(m)[0]
        return sites

    def memory_bytes(self) -> int:
        arrs = [self.geom.nbr, self.geom.nb2, self.geom.blk, self.geom.bnb, self.occ, self.void_site, self.bondE, self.initN, self.initV, self.dE, self.newV,
                self.tree, self.bmod, self.bk_site, self.bk_sum, self.bk_dE, self.bk_newV, self.bk_rate, self.al_dE, self.al_newV, self.al_rate, self.pdisp, self.vdisp, self.prevp, self.prevv, self.site_time, self.varrive,
                self.vis_site, self.vis_time, self.vis_n, self.vtrack, self.ptrack, self.gtab]
        return int(sum(a.nbytes for a in arrs))

    # ------------------------------------------------------------------ windows
    def begin_map(self, K_levels: int = 8) -> None:
        """Start accumulating void residence time per site and per void (000 Fig. 2, Sec. IV)."""
        if self.site_time.shape[0] != self.geom.nsites:
            self.site_time = np.zeros(self.geom.nsites)
        else:
            self.site_time[:] = 0.0
        self.vis_site = np.full((self.nv, K_levels), -1, dtype=np.int32)
        self.vis_time = np.zeros((self.nv, K_levels))
        self.vis_n = np.ones(self.nv, dtype=np.int32)
        self.vis_site[:, 0] = self.void_site
        self.varrive[:] = self.t
        self.map_t0 = self.t
        self.map_ev0 = self.events
        self.map_start_sites = self.void_site.copy()
        self.mapon = True

    def end_map(self) -> dict:
        """Close the window: flush current residences and return the accumulated arrays."""
        t = self.t
        for v in range(self.nv):
            a = self.void_site[v]
            dw = t - self.varrive[v]
            self.site_time[a] += dw
            row = self.vis_site[v]
            q = np.nonzero(row == a)[0]
            if q.size:
                self.vis_time[v, q[0]] += dw
        self.mapon = False
        dur = t - self.map_t0
        return {
            "duration": dur,
            "events": self.events - self.map_ev0,
            "p_void": self.site_time / dur if dur > 0 else self.site_time.copy(),
            "start_sites": self.map_start_sites,
            "vis_site": self.vis_site.copy(),
            "vis_time": self.vis_time.copy(),
            "vis_n": self.vis_n.copy(),
        }

    def begin_trace(self, voids=(), particles=(), capacity: int = 1_000_000) -> None:
        """Record displacement-time series of chosen voids/particles (000 Figs. 3, 10, 11)."""
        dim = self.geom.dim
        self.vtrack = np.full(self.nv, -1, dtype=np.int32)
        for i, v in enumerate(voids):
            self.vtrack[int(v)] = i
        self.ptrack = np.full(self.N, -1, dtype=np.int32)
        for i, k in enumerate(particles):
            self.ptrack[int(k)] = i
        self.trace_voids = list(int(v) for v in voids)
        self.trace_particles = list(int(k) for k in particles)
        self.trace_v0 = self.vdisp[list(self.trace_voids)].copy() if len(voids) else np.zeros((0, dim), np.int32)
        self.trace_p0 = self.pdisp[list(self.trace_particles)].copy() if len(particles) else np.zeros((0, dim), np.int32)
        self.trace_t0 = self.t
        self.tr_t = np.zeros(capacity)
        self.tr_who = np.zeros(capacity, dtype=np.int32)
        self.tr_pos = np.zeros((capacity, dim), dtype=np.int32)
        self.cnt[5] = 0

    def end_trace(self) -> dict:
        n = int(self.cnt[5])
        out = {"t": self.tr_t[:n].copy(), "who": self.tr_who[:n].copy(), "pos": self.tr_pos[:n].copy(),
               "voids": self.trace_voids, "particles": self.trace_particles, "v0": self.trace_v0,
               "p0": self.trace_p0, "t0": self.trace_t0, "t_end": self.t, "full": n >= self.tr_t.shape[0]}
        dim = self.geom.dim
        self.tr_t = np.zeros(0)
        self.tr_who = np.zeros(0, dtype=np.int32)
        self.tr_pos = np.zeros((0, dim), dtype=np.int32)
        self.vtrack = np.full(self.nv, -1, dtype=np.int32)
        self.ptrack = np.full(1, -1, dtype=np.int32)
        return out
