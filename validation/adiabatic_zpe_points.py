"""Validation (CPU-minutes; not run in CI): the adiabatic correction with the transverse
zero-point energy diagonalised at fewer images (``zpe_points``) against every image.

Issue #20, cost: the vibrationally adiabatic 1D problem (twolevel.instanton.adiabatic; 002 App. C)
diagonalises one dense projected (N d) x (N d) Hessian per band image, ~15 s each for N = 1500 in
3D, ~16 CPU-minutes for a 64-image band. With ``zpe_points`` = P it diagonalises at P images and
splines the zero-point energy in arc length. For the double wells of the stored fixed set
(benchmarks/data/pss_double_wells.npz, N = 200 PSS; paths by twolevel.paths.find_path with the
stage's defaults, 64 images) this prints, per double well and P in (33, 17, 9): the largest
difference of the interpolated transverse zero-point energy profile from the every-image one, and
the relative change of E_ad (pss-ar, m~ = 4116; NaN where the adiabatic profile is rejected).

    PYTHONPATH=src python validation/adiabatic_zpe_points.py [--pairs 0,1,3,6,9,11,12,13,15]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from paths import load_set  # noqa: E402

from twolevel.errors import InputError, PhysicsError  # noqa: E402
from twolevel.instanton.adiabatic import adiabatic_profile, tunnelling_1d  # noqa: E402
from twolevel.paths import find_path  # noqa: E402
from twolevel.units import get_units  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", default="0,1,3,6,9,11,12,13,15")
    ap.add_argument("--units", default="pss-ar")
    a = ap.parse_args()
    m = get_units(a.units).m_tilde
    pairs = load_set()
    worst = {33: 0.0, 17: 0.0, 9: 0.0}
    for k in (int(v) for v in a.pairs.split(",")):
        s, xa, xb, _ = pairs[k]
        for j, dw in enumerate(find_path(s, xa, xb).ok):
            images = dw.band.images[::-1] if dw.reversed else dw.band.images
            ref = None
            cols = []
            for pts in (None, 33, 17, 9):
                ad = adiabatic_profile(s, images, m, pts)
                dz = ad["zpe_perp"] - ad["zpe_perp"][0]
                try:
                    e = tunnelling_1d(ad["xi"], ad["V_ad"], ad["d"], m).E
                except (InputError, PhysicsError):
                    e = float("nan")
                if ref is None:
                    ref = (dz, e)
                    cols.append(f"K = {len(images)}: E_ad {e:.5g}, ZPE change along the path up to {np.abs(dz).max():.3g}")
                    continue
                rel = e / ref[1] - 1 if np.isfinite(e) and np.isfinite(ref[1]) else float("nan")
                if np.isfinite(rel):
                    worst[pts] = max(worst[pts], abs(rel))
                cols.append(f"P = {pts}: ZPE off by {np.abs(dz - ref[0]).max():.1e}, E_ad {rel:+.1e}")
            print(f"pair {k} dw {j}: " + "; ".join(cols), flush=True)
    print("largest |E_ad(P) / E_ad(all) - 1|: " + ", ".join(f"P = {p}: {w:.1e}" for p, w in worst.items()))


if __name__ == "__main__":
    main()
