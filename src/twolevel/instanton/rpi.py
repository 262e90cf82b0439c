"""Ring-polymer instanton tunnelling matrix elements in all dimensions.

Theory: J. O. Richardson and S. C. Althorpe, J. Chem. Phys. 134, 054109 (2011) ("RA2011",
ring-polymer instanton method for tunnelling splittings), and J. O. Richardson, Int. Rev. Phys.
Chem. 37, 171 (2018) (review, Sec. 4). We use the open-chain form of the half-ring ("kink") of
RA2011 Sec. II: reduced units, hbar = 1, mass-weighted coordinates q = sqrt(m~) x (m~ of
002_b660eabf4d6c7be7.txt Eq. (11), one mass per particle), N beads between the two minima q_a,
q_b held fixed, imaginary-time step b = tau / (N + 1):

    S[q] = sum_{i=0}^{N} |q_{i+1} - q_i|^2 / (2 b) + b sum_{i=1}^{N} (V(q_i) - V_a)       (RA2011 Eq. (9))

The instanton is the stationary point of S (found by L-BFGS from the MEP, polished by Newton
steps with the exact block-tridiagonal Hessian A = d^2 S / dq^2). In the two-state picture
<q_b| e^{-tau H} |q_a> / <q_a| e^{-tau H} |q_a> = tanh(tau Delta_0 / 2) ~ tau Delta_0 / 2
(hbar omega tau >> 1 >> Delta_0 tau); evaluating both propagators by steepest descent, with the
exact integral over the kink's position in time (the zero mode) in place of its Gaussian, gives

    Delta_0 = 2 sqrt(||dq/dt||^2 / (2 pi)) sqrt(det A_0 / det' A) exp(-S)                (RA2011 Eqs. (24)-(27))

det' A: the determinant without the near-zero (kink translation) eigenvalue; A_0 the same
matrix for the chain resting in the well (analytic: eigenvalues (2 - 2 cos(pi k/(N+1)))/b
+ b omega_j^2); ||dq/dt||^2 = S_kin / b with S_kin = sum |q_{i+1} - q_i|^2 / b (= S for an
exact instanton, the virial theorem at zero energy). For a periodic box the d uniform
translations are zero modes of V at every bead: a term c P_T (P_T the projector on them) is
added to every bead's Hessian and to the reference; the translation subspace is invariant, so
its factor cancels exactly from the ratio.

**Asymmetric wells (our approximation, stated).** With V_b != V_a there is no zero-energy kink.
We compute Delta_0 on the symmetrised surface V_s(q) = V(q) - (V_b - V_a) s(u), u the
projection of q - q_a on q_b - q_a (in [0, 1], clipped) and s(u) = 10u^3 - 15u^4 + 6u^5
(s, s', s'' vanish or are 1 at the ends: the two minima, their Hessians and zero-point energies
are unchanged), and take det A_0 as the geometric mean of the two wells' (the two-state matrix
element between the localised states, K_ab / sqrt(K_aa K_bb)). The asymmetry is
Delta = (V_b + ZPE_b) - (V_a + ZPE_a) with the harmonic zero-point energies of both minima in
all dimensions (ZPE = sum_j omega_j / 2, translations excluded), and E = sqrt(Delta^2 +
Delta_0^2) (002 Eq. (12)). Valid for |V_b - V_a| << barrier and |ZPE_b - ZPE_a| << hbar omega;
for most glass TLS Delta >> Delta_0 and E ~ |Delta|, insensitive to this choice.

**Active space (large systems).** The fluctuation factor det A_0 / det' A is dominated by the
coordinates that change along the path: where a bead's Hessian equals the well's, its factor
cancels from the ratio. With ``active_radius`` R the determinants (and the Newton steps) use only
the active coordinates: the particles that move more than ``active_threshold`` between the two
minima and every particle within R of one of them (minimum image, at x_a). The environment is
held frozen in the determinants (the AA blocks of every bead's and of the wells' Hessians; its
harmonic response is left out, the limit of an infinitely stiff environment), plus one direction
e_B, the environment's share of the kink-translation mode dq/dt, so that the zero mode lies in the
space and det' is taken there as in the full problem. It equals the full result when R reaches
every particle; on glass double wells it converges slowly and not monotonically in R (Delta_0
off by factors 2.5-400 at N = 200 before R covers the box; docs/instanton.md, "Active space"). The chain itself is
optimised in all f dimensions (L-BFGS with the compiled band forces: N force evaluations per
gradient) and polished by Newton steps in the active space, alternating with full L-BFGS until
the whole gradient is below ``gtol``. The zero-point energies in Delta use the full Hessians.

Cost: one gradient = N force evaluations (O(N_particles) each, compiled); one Hessian
factorisation = N dense (f_A x f_A) inversions, f_A = d N_active (f_A = f = d N_particles for the
full determinant): O(N f_A^3) time and O(N f_A^2) memory, independent of N_particles at fixed R;
plus N sparse Hessians per Newton step (O(N_particles) each) and two dense eigendecompositions of
the wells' full Hessians for the zero-point energies (O(f^3), once).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.optimize as so

from ..errors import InputError

TAU_FACTOR = 30.0     # tau = TAU_FACTOR / omega_t, omega_t the frequency along q_b - q_a at the minima
DEFAULT_BEADS = 128
ACTIVE_ABOVE = 300    # particles: above this the active-space prefactor is the default
ACTIVE_RADIUS = 3.0   # sigma: default radius R of the active region around the moving particles
ACTIVE_THRESHOLD = 0.1  # sigma: a particle displaced more than this between the minima "moves"
STATUSES = ("ok", "active_space", "not_converged", "bad_minimum", "no_soft_mode", "unstable", "shallow",
            "not_two_state")
S_MIN = 3.0           # below this kink action (hbar) the semiclassical formula is not used: "shallow"


@dataclass
class InstantonResult:
    """One instanton (energies in epsilon, reduced units hbar = 1)."""

    Delta_0: float
    log_Delta_0: float
    Delta: float
    E: float
    S: float
    S_kin: float
    dV: float
    zpe_a: float
    zpe_b: float
    tau: float
    n_beads: int
    step: float
    omega_t: float
    omega_max: float
    soft_eigenvalue: float
    grad_max: float
    n_iter: int
    status: str
    message: str = ""
    path: np.ndarray = field(default=None, repr=False)   # (N + 2, *shape) Cartesian, ends included
    V_path: np.ndarray = field(default=None, repr=False)  # V (unsymmetrised) at the beads, from V_a
    n_active: int = 0      # coordinates in the determinants (= f for the full determinant)
    active_radius: float = float("inf")  # R of the active space (inf: full determinant)

    @property
    def converged(self) -> bool:
        return self.status == "ok"


def _smoothstep(u):
    """s(u) = 10u^3 - 15u^4 + 6u^5 on [0, 1] (clipped) with s' and s''."""
    u = np.clip(u, 0.0, 1.0)
    s = u ** 3 * (10 - 15 * u + 6 * u * u)
    ds = 30 * u * u * (1 - u) ** 2
    d2s = 60 * u * (1 - u) * (1 - 2 * u)
    return s, ds, d2s


