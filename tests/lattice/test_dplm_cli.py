"""CLI and configuration of the lattice route."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from twolevel.cli import app
from twolevel.errors import InputError
from twolevel.lattice.config import load_config

runner = CliRunner()


def test_theory_json_matches_A19():
    r = runner.invoke(app, ["lattice", "theory", "--T-I", "0.05", "--phi-v", "0.005", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["c1"] == pytest.approx(out["closed_form"]["c1"], rel=1e-3)
    assert out["c3"] == pytest.approx(out["closed_form"]["c3"], rel=1e-3)


def test_config_errors_name_the_key(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[lattice]\nL = 20\nphi = 0.01\n")
    with pytest.raises(InputError, match="lattice.phi"):
        load_config(p)
    p.write_text("[lattice]\nL = 'big'\n")
    with pytest.raises(InputError, match="lattice.L"):
        load_config(p)
    p.write_text("[g]\nfamily = 'fermi_gauss'\nG0 = 0.2\n")
    with pytest.raises(InputError, match="sigma_V"):
        load_config(p)
    with pytest.raises(InputError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_config_is_strict_like_the_study_file(tmp_path):
    """One schema machinery (twolevel.params): the lattice file refuses "200" for an integer and inf,
    and words a misspelt key exactly as the study file does."""
    from twolevel.pipeline.config import parse_config

    p = tmp_path / "bad.toml"
    p.write_text("[lattice]\nL = '200'\n")
    with pytest.raises(InputError, match=r"lattice.L: must be an integer \(got str '200'\)"):
        load_config(p)
    p.write_text("[cooling]\nnu = inf\n")
    with pytest.raises(InputError, match="cooling.nu: must be a finite number"):
        load_config(p)
    p.write_text("[lattice]\nphi = 0.01\n")
    with pytest.raises(InputError) as lat:
        load_config(p)
    with pytest.raises(InputError) as study:
        parse_config({"study": {"name": "x"}, "models": [{"model": "pss", "n": 100, "tf": [0.1]}],
                      "lattice": {"lattice": {"phi": 0.01}}}, source="s.toml")
    assert str(lat.value).split(": ", 2)[2] == str(study.value).split(": ", 2)[2] == \
        "unknown key; did you mean 'phi_v'?"


def test_cool_command_writes_run_directory(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[lattice]\nL = 24\nphi_v = 0.02\n[start]\nT_I = 0.12\n[cooling]\nnu = 1.0\nT_end = 0.02\ndT_rel = 0.05\n"
        "[measure]\nmaps_T = [0.1, 0.05]\nmap_hops = 20000\n[run]\nsamples = 2\nseed = 3\n"
        f"output = '{tmp_path / 'run'}'\n")
    r = runner.invoke(app, ["lattice", "cool", str(cfg), "--no-progress"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "run"
    for f in ("steps.parquet", "summary.parquet", "results.json", "provenance.json", "config.toml", "fig_cv.png",
              "fig_returns.png", "fig_void_maps.png", "maps_sample0.npz"):
        assert (out / f).exists(), f
    steps = pd.read_parquet(out / "steps.parquet")
    assert set(steps["sample"]) == {0, 1}
    res = json.loads((out / "results.json").read_text())
    assert res["samples"] == 2 and res["theory_closed_form"]["equation"] == "A19"
