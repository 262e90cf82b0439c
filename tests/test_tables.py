"""Study-wide tables (hive-partitioned Parquet) and `twolevel convert` (issue #18 items 3-4)."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from twolevel import io
from twolevel.cli import app
from twolevel.errors import InputError
from twolevel.io.convert import convert, stored_frames
from twolevel.models import get_model
from twolevel.pipeline.artifacts import write_marker
from twolevel.pipeline.tables import read_table, write_tables


def _artefact(path, df):
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)
    write_marker(path, task="test")


def _run(tmp_path):
    """A run tree of two T_f x two samples; one TLS artefact is corrupt (never read), one catalogue empty."""
    run = tmp_path / "run"
    rng = np.random.default_rng(0)
    expect = {}
    for tf in ("0.062", "0.1"):
        for k in (0, 1):
            sd = run / "pss" / f"Tf_{tf}" / f"sample_{k}"
            n = int(rng.integers(1, 5))
            _artefact(sd / "explore" / "inherent_structures.parquet",
                      pd.DataFrame({"is_id": np.arange(n), "energy": rng.normal(size=n)}))
            m = 0 if (tf, k) == ("0.1", 1) else n
            _artefact(sd / "paths" / "double_wells.parquet",
                      pd.DataFrame({"dw_id": np.arange(m), "V_a": rng.random(m),
                                    "xi": [list(rng.random(3)) for _ in range(m)]}))
            _artefact(sd / "quantum" / "tls.parquet",
                      pd.DataFrame({"dw_id": np.arange(m), "units": ["pss-ar"] * m, "E_K": rng.random(m)}))
            expect[(float(tf), k)] = (n, m)
    bad = run / "pss" / "Tf_0.062" / "sample_1" / "quantum" / "tls.parquet"
    bad.write_bytes(bad.read_bytes()[:-10])  # truncated after its marker was written
    (run / "stats").mkdir()  # study-wide directories are not samples
    return run, expect


def test_tables_open_in_one_line_with_model_tf_sample_units(tmp_path):
    run, expect = _run(tmp_path)
    res = write_tables(run)
    assert res["tls"]["samples"] == 3 and len(res["tls"]["skipped"]) == 1
    assert "truncated" in res["tls"]["skipped"][0] or "size" in res["tls"]["skipped"][0]
    tls = pd.read_parquet(run / "tables" / "tls")  # the one line of the issue
    assert {"model", "T_f", "sample", "units"} <= set(tls.columns)
    assert len(tls) == sum(m for (tf, k), (n, m) in expect.items() if (tf, k) != (0.062, 1))
    ist = read_table(run, "inherent_structures")
    assert list(ist.columns[:3]) == ["model", "T_f", "sample"] and set(ist["units"]) == {"reduced"}
    for (tf, k), (n, m) in expect.items():
        assert (ist[(ist["T_f"] == tf) & (ist["sample"] == k)]["is_id"].tolist()) == list(range(n))
    dws = read_table(run, "double_wells")  # one sample has an empty catalogue: no rows, schema still one
    assert len(dws) == sum(m for n, m in expect.values())
    assert dws["xi"].map(len).eq(3).all()
    # a filter reads one partition only
    part = pd.read_parquet(run / "tables" / "double_wells", filters=[("T_f", "=", "0.1")])
    assert len(part) == expect[(0.1, 0)][1] + expect[(0.1, 1)][1]
    # unchanged sources: nothing is rewritten; a changed artefact rebuilds its level, with no leftovers
    mtimes = {p: p.stat().st_mtime_ns for p in (run / "tables").rglob("*.parquet")}
    assert write_tables(run)["tls"]["rows"] == len(tls)
    assert {p: p.stat().st_mtime_ns for p in (run / "tables").rglob("*.parquet")} == mtimes
    r = CliRunner().invoke(app, ["tables", str(run)])
    assert r.exit_code == 0 and "tls: tables/tls (" in r.output and "1 artefact(s) skipped" in r.output
    _artefact(run / "pss" / "Tf_0.062" / "sample_1" / "quantum" / "tls.parquet",
              pd.DataFrame({"dw_id": [0], "units": ["pss-ar"], "E_K": [0.5]}))
    assert write_tables(run)["tls"]["samples"] == 4
    assert len(pd.read_parquet(run / "tables" / "tls")) == len(tls) + 1
    assert sorted(p.name for p in (run / "tables").iterdir()) == ["double_wells", "inherent_structures", "tls"]
    with pytest.raises(InputError, match="unknown table"):
        read_table(run, "pairs")


def _stored_sample(tmp_path):
    """is_configs.h5 and bands.h5 laid out as explore/paths write them (explore._write_configs, paths._assemble)."""
    conf = get_model("pss").random_configuration(40, dim=2, seed=2)
    sd = tmp_path / "sample_0"
    (sd / "explore").mkdir(parents=True)
    (sd / "paths").mkdir()
    rng = np.random.default_rng(1)
    xs = [conf.positions, conf.positions + 0.01 * rng.standard_normal(conf.positions.shape)]
    with h5py.File(sd / "explore" / "is_configs.h5", "w") as f:
        for k, v in {"box": conf.box, "types": conf.types, "diameters": conf.diameters}.items():
            f.create_dataset(k, data=v)
        f.attrs.update({"model": "pss", "dim": 2, "n_is": 2, "n_particles": conf.n, "potential": "ParticleSystem"})
        for k, x in enumerate(xs):
            f.create_dataset(f"configs/{k}", data=x).attrs["energy"] = float(k)
    with h5py.File(sd / "paths" / "new_minima.h5", "w") as f:  # paths._assemble: one dataset per new is_id
        f.create_dataset("2", data=xs[1][::-1].copy()).attrs["energy"] = 2.0
    m = 5
    disp = np.linspace(0, 1, m)[:, None] * (xs[1] - xs[0]).ravel()[None, :]
    with h5py.File(sd / "paths" / "bands.h5", "w") as f:
        g = f.create_group("0")
        g.attrs.update({"is_a": 0, "is_b": 1})
        for k, v in {"xi": np.linspace(0, 1, m), "V": np.sin(np.linspace(0, np.pi, m)), "x_low": xs[0],
                     "x_high": xs[1], "saddle": xs[0], "displacement": np.zeros(conf.n),
                     "band_disp": disp.astype(np.float32)}.items():
            g.create_dataset(k, data=v)
    return conf, sd, xs


def test_convert_bands_and_inherent_structures(tmp_path):
    ase_io = pytest.importorskip("ase.io", reason="ase not installed (pip install 'twolevel[ase]')")
    conf, sd, xs = _stored_sample(tmp_path)
    path, n = convert(sd / "paths" / "bands.h5", tmp_path / "band.xyz", dw=0)
    assert n == 5
    frames = ase_io.read(path, ":")
    assert len(frames) == 5
    np.testing.assert_allclose([a.get_potential_energy() for a in frames], np.sin(np.linspace(0, np.pi, 5)))
    np.testing.assert_array_equal(frames[0].positions[:, :2], xs[0])
    np.testing.assert_allclose(frames[-1].positions[:, :2], xs[1], atol=1e-6)  # float32 displacements
    back = io.read_frames(path)
    np.testing.assert_array_equal(back[2].diameters, conf.diameters)
    assert back[2].meta["image"] == 2 and back[2].model == "pss"
    # every inherent structure, and one of them to a LAMMPS file
    confs, infos = stored_frames(sd / "explore" / "is_configs.h5")
    assert [i["is_id"] for i in infos] == [0, 1]
    np.testing.assert_array_equal(confs[1].positions, xs[1])
    r = CliRunner().invoke(app, ["convert", str(sd / "explore" / "is_configs.h5"), str(tmp_path / "is1.data"),
                                 "--is", "1"])
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(io.read(tmp_path / "is1.data", dim=2).positions, xs[1])
    # the paths stage's intermediate minima, box and types from the sample's is_configs.h5
    confs, infos = stored_frames(sd / "paths" / "new_minima.h5")
    assert infos == [{"is_id": 2, "energy": 2.0}]
    np.testing.assert_array_equal(confs[0].positions, xs[1][::-1])
    np.testing.assert_array_equal(confs[0].diameters, conf.diameters)


@pytest.mark.parametrize("args, words", [
    (["paths/bands.h5", "band.data"], "multi-frame format"),
    (["paths/bands.h5", "band.xyz", "--dw", "4"], "no double well 4"),
    (["explore/is_configs.h5", "is.xyz", "--is", "9"], "no inherent structure 9"),
    (["explore/is_configs.h5", "is.xyz", "--dw", "0"], "--dw selects a band"),
    (["paths/nothere.h5", "x.xyz"], "no such file"),
    (["paths/bands.h5", "band.foo"], "unknown extension"),
])
def test_convert_errors_are_one_line(tmp_path, args, words):
    _, sd, _ = _stored_sample(tmp_path)
    r = CliRunner().invoke(app, ["convert", str(sd / args[0]), str(tmp_path / args[1]), *args[2:]])
    assert r.exit_code != 0
    msg = str(r.exception) if r.exception is not None and not isinstance(r.exception, SystemExit) else r.output
    assert words in msg and "\n" not in msg.strip()
    assert not (tmp_path / args[1]).exists()