def _translation_basis(f: int, dim: int | None) -> np.ndarray | None:
    """Orthonormal columns spanning the uniform translations of N = f / dim particles."""
    if not dim:
        return None
    n = f // dim
    T = np.zeros((f, dim))
    for a in range(dim):
        T[a::dim, a] = 1.0 / np.sqrt(n)
    return T


def _hessian_raw(pot, x):
    """The engine's sparse Hessian (finite differences of the forces for analytic surfaces)."""
    from ..paths import _hessian_matrix

    return _hessian_matrix(pot, x)


def _hessian(pot, x) -> np.ndarray:
    H = _hessian_raw(pot, x)
    return H.toarray() if hasattr(H, "toarray") else np.asarray(H, dtype=float)


def _block(H, idx: np.ndarray | None) -> np.ndarray:
    """The dense (idx, idx) block of a sparse or dense matrix (all of it for idx None)."""
    if idx is None:
        return H.toarray() if hasattr(H, "toarray") else np.asarray(H, dtype=float)
    if hasattr(H, "tocsr"):
        H = H.tocsr()
        return H[idx][:, idx].toarray()
    return np.asarray(H, dtype=float)[np.ix_(idx, idx)]


def active_set(pot, x_a, x_b, radius: float, threshold: float = ACTIVE_THRESHOLD) -> np.ndarray | None:
    """Flat coordinate indices of the active space: the particles displaced more than
    ``threshold`` between x_a and x_b (x_b aligned to x_a; at least the most displaced one) and
    every particle within ``radius`` of one of them (minimum image, at x_a). None for the full
    determinant: radius None or inf, or ``pot`` not a particle system in a periodic box (analytic
    surfaces). An R that reaches every particle gives all indices (the active-space code on the
    whole system, translations projected as in the full determinant)."""
    from ..paths import _translation_dim

    dim = _translation_dim(pot)
    if not dim or radius is None or not np.isfinite(radius):
        return None
    xa = np.asarray(x_a, float).reshape(-1, dim)
    xb = np.asarray(x_b, float).reshape(-1, dim)
    disp = np.linalg.norm(xb - xa, axis=1)
    moving = np.flatnonzero(disp > threshold)
    if moving.size == 0:
        moving = np.array([int(np.argmax(disp))])
    box = np.asarray(pot.box, float)
    near = np.zeros(xa.shape[0], dtype=bool)
    for i in moving:
        d = xa - xa[i]
        d -= box * np.round(d / box)
        near |= np.einsum("ij,ij->i", d, d) <= radius * radius
    parts = np.flatnonzero(near)
    return (parts[:, None] * dim + np.arange(dim)[None, :]).reshape(-1)


