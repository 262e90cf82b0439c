"""Benchmark: double wells processed per second by the tunnelling solver.

Ours: twolevel.quantum.tunnelling per double well (spline, harmonic extension,
N_xi = 2000 grid, 5-point stencil, five lowest levels by shift-invert block
Lanczos, Delta, Delta_0, Gamma). Peer: scipy.sparse.linalg.eigsh (ARPACK,
shift-invert, k = 5) on the same pentadiagonal matrices, in the same run.
One core: BLAS threads are pinned to 1 before numpy is imported.

    python benchmarks/quantum.py [--n 300] [--seed 0]

Prints the figures, then one JSON line (ratio = ours / peer throughput).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from scipy.sparse.linalg import eigsh  # noqa: E402

from twolevel import quantum as q  # noqa: E402


def synthetic_profiles(n: int, seed: int):
    """Double wells shaped like NEB profiles: 64 images, barriers 0.01-0.3 eps,
    asymmetries 1e-5-0.02 eps, skewed barrier position, path lengths 0.3-1.5 sigma."""
    rng = np.random.default_rng(seed)
    xi = np.linspace(0.0, 1.0, 64)
    out = []
    for _ in range(n):
        Vb = 10 ** rng.uniform(-2, -0.5)
        a = 10 ** rng.uniform(-5, np.log10(0.5 * Vb))
        skew = rng.uniform(-0.3, 0.3)
        u = xi + skew * xi * (1 - xi)  # barrier away from the middle
        V = 16 * Vb * u**2 * (1 - u) ** 2 + a * xi**2 * (3 - 2 * xi)
        if rng.random() < 0.5:
            V = V[::-1].copy()
        out.append((xi, V, rng.uniform(0.3, 1.5)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="double wells for our solver")
    ap.add_argument("--n-peer", type=int, default=100, help="double wells for ARPACK")
    ap.add_argument("--m-tilde", type=float, default=5250.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    mt = args.m_tilde
    profiles = synthetic_profiles(args.n, args.seed)

    # warm-up (loads the compiled kernels from numba's cache or compiles them)
    q.tunnelling(*profiles[0], mt)
    _, Vw, hw = q.extended_potential(*profiles[0], mt)
    q.lowest_levels(Vw, hw, mt)

    # ours: full per-double-well pipeline
    t0, c0 = time.perf_counter(), time.process_time()
    results = [q.tunnelling(xi, V, d, mt) for xi, V, d in profiles]
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    ours_rate = args.n / t_ours
    n_tls = sum(r.is_tls for r in results)
    iters = np.array([r.n_iter for r in results])

    # the same matrices for the eigenvalue-only comparison
    sub = profiles[: args.n_peer]
    mats = []
    for (xi, V, d), r in zip(sub, results):
        _, Vg, h = q.extended_potential(xi, V, d, mt, n_xi=q.DEFAULT_N_XI)
        mats.append((Vg, h, mt * d * d, r))

    # ours, eigenvalues only (same matrix, same shift rule as the peer)
    t0 = time.perf_counter()
    ours_ev = [q.lowest_levels(Vg, h, me, method="lanczos") for Vg, h, me, _ in mats]
    t_ours_ev = time.perf_counter() - t0

    # peer: ARPACK shift-invert (matrix assembly + factorisation + Lanczos), shift below min V
    t0, c0 = time.perf_counter(), time.process_time()
    peer_ev = []
    for Vg, h, me, _ in mats:
        d0, d1, d2 = q.fd_bands(Vg, h, me)
        A = sp.diags([d2, d1, d0, d1, d2], [-2, -1, 0, 1, 2], format="csc")
        s = float(Vg.min()) - 1e-9
        peer_ev.append(np.sort(eigsh(A, k=5, sigma=s, which="LM", return_eigenvectors=False)))
    t_peer, c_peer = time.perf_counter() - t0, time.process_time() - c0
    peer_rate = len(mats) / t_peer
    ours_ev_rate = len(mats) / t_ours_ev

    dev = max(float(np.max(np.abs(a - b))) for a, b in zip(ours_ev, peer_ev))
    dev_pipeline = max(float(np.max(np.abs(m[3].levels - b))) for m, b in zip(mats, peer_ev))
    dE = [abs((m[3].levels[1] - m[3].levels[0]) - (b[1] - b[0])) for m, b in zip(mats, peer_ev)]

    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, scipy {scipy.__version__}")
    print(f"double wells: {args.n} (ours), {len(mats)} (ARPACK); N_xi = {q.DEFAULT_N_XI}; five levels; m~ = {mt:g}")
    print(f"ours, full pipeline (spline, extension, levels, Delta, Delta_0, Gamma): {ours_rate:8.1f} DW/s")
    print(f"ours, eigenvalues only (block Lanczos):                               {ours_ev_rate:8.1f} DW/s")
    print(f"peer, scipy eigsh shift-invert (ARPACK), eigenvalues only:           {peer_rate:8.1f} DW/s")
    print(f"ratio ours(full)/peer = {ours_rate / peer_rate:.2f}; ours(eigen)/peer = {ours_ev_rate / peer_rate:.2f}")
    print(
        f"per CPU second (insensitive to other load on the machine): ours {args.n / c_ours:.1f} DW/s, "
        f"peer {len(mats) / c_peer:.1f} DW/s; wall/CPU for ours {t_ours / c_ours:.2f}"
    )
    print(f"block-Lanczos steps: median {np.median(iters):.0f}, max {iters.max()}; TLS (E < k_B T_Q): {n_tls}/{args.n}")
    print(f"max |level difference| vs ARPACK: {dev:.1e} (eigen-only), {dev_pipeline:.1e} (pipeline); max |dE| {max(dE):.1e}")
    print(
        json.dumps(
            {
                "benchmark": "quantum",
                "n_xi": q.DEFAULT_N_XI,
                "levels": 5,
                "m_tilde": mt,
                "dw_per_s": round(ours_rate, 1),
                "dw_per_s_eigen_only": round(ours_ev_rate, 1),
                "dw_per_cpu_s": round(args.n / c_ours, 1),
                "peer_dw_per_cpu_s": round(len(mats) / c_peer, 1),
                "peer": "scipy.sparse.linalg.eigsh shift-invert (ARPACK)",
                "peer_dw_per_s": round(peer_rate, 1),
                "ratio": round(ours_rate / peer_rate, 2),
                "ratio_eigen_only": round(ours_ev_rate / peer_rate, 2),
                "max_level_diff_vs_peer": dev,
                "target_dw_per_s": 500,
            }
        )
    )


if __name__ == "__main__":
    main()
