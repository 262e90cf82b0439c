"""I/O: round trips, the reference LAMMPS files of another group, malformed input, atomic writes."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from twolevel import io
from twolevel.config import Configuration
from twolevel.errors import InputError
from twolevel.io import atomic_open, atomic_write, read_lammps_data, write_lammps_data

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
PSS_FILES = sorted((REFERENCE / "pss").glob("*.data")) if REFERENCE.is_dir() else []

EXTS = {"lammps": ".data", "extxyz": ".xyz", "npz": ".npz", "h5": ".h5"}


def make_conf(dim: int, n: int = 23, seed: int = 0, model: str | None = "pss") -> Configuration:
    rng = np.random.default_rng(seed)
    box = np.array([3.5, 4.25, 5.125][:dim]) * 1.1
    return Configuration(
        positions=rng.random((n, dim)) * box,
        box=box,
        types=rng.integers(0, 3, n),
        diameters=rng.uniform(0.73, 1.62, n),
        model=model,
        meta={"T_f": 0.062, "seed": 12345, "note": 'quoted "x" and\nnewline', "ok": True,
              "levels": [1, 2.5], "nested": {"a": 1}, "nothing": None},
    )


def assert_same(a: Configuration, b: Configuration) -> None:
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.box, b.box)
    np.testing.assert_array_equal(a.types, b.types)
    np.testing.assert_array_equal(a.diameters, b.diameters)
    assert a.model == b.model
    assert a.meta == b.meta


def assert_one_line_naming(exc: pytest.ExceptionInfo, path: Path, line: int | None = None) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
    if line is not None:
        assert f"line {line}:" in msg, msg
    return msg


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("fmt", list(EXTS))
def test_round_trip_is_exact(tmp_path, fmt, dim):
    conf = make_conf(dim)
    path = tmp_path / f"conf{EXTS[fmt]}"
    io.write(path, conf)
    back = io.read(path, dim=dim)
    assert back.dim == dim
    assert_same(conf, back)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp files left


@pytest.mark.parametrize("fmt", list(EXTS))
def test_explicit_format_overrides_extension(tmp_path, fmt):
    conf = make_conf(3, model=None)
    conf.meta = {}
    path = tmp_path / "conf.bin"
    io.write(path, conf, fmt=fmt)
    assert_same(conf, io.read(path, fmt=fmt))


def test_lammps_atomic_style_and_detection_by_columns(tmp_path):
    conf = make_conf(3)
    conf.diameters = np.ones(conf.n)
    path = tmp_path / "a.lmp"
    write_lammps_data(path, conf)  # unit diameters -> atomic by default
    text = path.read_text()
    assert "Atoms # atomic" in text
    assert_same(conf, io.read(path))
    # without the style comment the style comes from the column count (5+3 -> atomic)
    path.write_text(text.replace("Atoms # atomic", "Atoms"))
    back, _ = read_lammps_data(path)
    assert back.meta == conf.meta  # our title line still carries meta
    np.testing.assert_array_equal(back.positions, conf.positions)
    np.testing.assert_array_equal(back.diameters, 1.0)


def test_lammps_charge_style_detected_without_comment(tmp_path):
    conf = make_conf(3)
    path = tmp_path / "c.data"
    write_lammps_data(path, conf, style="charge")
    path.write_text(path.read_text().replace("Atoms # charge", "Atoms"))
    np.testing.assert_array_equal(io.read(path).diameters, conf.diameters)


def test_lammps_types_shift_box_shift_and_id_order(tmp_path):
    # LAMMPS types start at 1, our types at 0; box [lo, hi] -> [0, L); atoms sorted by id
    path = tmp_path / "x.data"
    path.write_text(
        "title\n\n3 atoms\n2 atom types\n-1 1 xlo xhi\n-2 2 ylo yhi\n-0.5 0.5 zlo zhi\n\n"
        "Atoms # atomic\n\n"
        "3 2 0.5 1.5 0.0\n1 1 -1.0 -2.0 0.0\n2 2 0.0 0.0 0.0\n"
    )
    conf = io.read(path, dim=2)
    np.testing.assert_array_equal(conf.box, [2.0, 4.0])
    np.testing.assert_array_equal(conf.types, [0, 1, 1])
    np.testing.assert_array_equal(conf.positions, [[0.0, 0.0], [1.0, 2.0], [1.5, 3.5]])
    assert conf.model is None and conf.meta["lammps_atom_style"] == "atomic"
    conf3 = io.read(path)
    assert conf3.dim == 3 and conf3.box[2] == 1.0


def test_lammps_image_flags_unwrap(tmp_path):
    conf = make_conf(3)
    shift = np.random.default_rng(1).integers(-2, 3, conf.positions.shape)
    unwrapped = Configuration(conf.positions + shift * conf.box, conf.box, conf.types, conf.diameters)
    path = tmp_path / "u.data"
    io.write(path, unwrapped)
    wrapped = io.read(path)  # default: positions as written (wrapped into the box)
    assert np.all(wrapped.positions >= 0) and np.all(wrapped.positions < conf.box)
    np.testing.assert_allclose(wrapped.positions, conf.positions, rtol=0, atol=1e-12)
    back = io.read(path, unwrap=True)
    np.testing.assert_allclose(back.positions, unwrapped.positions, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dim", [2, 3])
def test_lammps_velocities(tmp_path, dim):
    conf = make_conf(dim)
    vel = np.random.default_rng(2).normal(size=(conf.n, dim))
    path = tmp_path / "v.data"
    io.write(path, conf, velocities=vel)
    back, v = read_lammps_data(path, dim=dim)
    assert_same(conf, back)
    np.testing.assert_array_equal(v, vel)
    assert read_lammps_data(tmp_path / "v.data", dim=dim)[1] is not None
    io.write(path, conf)
    assert read_lammps_data(path, dim=dim)[1] is None


def test_lammps_nonuniform_masses_warn(tmp_path):
    path = tmp_path / "m.data"
    write_lammps_data(path, make_conf(3))
    text = path.read_text().replace("Masses\n\n1 1\n2 1\n3 1\n", "Masses\n\n1 1\n2 2.5\n3 1\n")
    path.write_text(text)
    with pytest.warns(UserWarning, match="non-uniform masses"):
        io.read(path)
    write_lammps_data(path, make_conf(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        io.read(path)


def test_lammps_2d_request_on_3d_file_fails(tmp_path):
    path = tmp_path / "3d.data"
    io.write(path, make_conf(3))
    with pytest.raises(InputError) as exc:
        io.read(path, dim=2)
    assert_one_line_naming(exc, path)
    assert "dim=2" in str(exc.value)


def test_extxyz_foreign_species_and_radius(tmp_path):
    path = tmp_path / "f.extxyz"
    path.write_text(
        '3\nLattice="2 0 0 0 3 0 0 0 4" Properties=species:S:1:pos:R:3:Radius:R:1:vel:R:3 Time=1.5 name=glass\n'
        "Ni 0 0 0 0.5 1 1 1\nP 1 1 1 0.4 0 0 0\nNi 1.5 2.5 3.5 0.5 0 0 0\n"
    )
    conf = io.read(path)
    np.testing.assert_array_equal(conf.box, [2, 3, 4])
    np.testing.assert_array_equal(conf.types, [0, 1, 0])
    np.testing.assert_array_equal(conf.diameters, [1.0, 0.8, 1.0])
    assert conf.meta == {"species_names": ["Ni", "P"], "Time": 1.5, "name": "glass"}


def test_native_formats_hold_no_pickle(tmp_path):
    conf = make_conf(3)
    path = tmp_path / "c.npz"
    io.write(path, conf)
    with np.load(path, allow_pickle=False) as z:
        assert {"positions", "box", "types", "diameters", "model", "meta"} <= set(z.files)
        assert all(z[k].dtype != object for k in z.files)


# ----------------------------------------------------------------------------- reference data
def quantiles_inverse_power3(n: int, lo: float, hi: float) -> np.ndarray:
    """Quantiles at k/n (k = 0..n-1) of P(s) ~ s^-3 on [lo, hi], from the analytic inverse CDF.

    F(s) = (lo^-2 - s^-2) / (lo^-2 - hi^-2)  =>  s(u) = (lo^-2 - u (lo^-2 - hi^-2))^(-1/2).
    """
    u = np.arange(n) / n
    a, b = lo ** -2, hi ** -2
    return (a - u * (a - b)) ** -0.5


@pytest.mark.skipif(not PSS_FILES, reason=f"reference data not found at {REFERENCE / 'pss'} "
                                          "(the shared reference directory is absent)")
@pytest.mark.parametrize("path", PSS_FILES, ids=lambda p: p.name)
def test_reference_pss_files(path):
    conf, velocities = read_lammps_data(path)
    assert velocities is None
    assert conf.n == 1500 and conf.dim == 3
    np.testing.assert_allclose(conf.box, 2 * 5.723571213, rtol=1e-12)
    assert conf.density == pytest.approx(1.0, rel=1e-8)
    assert np.all(conf.types == 0)
    assert conf.meta["lammps_atom_style"] == "charge"
    assert conf.diameters.min() >= 0.73 and conf.diameters.max() <= 1.62
    # the diameters are printed with 6 decimals: agreement within half a unit of the last one
    expected = quantiles_inverse_power3(1500, 0.73, 1.62)
    assert np.max(np.abs(np.sort(conf.diameters) - expected)) <= 5e-7 + 1e-12
    # image flags are all zero, so wrapped positions lie in the shifted box
    assert np.all(conf.positions >= 0) and np.all(conf.positions < conf.box)
    np.testing.assert_array_equal(io.read(path, unwrap=True).positions, conf.positions)


@pytest.mark.skipif(not PSS_FILES, reason=f"reference data not found at {REFERENCE / 'pss'}")
def test_reference_file_through_every_format(tmp_path):
    conf = io.read(PSS_FILES[0])
    for fmt, ext in EXTS.items():
        path = tmp_path / f"ref{ext}"
        io.write(path, conf)
        assert_same(conf, io.read(path))


# ----------------------------------------------------------------------------- malformed input
GOOD_LAMMPS = [
    "LAMMPS data file, hand made",      # 1
    "",                                 # 2
    "4 atoms",                          # 3
    "2 atom types",                     # 4
    "",                                 # 5
    "0 2 xlo xhi",                      # 6
    "0 2 ylo yhi",                      # 7
    "0 2 zlo zhi",                      # 8
    "",                                 # 9
    "Atoms # charge",                   # 10
    "",                                 # 11
    "1 1 1.0 0.1 0.2 0.3 0 0 0",        # 12
    "2 2 0.9 0.5 0.5 0.5 0 0 0",        # 13
    "3 1 1.1 1.5 1.5 1.5 0 0 0",        # 14
    "4 2 1.2 1.0 1.9 0.1 0 0 0",        # 15
]


def lammps_text(replace: dict[int, str | None] | None = None) -> str:
    lines = list(GOOD_LAMMPS)
    for lineno, new in sorted((replace or {}).items(), reverse=True):
        if new is None:
            del lines[lineno - 1]
        else:
            lines[lineno - 1] = new
    return "\n".join(lines) + "\n"


def test_good_lammps_sample_reads(tmp_path):
    path = tmp_path / "good.data"
    path.write_text(lammps_text())
    conf = io.read(path)
    assert conf.n == 4
    np.testing.assert_array_equal(conf.diameters, [1.0, 0.9, 1.1, 1.2])


@pytest.mark.parametrize("replace, line, words", [
    ({15: None}, 14, "after 3 atoms"),                                  # truncated Atoms section
    ({15: "4 2 1.2 1.0"}, 15, "columns"),                               # truncated mid-line
    ({13: "2 2 0.9 0.5 0.5 0.5 0 0"}, 13, "columns"),                   # wrong column count
    ({12: "1 1 1.0 0.1 0.2"}, 12, "columns"),                           # wrong count on first line
    ({14: "3 1 1.1 1.5x 1.5 1.5 0 0 0"}, 14, "not a number"),           # a non-number
    ({13: "2 2 0.9 nan 0.5 0.5 0 0 0"}, 13, "not finite"),              # NaN position
    ({3: None}, 9, "atoms"),                                            # missing 'N atoms' header line
    ({7: None}, 9, "ylo yhi"),                                          # missing box line
    ({6: "0 abc xlo xhi"}, 6, "header"),                                # non-number in the header
    ({14: "3 3 1.1 1.5 1.5 1.5 0 0 0"}, 14, "atom type 3"),             # type out of range
    ({14: "2 1 1.1 1.5 1.5 1.5 0 0 0"}, 14, "duplicate atom id"),       # duplicate id
    ({10: "Atomz # charge"}, 10, "unknown section"),                    # unknown section
    ({10: "Atoms # full"}, 10, "not supported"),                        # unsupported atom style
    ({6: "0 2 0.5 xlo xhi"}, 6, "two numbers"),
    ({6: "2 0 xlo xhi"}, 6, "hi > lo"),
    ({15: "4 2 1.2 1.0 1.9 0.1 0 0 0", 16: "5 1 1.0 1.0 1.0 1.0 0 0 0"}, 16, "more than"),
])
def test_malformed_lammps_names_file_and_line(tmp_path, replace, line, words):
    text = lammps_text({k: v for k, v in replace.items() if k <= len(GOOD_LAMMPS)})
    for k, v in replace.items():
        if k > len(GOOD_LAMMPS):
            text += v + "\n"
    path = tmp_path / "bad.data"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        io.read(path)
    msg = assert_one_line_naming(exc, path, line)
    assert words in msg


GOOD_XYZ = [
    "3",
    'Lattice="2 0 0 0 2 0 0 0 2" Properties=species:S:1:pos:R:3:diameter:R:1 pbc="T T T"',
    "A 0.1 0.2 0.3 1.0",
    "B 0.5 0.5 0.5 0.9",
    "A 1.5 1.5 1.5 1.1",
]


@pytest.mark.parametrize("replace, line, words", [
    ({5: None}, 4, "truncated"),
    ({4: "B 0.5 0.5 0.9"}, 4, "columns"),
    ({3: "A 0.1 x 0.3 1.0"}, 3, "not a number"),
    ({1: "three"}, 1, "number of atoms"),
    ({2: 'Properties=species:S:1:pos:R:3'}, 2, "Lattice"),
    ({2: 'Lattice="2 0 0 0 2 0 0 0" Properties=species:S:1:pos:R:3:diameter:R:1'}, 2, "9 numbers"),
    ({2: 'Lattice="2 1 0 0 2 0 0 0 2" Properties=species:S:1:pos:R:3:diameter:R:1'}, 2, "orthorhombic"),
    ({2: 'Lattice="2 0 0 0 2 0 0 0 2" Properties=species:S:1:pos:R:3:diameter:R'}, 2, "Properties"),
])
def test_malformed_extxyz_names_file_and_line(tmp_path, replace, line, words):
    lines = list(GOOD_XYZ)
    for lineno, new in sorted(replace.items(), reverse=True):
        if new is None:
            del lines[lineno - 1]
        else:
            lines[lineno - 1] = new
    path = tmp_path / "bad.xyz"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as exc:
        io.read(path)
    msg = assert_one_line_naming(exc, path, line)
    assert words in msg


def test_good_xyz_sample_reads(tmp_path):
    path = tmp_path / "good.xyz"
    path.write_text("\n".join(GOOD_XYZ) + "\n")
    conf = io.read(path)
    np.testing.assert_array_equal(conf.types, [0, 1, 0])


@pytest.mark.parametrize("name", ["conf.foo", "conf", "conf.data.bak"])
def test_unknown_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text(lammps_text())
    with pytest.raises(InputError) as exc:
        io.read(path)
    assert_one_line_naming(exc, path)
    with pytest.raises(InputError):
        io.write(path, make_conf(3))
    with pytest.raises(InputError):
        io.read(path, fmt="pdb")


@pytest.mark.parametrize("ext", list(EXTS.values()))
def test_missing_and_garbage_files(tmp_path, ext):
    missing = tmp_path / f"missing{ext}"
    with pytest.raises(InputError) as exc:
        io.read(missing)
    assert_one_line_naming(exc, missing)
    garbage = tmp_path / f"garbage{ext}"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n garbage \x00\xff")
    with pytest.raises(InputError) as exc:
        io.read(garbage)
    assert_one_line_naming(exc, garbage)


def test_npz_missing_entry_and_pickled_content(tmp_path):
    conf = make_conf(3)
    path = tmp_path / "c.npz"
    np.savez(path, positions=conf.positions, box=conf.box, types=conf.types)
    with pytest.raises(InputError, match="'diameters' missing"):
        io.read(path)
    np.savez(path, positions=conf.positions, box=conf.box, types=conf.types,
             diameters=np.array([object()] * conf.n, dtype=object))
    with pytest.raises(InputError, match="pickle"):
        io.read(path)


# ----------------------------------------------------------------------------- atomic writes
def test_atomic_write_interrupted_leaves_no_file(tmp_path):
    target = tmp_path / "out.npz"

    def half_writer(tmp):
        Path(tmp).write_bytes(b"half of it")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of writing

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half_writer)
    assert list(tmp_path.iterdir()) == []

    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as fh:
            fh.write("partial")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def failing_writer(tmp):
        Path(tmp).write_text("new, half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write(target, failing_writer)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    atomic_write(target, lambda tmp: Path(tmp).write_text("new"))
    assert target.read_text() == "new"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("fmt", list(EXTS))
def test_interrupted_format_writer_leaves_nothing(tmp_path, monkeypatch, fmt):
    """A writer that dies half-way (here: an exception inside the format writer) leaves no file."""
    conf = make_conf(3)
    target = tmp_path / f"conf{EXTS[fmt]}"

    import twolevel.io.atomic as atomic_mod
    real_replace = os.replace

    def dying_replace(src, dst):
        assert Path(src).stat().st_size > 0  # something was written to the temporary file
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_mod.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        io.write(target, conf)
    monkeypatch.setattr(atomic_mod.os, "replace", real_replace)
    assert list(tmp_path.iterdir()) == []


def test_non_json_meta_is_refused_before_writing(tmp_path):
    conf = make_conf(3)
    conf.meta = {"bad": object()}
    for ext in EXTS.values():
        path = tmp_path / f"c{ext}"
        with pytest.raises(InputError) as exc:
            io.write(path, conf)
        assert_one_line_naming(exc, path)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- extxyz frames, reserved keys
def test_extxyz_reserved_meta_keys_and_frames(tmp_path):
    """A prepared glass's meta has 'model' and 'dim' (once refused as reserved); several frames."""
    confs = [make_conf(3, seed=k) for k in range(3)]
    for c in confs:
        c.meta.update({"model": "pss", "dim": 3, "energy": -1.5})
    path = io.write_frames(tmp_path / "t.xyz", confs, infos=[{"image": k} for k in range(3)])
    frames = io.read_frames(path)
    assert len(frames) == 3
    for k, (a, b) in enumerate(zip(confs, frames)):
        assert b.meta.pop("image") == k
        assert_same(a, b)
    third = io.read_extxyz(path, index=-1)
    np.testing.assert_array_equal(third.positions, confs[2].positions)
    # a truncated last frame names its own line
    lines = path.read_text().split("\n")
    cut = tmp_path / "cut.xyz"
    cut.write_text("\n".join(lines[:-6]) + "\n")
    with pytest.raises(InputError) as exc:
        io.read_frames(cut)
    msg = assert_one_line_naming(exc, cut, 2 * (23 + 2) + 2 + 18)
    assert "truncated" in msg
    with pytest.raises(InputError, match="frame 5 requested"):
        io.read_extxyz(path, index=5)
    with pytest.raises(InputError, match="multi-frame"):
        io.write_frames(tmp_path / "t.data", confs)


def test_lammps_masses_comments_are_species_names(tmp_path):
    """A data file written by OVITO (Masses with '# Ni' labels) keeps its species names, which extxyz writes."""
    path = tmp_path / "ovito.data"
    path.write_text("# LAMMPS data file written by OVITO Basic 3.10.0\n3 atoms\n2 atom types\n"
                    "0.0 3.0 xlo xhi\n0.0 3.0 ylo yhi\n0.0 3.0 zlo zhi\n\nMasses\n\n1 58.6934  # Ni\n"
                    "2 30.973762  # P\n\nAtoms  # atomic\n\n1 1 0.0 0.0 0.0\n2 2 1.0 1.0 1.0\n3 1 1.5 0.5 0.2\n")
    with pytest.warns(UserWarning, match="non-uniform masses"):
        conf = io.read(path)
    assert conf.meta["species_names"] == ["Ni", "P"]
    io.write(tmp_path / "c.xyz", conf)
    assert [ln.split()[0] for ln in (tmp_path / "c.xyz").read_text().splitlines()[2:]] == ["Ni", "P", "Ni"]
    np.testing.assert_array_equal(io.read(tmp_path / "c.xyz").types, [0, 1, 0])