class _Chain:
    """The discretised action of the open chain and its derivatives (mass-weighted)."""

    def __init__(self, pot, x_a, x_b, m, n_beads, tau, dim, idx=None):
        from ..paths import _translation_dim

        self.idx = idx   # active coordinates (None: all, full determinant)

        self.pot = pot
        self.shape = np.shape(x_a)
        self.sm = np.sqrt(m)
        self.m = m
        self.qa = np.asarray(x_a, float).reshape(-1) * self.sm
        self.qb = np.asarray(x_b, float).reshape(-1) * self.sm
        self.f = self.qa.size
        self.N = int(n_beads)
        self.b = tau / (self.N + 1)
        self.dim = _translation_dim(pot) if dim is None else dim
        self.T = _translation_basis(self.f, self.dim)
        e = self.qb - self.qa
        if self.T is not None:
            e = e - self.T @ (self.T.T @ e)
        self.L = float(np.linalg.norm(e))
        self.e = e / self.L
        self.Va = float(pot.energy_forces(np.asarray(x_a, float))[0])
        self.Vb = float(pot.energy_forces(np.asarray(x_b, float))[0])
        self.dV = self.Vb - self.Va
        self.c_tr = 1.0 / self.b ** 2
        # every coordinate active: the d translations are zero modes of the blocks too
        self.T_act = self.T if (idx is not None and idx.size == self.f) else None

    def _u(self, Q):
        return ((Q - self.qa) @ self.e) / self.L

    def potential(self, Q):
        """V_s - V_a at every bead (N,), its mass-weighted gradient (N, f), and V - V_a."""
        from ..paths import band_energies_forces

        X = (Q / self.sm).reshape((Q.shape[0],) + self.shape)
        E, F = band_energies_forces(self.pot, X)
        s, ds, _ = _smoothstep(self._u(Q))
        v = E - self.Va - self.dV * s
        g = -F.reshape(Q.shape[0], -1) / self.sm - np.outer(self.dV * ds / self.L, self.e)
        return v, g, E - self.Va

    def full(self, Q):
        return np.vstack([self.qa, Q, self.qb])

    def action(self, qflat):
        Q = qflat.reshape(self.N, self.f)
        P = self.full(Q)
        d = np.diff(P, axis=0)
        v, g, _ = self.potential(Q)
        S = 0.5 * float((d * d).sum()) / self.b + self.b * float(v.sum())
        G = (2 * Q - P[:-2] - P[2:]) / self.b + self.b * g
        return S, G.reshape(-1)

    def s_kin(self, Q):
        d = np.diff(self.full(Q), axis=0)
        return float((d * d).sum()) / self.b

    @property
    def n_act(self) -> int:
        return self.f if self.idx is None else self.idx.size

    def bead_hessians(self, Q, extra=None):
        """Mass-weighted Hessians of V_s (+ c P_T) at every bead, (N, f_A, f_A): the active blocks
        (environment frozen), or the full matrices with c P_T on the translations. With ``extra``
        (N, f) also the full products H_i extra_i (N, f)."""
        _, _, d2s = _smoothstep(self._u(Q))
        n = self.n_act
        e = self.e if self.idx is None else self.e[self.idx]
        out = np.empty((self.N, n, n))
        prod = None if extra is None else np.empty((self.N, self.f))
        for i in range(self.N):
            Hraw = _hessian_raw(self.pot, (Q[i] / self.sm).reshape(self.shape))
            H = _block(Hraw, self.idx) / self.m
            H -= (self.dV * d2s[i] / self.L ** 2) * np.outer(e, e)
            if self.T is not None and self.idx is None:
                H += self.c_tr * (self.T @ self.T.T)
            elif self.T_act is not None:
                Ta = self.T_act[self.idx]
                H += self.c_tr * (Ta @ Ta.T)
            out[i] = 0.5 * (H + H.T)
            if extra is not None:
                prod[i] = (np.asarray(Hraw @ extra[i]).reshape(-1) / self.m
                           - (self.dV * d2s[i] / self.L ** 2) * (self.e @ extra[i]) * self.e)
        return out if extra is None else (out, prod)

    # -- the active space W: the active coordinates and e_B, the environment's share of the
    # kink-translation mode (so that the zero mode lies in W and det' is defined on it)
    def border(self, Q):
        """e_B (N, f): dq/dt with the active columns zeroed, normalised; None without an active
        space or when the environment does not take part in the kink's translation."""
        if self.idx is None:
            return None
        P = self.full(Q)
        qd = (P[2:] - P[:-2]) / (2 * self.b)
        eB = qd.copy()
        eB[:, self.idx] = 0.0
        nb = np.linalg.norm(eB)
        return None if nb <= 1e-12 * np.linalg.norm(qd) else eB / nb

    def to_w(self, G, eB):
        """W coordinates of a full bead vector (N, f): the (N, f) array itself without an active
        space, else the flat active components followed by the component along e_B."""
        G = G.reshape(self.N, self.f)
        if self.idx is None:
            return G
        a = G[:, self.idx].reshape(-1)
        return a if eB is None else np.concatenate([a, [float((G * eB).sum())]])

    def from_w(self, x, eB):
        """The full bead vector (N, f) of W coordinates (inverse of :meth:`to_w` on W)."""
        if self.idx is None:
            return x.reshape(self.N, self.f)
        out = np.zeros((self.N, self.f))
        out[:, self.idx] = x[: self.N * self.idx.size].reshape(self.N, -1)
        if eB is not None:
            out += x[-1] * eB
        return out

    def _chain_apply(self, x, Hx):
        """A x for bead vectors x (N, f) given the potential part Hx = (H_i x_i)_i."""
        y = (2.0 / self.b) * x + self.b * Hx
        y[1:] -= x[:-1] / self.b
        y[:-1] -= x[1:] / self.b
        return y

    def operator(self, Q):
        """A = d^2 S / dq^2 compressed onto W (block LU), and e_B."""
        eB = self.border(Q)
        if eB is None:
            T = _BlockTridiag(self.bead_hessians(Q), self.b)
            return (T if self.idx is None else _Bordered(T)), None
        Hs, HeB = self.bead_hessians(Q, eB)
        AeB = self._chain_apply(eB, HeB)
        return _Bordered(_BlockTridiag(Hs, self.b), AeB[:, self.idx], float((eB * AeB).sum())), eB

    def reference_logdet(self, H, phys, mu, eB) -> float:
        """log det A_0 on W for the chain resting in the well of Hessian H: closed form
        sum log(mu_k + b omega_j^2) over the active block's omega_j^2 (the full frequencies, c on
        the translations, without an active space), plus the border's Schur complement
        gamma_0 - h_0^T A_0^-1 h_0 (A_0 diagonal in the sine basis x the block's modes)."""
        if self.idx is None:
            w2 = phys if self.T is None else np.concatenate([phys, np.full(self.dim, self.c_tr)])
            return float(np.log(mu[:, None] + self.b * w2[None, :]).sum())
        B = _block(H, self.idx) / self.m
        if self.T_act is not None:
            Ta = self.T_act[self.idx]
            B = B + self.c_tr * (Ta @ Ta.T)
        w2, U = np.linalg.eigh(0.5 * (B + B.T))
        ld = float(np.log(mu[:, None] + self.b * w2[None, :]).sum())
        if eB is None:
            return ld
        HeB = np.stack([np.asarray(H @ eB[i]).reshape(-1) / self.m for i in range(self.N)])
        A0eB = self._chain_apply(eB, HeB)
        k = np.arange(1, self.N + 1)
        Sm = np.sqrt(2.0 / (self.N + 1)) * np.sin(np.pi * np.outer(k, k) / (self.N + 1))
        hh = Sm.T @ A0eB[:, self.idx] @ U
        s0 = float((eB * A0eB).sum()) - float((hh * hh / (mu[:, None] + self.b * w2[None, :])).sum())
        return ld + float(np.log(abs(s0)))

    def well_frequencies2(self, x, H=None):
        """omega_j^2 of the well at x with c on the translations, and the ZPE without them."""
        H = (_hessian(self.pot, np.asarray(x, float)) if H is None else _block(H, None)) / self.m
        if self.T is not None:
            P = np.eye(self.f) - self.T @ self.T.T
            H = P @ H @ P
            w2 = np.linalg.eigvalsh(0.5 * (H + H.T))
            # the d translation eigenvalues (numerically ~0) are replaced by c
            o = np.argsort(np.abs(w2))
            w2[o[: self.dim]] = self.c_tr
            phys = np.delete(w2, o[: self.dim])
        else:
            w2 = np.linalg.eigvalsh(0.5 * (H + H.T))
            phys = w2
        return w2, phys


