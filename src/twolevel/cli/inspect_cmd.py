"""``twolevel inspect FILE --model M [--json]``: a quick look at a configuration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from . import app


def inspect_configuration(path: Path, model: str | None = None, density: float | None = None) -> dict:
    """N, dimension, box, density, energy per particle, max force and (virial) pressure of a file.

    For a polydisperse model also the diameter range and the mean s^d (the packing: the file's
    diameters are used as they are, so this says which glass the file holds; the default PSS has
    [0.73, 1.62] and mean s^3 1.1903, or 1.1890 for the N = 1500 quantiles).

    ``density``: when given, the box must match it (a one-line error otherwise).
    """
    from ..engine import ParticleSystem
    from ..errors import InputError
    from ..io import read
    from ..models.base import MODE_DIAMETERS

    conf = read(path)
    name = model or conf.model
    if name is None:
        raise InputError(f"{path}: the file names no model; pass --model")
    if density is not None and abs(conf.density - density) > 1e-6 * density:
        raise InputError(f"{path}: box {conf.box.tolist()} gives density {conf.density:.6g}, "
                         f"not the requested {density:g}")
    s = ParticleSystem(conf, name)
    e, f, w = s.energy_forces_virial(conf.positions)
    extra = {}
    if s.model.mode == MODE_DIAMETERS:
        dd = conf.diameters
        extra = {"diameter_min": float(dd.min()), "diameter_max": float(dd.max()),
                 "diameter_mean": float(dd.mean()), f"diameter_mean_power_{conf.dim}": float((dd**conf.dim).mean())}
    return {
        "n": conf.n,
        "dim": conf.dim,
        "box": conf.box.tolist(),
        "density": conf.density,
        "energy_per_particle": e / conf.n,
        "max_force": float(np.sqrt((f * f).sum(axis=1)).max()),
        # static (inherent-structure) pressure: virial route, no kinetic term
        "pressure": w / (conf.dim * conf.volume),
        **extra,
    }


@app.command("inspect")
def inspect_cmd(
    file: Path = typer.Argument(..., exists=False, help="Configuration file (LAMMPS data, extxyz, .npz, .h5)."),
    model: str = typer.Option(None, "--model", "-m", help="Model: pss, tlj, ka, ka-ts (default: from the file)."),
    density: float = typer.Option(None, help="Check that the box matches this number density."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Print N, dimension, box, density, energy per particle, max force norm and pressure."""
    info = inspect_configuration(file, model, density)
    if as_json:
        print(json.dumps(info))
        return
    print(f"file                {file}")
    print(f"N                   {info['n']}")
    print(f"dimension           {info['dim']}")
    print(f"box                 {' x '.join(f'{b:.10g}' for b in info['box'])}")
    print(f"density             {info['density']:.10g}")
    print(f"energy / particle   {info['energy_per_particle']:.12g}")
    print(f"max |force|         {info['max_force']:.4g}")
    print(f"pressure (virial)   {info['pressure']:.10g}")
    if "diameter_min" in info:
        d = info["dim"]
        print(f"diameters           [{info['diameter_min']:.6g}, {info['diameter_max']:.6g}], mean "
              f"{info['diameter_mean']:.6g}, mean sigma^{d} {info[f'diameter_mean_power_{d}']:.6g}")
