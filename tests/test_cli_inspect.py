"""`twolevel inspect` on the reference data and on bad input (one-line errors)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from twolevel.config import Configuration
from twolevel.io import write
from twolevel.models import get_model


def _run(*args):
    return subprocess.run([sys.executable, "-c", "from twolevel.cli import main; main()", *args],
                          capture_output=True, text=True)


def test_inspect_json_reference(reference_dir):
    path = sorted(reference_dir.glob("pss/*.data"))[0]
    r = _run("inspect", str(path), "--model", "pss", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert set(info) == {"n", "dim", "box", "density", "energy_per_particle", "max_force", "pressure",
                         "diameter_min", "diameter_max", "diameter_mean", "diameter_mean_power_3"}
    # the authors' glass: quantiles of P(s) ~ s^-3 on [0.73, 1.62] (papers/README.md)
    assert info["diameter_min"] == pytest.approx(0.73, abs=1e-6)
    assert info["diameter_max"] == pytest.approx(1.6179, abs=1e-4)
    assert info["diameter_mean_power_3"] == pytest.approx(1.1890, abs=5e-5)
    assert info["n"] == 1500 and info["dim"] == 3
    assert info["density"] == pytest.approx(1.0, abs=1e-8)
    assert abs(info["energy_per_particle"] - float(path.stem)) <= 5e-11
    assert info["max_force"] < 1e-4  # LAMMPS minimised to ~1e-4


def test_inspect_errors(tmp_path):
    r = _run("inspect", str(tmp_path / "missing.data"), "--model", "pss")
    assert r.returncode == 2 and "missing.data" in r.stderr and "Traceback" not in r.stderr
    conf = get_model("pss").random_configuration(64, dim=2, seed=1)
    f = tmp_path / "c.npz"
    write(f, conf)
    r = _run("inspect", str(f), "--model", "nosuch")
    assert r.returncode == 2 and "unknown model 'nosuch'" in r.stderr
    r = _run("inspect", str(f), "--model", "pss", "--density", "1.2")
    assert r.returncode == 2 and "density" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    pos = conf.positions.copy()
    pos[1] = pos[0]
    write(tmp_path / "o.npz", Configuration(pos, conf.box, diameters=conf.diameters, model="pss"))
    r = _run("inspect", str(tmp_path / "o.npz"))
    assert r.returncode == 2 and "overlap" in r.stderr and "Traceback" not in r.stderr
    np.testing.assert_equal(conf.n, 64)