class _BlockTridiag:
    """A = blockdiag(2/b + b H_i) - (1/b) offdiag(I): block LU (Thomas), log|det|, solves."""

    def __init__(self, Hs, b):
        self.b = b
        n, f, _ = Hs.shape
        self.Dinv = np.empty_like(Hs)
        self.logdet = 0.0
        self.sign = 1.0
        eye = np.eye(f)
        prev = None
        for i in range(n):
            D = (2.0 / b) * eye + b * Hs[i]
            if prev is not None:
                D -= prev / (b * b)
            sgn, ld = np.linalg.slogdet(D)
            self.sign *= sgn
            self.logdet += ld
            prev = np.linalg.inv(D)
            self.Dinv[i] = prev
        self.Hs = Hs

    def solve(self, r):
        n = r.shape[0]
        z = np.empty_like(r)
        z[0] = r[0]
        for i in range(1, n):
            z[i] = r[i] + self.Dinv[i - 1] @ z[i - 1] / self.b
        x = np.empty_like(r)
        x[-1] = self.Dinv[-1] @ z[-1]
        for i in range(n - 2, -1, -1):
            x[i] = self.Dinv[i] @ (z[i] + x[i + 1] / self.b)
        return x

    def matvec(self, x):
        y = (2.0 / self.b) * x + self.b * np.einsum("nij,nj->ni", self.Hs, x)
        y[1:] -= x[:-1] / self.b
        y[:-1] -= x[1:] / self.b
        return y


class _Bordered:
    """[[T, h], [h^T, gamma]] on flat W vectors: T block tridiagonal (N, n) blocks, one border
    vector h (N, n) (none: T alone). log|det| by the Schur complement gamma - h^T T^-1 h."""

    def __init__(self, T: _BlockTridiag, h=None, gamma: float = 0.0):
        self.T, self.h = T, h
        self.shape = T.Hs.shape[:2]
        self.logdet, self.sign = T.logdet, T.sign
        if h is not None:
            self.Th = T.solve(h)
            self.s = gamma - float((h * self.Th).sum())
            self.logdet += float(np.log(abs(self.s)))
            self.sign *= float(np.sign(self.s))

    def solve(self, r):
        if self.h is None:
            return self.T.solve(r.reshape(self.shape)).reshape(-1)
        TrA = self.T.solve(r[:-1].reshape(self.shape))
        xe = (r[-1] - float((self.h * TrA).sum())) / self.s
        return np.concatenate([(TrA - self.Th * xe).reshape(-1), [xe]])


def _soft_mode(A: _BlockTridiag, v0: np.ndarray, iters: int = 8):
    """Eigenvalue of A nearest 0 and its vector, by inverse iteration from v0."""
    v = v0 / np.linalg.norm(v0)
    lam = np.nan
    for _ in range(iters):
        w = A.solve(v)
        nw = np.linalg.norm(w)
        lam_new = float((v * w).sum()) / nw ** 2
        v = w / nw
        if np.isfinite(lam) and abs(lam_new - lam) <= 1e-10 * abs(lam_new):
            lam = lam_new
            break
        lam = lam_new
    return lam, v


def _initial_path(chain: _Chain, path0, omega_t: float) -> np.ndarray:
    """Beads on the polyline path0 (Cartesian, ends = minima) at the mass-weighted arc length of
    the 1D quartic kink s(t) = L (1 + tanh(omega_t (t - tau/2) / 2)) / 2."""
    if path0 is None:
        P = np.vstack([chain.qa, chain.qb])
    else:
        P = np.asarray(path0, float).reshape(len(path0), -1) * chain.sm
        if np.linalg.norm(P[0] - chain.qb) < np.linalg.norm(P[0] - chain.qa):
            P = P[::-1].copy()   # a path given from x_b to x_a
        P[0], P[-1] = chain.qa, chain.qb
    seg = np.linalg.norm(np.diff(P, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    tau = chain.b * (chain.N + 1)
    t = chain.b * np.arange(1, chain.N + 1)
    s = 0.5 * arc[-1] * (1 + np.tanh(0.5 * omega_t * (t - 0.5 * tau)))
    return np.column_stack([np.interp(s, arc, P[:, j]) for j in range(P.shape[1])])


def _default_radius(pot, x_a, active_radius):
    """The active radius actually used: ``active_radius`` if given (inf = full determinant),
    else ACTIVE_RADIUS above ACTIVE_ABOVE particles and the full determinant below."""
    if active_radius is not None:
        r = float(active_radius)
        if not r > 0:
            raise InputError(f"active_radius must be positive (inf for the full determinant), got {active_radius!r}")
        return r
    from ..paths import _translation_dim

    dim = _translation_dim(pot)
    n = np.size(x_a) // dim if dim else 0
    return ACTIVE_RADIUS if n > ACTIVE_ABOVE else float("inf")


def _soft(ch: _Chain, q):
    """A on W, e_B, and A's eigenvalue nearest 0 with its vector (W coordinates), by inverse
    iteration from dq/dt (the kink translation)."""
    A, eB = ch.operator(q)
    P = ch.full(q)
    lam, u = _soft_mode(A, ch.to_w((P[2:] - P[:-2]) / (2 * ch.b), eB))
    return A, eB, lam, u


def _newton(ch: _Chain, q, S, G, gtol: float, steps: int):
    """Newton steps on W (the rest held) with the exact Hessian of S on W, the kink-translation
    direction projected out. Returns q, S, G, steps taken."""
    def _perp(G, u, eB):
        # the stationarity condition holds modulo the kink-translation (zero) mode: S is flat
        # along it to exponential accuracy, and its position is integrated over exactly
        g = ch.to_w(G, eB)
        return g - (g * u).sum() * u

    n = 0
    for _ in range(steps):
        A, eB, _lam, u = _soft(ch, q)
        g = _perp(G, u, eB)
        if np.abs(g).max() <= gtol * 1e-3:
            break
        dw = -A.solve(g)
        dw -= (dw * u).sum() * u
        dq = ch.from_w(dw, eB)
        step, improved = 1.0, False
        for _ls in range(8):
            S_new, G_new = ch.action((q + step * dq).reshape(-1))
            if np.abs(_perp(G_new, u, eB)).max() < np.abs(g).max():
                q, S, G, improved = q + step * dq, S_new, G_new, True
                break
            step *= 0.5
        n += 1
        if not improved:
            break
    return q, S, G, n


def _grad_max(ch: _Chain, G, u, eB) -> float:
    """Largest |dS/dq| component, the kink-translation direction u (W coordinates) excepted."""
    uf = ch.from_w(u, eB)
    uf = uf / np.linalg.norm(uf)
    g = G.reshape(ch.N, ch.f)
    return float(np.abs(g - (g * uf).sum() * uf).max())


def instanton(pot, x_a, x_b, m_tilde: float, n_beads: int = DEFAULT_BEADS, tau: float | None = None,
              path0=None, gtol: float = 1e-7, max_iter: int = 5000, newton_steps: int = 10,
              lbfgs_gtol: float = 1e-4,
              dim: int | None = None, tau_factor: float = TAU_FACTOR,
              active_radius: float | None = None, active_threshold: float = ACTIVE_THRESHOLD,
              rounds: int = 4) -> InstantonResult:
    """Tunnelling matrix element Delta_0 (and Delta, E) between minima x_a and x_b of ``pot``.

    ``pot``: any object with ``energy_forces(x)`` and ``distance(x, y)`` (Hessian: ``pot.hessian``
    or finite differences of the forces); a :class:`~twolevel.engine.ParticleSystem` uses its
    compiled band forces and sparse Hessian. ``m_tilde``: mass in reduced units (hbar = 1).
    ``tau``: imaginary time of the chain (default ``tau_factor / omega_t``); ``path0``: initial
    path (e.g. the MEP images, ends = x_a, x_b); ``gtol``: largest |dS/dq| component accepted.
    L-BFGS runs to ``lbfgs_gtol``, then Newton steps with the exact Hessian (kink translation
    projected out) take it to ``gtol``.
    ``active_radius``: R (sigma) of the active-space prefactor (module docstring); None: R =
    ACTIVE_RADIUS above ACTIVE_ABOVE particles, the full determinant below; ``float("inf")``:
    always the full determinant. With an active space the Newton polish and a full L-BFGS
    alternate for at most ``rounds`` rounds.
    A chain that does not converge returns ``status = "not_converged"`` (Delta_0 NaN); it never
    raises for a physics failure.
    """
    if not (np.isfinite(m_tilde) and m_tilde > 0):
        raise InputError(f"m~ must be positive, got {m_tilde!r}")
    if int(n_beads) < 4:
        raise InputError(f"n_beads must be at least 4, got {n_beads!r}")
    x_a = np.asarray(x_a, float)
    x_b = np.asarray(x_b, float)
    if x_a.shape != x_b.shape:
        raise InputError(f"the two minima have different shapes {x_a.shape} and {x_b.shape}")
    # x_b as the image nearest x_a, translation-free relative to it (periodic boxes)
    from ..paths import _align

    x_b = _align(pot, x_a, x_b)
    radius = _default_radius(pot, x_a, active_radius)
    idx = active_set(pot, x_a, x_b, radius, active_threshold)
    probe = _Chain(pot, x_a, x_b, m_tilde, n_beads, 1.0, dim)
    Ha, Hb = _hessian_raw(pot, x_a), _hessian_raw(pot, x_b)
    _, phys_a = probe.well_frequencies2(x_a, Ha)
    _, phys_b = probe.well_frequencies2(x_b, Hb)
    nan = float("nan")
    if min(phys_a.min(), phys_b.min()) <= 0:
        return InstantonResult(nan, nan, nan, nan, nan, nan, probe.dV, nan, nan, nan, int(n_beads), nan,
                               nan, nan, nan, nan, 0, "bad_minimum",
                               "an end point is not a minimum (Hessian eigenvalue <= 0)")
    omega_t = float(np.sqrt(max(float(probe.e @ (Ha @ probe.e)) / m_tilde, 1e-300)))
    omega_max = float(np.sqrt(max(phys_a.max(), phys_b.max())))
    zpe_a, zpe_b = 0.5 * float(np.sqrt(phys_a).sum()), 0.5 * float(np.sqrt(phys_b).sum())
    if tau is None:
        tau = tau_factor / omega_t
    if not (np.isfinite(tau) and tau > 0):
        raise InputError(f"tau must be positive, got {tau!r}")
    ch = _Chain(pot, x_a, x_b, m_tilde, n_beads, float(tau), dim, idx)
    q0 = _initial_path(ch, path0, omega_t).reshape(-1)
    opts = {"maxiter": max_iter, "maxcor": 30, "ftol": 1e-16, "maxfun": 2 * max_iter}
    res = so.minimize(ch.action, q0, jac=True, method="L-BFGS-B",
                      options={**opts, "gtol": max(lbfgs_gtol, gtol)})
    q = res.x.reshape(ch.N, ch.f)
    n_iter = int(res.nit)
    S, G = ch.action(q.reshape(-1))
    for r in range(max(1, rounds) if idx is not None else 1):
        q, S, G, k = _newton(ch, q, S, G, gtol, newton_steps + 1)
        n_iter += k
        if idx is None:
            break
        _, eB, _lam, u = _soft(ch, q)
        if _grad_max(ch, G, u, eB) <= gtol or r == rounds - 1:
            break
        # the environment: full L-BFGS from here (the active coordinates are near stationary)
        res = so.minimize(ch.action, q.reshape(-1), jac=True, method="L-BFGS-B", options={**opts, "gtol": gtol})
        q = res.x.reshape(ch.N, ch.f)
        n_iter += int(res.nit)
        S, G = ch.action(q.reshape(-1))
    A, eB, lam, u = _soft(ch, q)
    P = ch.full(q)
    gmax = _grad_max(ch, G, u, eB)
    s_kin = ch.s_kin(q)
    _, _, v_raw = ch.potential(q)
    path = (P / ch.sm).reshape((ch.N + 2,) + ch.shape)
    V_path = np.concatenate([[0.0], v_raw, [ch.dV]])
    # reference determinant: eigenvalues (2 - 2 cos(pi k/(N+1)))/b + b omega_j^2, geometric mean
    mu = (2 - 2 * np.cos(np.pi * np.arange(1, ch.N + 1) / (ch.N + 1))) / ch.b
    # (on W for an active space), geometric mean of the two wells
    ld0 = 0.5 * (ch.reference_logdet(Ha, phys_a, mu, eB) + ch.reference_logdet(Hb, phys_b, mu, eB))
    # the soft mode must be well separated from the rest (second-smallest |eigenvalue| of A >~ b omega^2)
    status, msg = "ok", ""
    if gmax > gtol:
        status, msg = "not_converged", f"largest |dS/dq| {gmax:.3g} > gtol {gtol:.3g} after {n_iter} iterations"
    elif not np.isfinite(lam) or abs(lam) > 0.1 * ch.b * omega_t ** 2:
        status, msg = "no_soft_mode", (f"no near-zero kink-translation mode (lambda = {lam:.3g}); "
                                       "tau too short or not a kink")
    sign_p = getattr(A, "sign", 1.0) * np.sign(lam) if np.isfinite(lam) else 1.0
    if status == "ok" and sign_p < 0:
        status, msg = "unstable", ("the fluctuation matrix has a negative eigenvalue besides the kink translation: "
                                   "a higher-order saddle of S, not the instanton")
    if status == "ok" and S < S_MIN:
        status, msg = "shallow", (f"kink action S = {S:.3g} < {S_MIN:g} hbar: not deep tunnelling, the "
                                  "semiclassical splitting does not apply")
    logdet_p = A.logdet - np.log(abs(lam)) if np.isfinite(lam) else nan
    # Delta_0 = 2 sqrt(S_kin / (2 pi b)) sqrt(det A_0 / det' A) exp(-S)   (RA2011 Eqs. (24)-(27))
    log_d0 = (np.log(2.0) + 0.5 * np.log(s_kin / ch.b / (2 * np.pi)) + 0.5 * (ld0 - logdet_p) - S)
    Delta = (ch.Vb + zpe_b) - (ch.Va + zpe_a)
    if status == "ok" and np.exp(log_d0) * tau > 1.0:
        # the formula linearises tanh(tau Delta_0 / 2) (module docstring): it needs Delta_0 tau << 1
        status, msg = "not_two_state", (f"Delta_0 tau = {np.exp(log_d0) * tau:.3g} > 1: the splitting is not small "
                                        "against 1/tau ~ omega_t / 30, the two-state formula does not apply")
    if status == "ok" and idx is not None and idx.size < np.size(x_a):
        # every check passed, but the prefactor is the active space's: its Delta_0 did not converge
        # with R on glass double wells (docs/instanton.md, "Active space"), so the numbers are kept
        # as an estimate and the stage's E_best keeps the 1D result
        status, msg = "active_space", (f"prefactor from an active space of {ch.n_act} coordinates (R = {radius:g}): "
                                       "Delta_0 an order-of-magnitude estimate")
    if status not in ("ok", "active_space"):
        d0 = E = nan
    else:
        d0 = float(np.exp(log_d0))
        E = float(np.hypot(Delta, d0))
    return InstantonResult(Delta_0=d0, log_Delta_0=float(log_d0), Delta=float(abs(Delta)), E=E, S=float(S),
                           S_kin=s_kin, dV=ch.dV, zpe_a=zpe_a, zpe_b=zpe_b, tau=float(tau), n_beads=ch.N,
                           step=ch.b, omega_t=omega_t, omega_max=omega_max, soft_eigenvalue=float(lam),
                           grad_max=gmax, n_iter=n_iter, status=status, message=msg, path=path, V_path=V_path,
                           n_active=ch.n_act + (eB is not None), active_radius=radius if idx is not None else float("inf"))
