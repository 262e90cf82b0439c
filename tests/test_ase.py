"""ASE interoperability, checked with ASE itself (issue #18 items 1-3).

- our extended XYZ is read by ``ase.io.read`` and an ASE-written file reads back;
- ``to_ase`` / ``from_ase`` round trips;
- the ASE Calculator: forces = -grad E, stress = (1/V) dE/d(strain) by finite strain (diagonal)
  and against the Lees-Edwards shear code of twolevel.vibrations.sheared (xy), -tr/3 = pressure;
- ASE's own optimisers (BFGS, FIRE) reach our minimiser's minimum; ASE's climbing-image NEB finds
  the saddle of our NEB.
OVITO is not installed here; its column mapping (``species``/``type`` -> Particle Type, ``radius``
-> Radius, ``pos`` -> Position) is that of its XYZImporter::mapVariableToProperty, checked below on
the file's Properties line.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ase", reason="ase not installed (pip install 'twolevel[ase]')")
import ase.io
from ase.mep import NEB
from ase.optimize import FIRE, LBFGS

from twolevel import io
from twolevel.config import Configuration
from twolevel.engine import ParticleSystem, minimize
from twolevel.errors import InputError
from twolevel.models import get_model


@pytest.fixture(scope="module")
def glass3d():
    """A 3D PSS inherent structure, N = 100 (box 4.64 > twice the largest cutoff), with glass-like meta."""
    conf = get_model("pss").random_configuration(100, dim=3, seed=3)
    s = ParticleSystem(conf)
    x = minimize(s, conf.positions, ftol=1e-10).x
    meta = {"model": "pss", "dim": 3, "T_f": 0.1, "seed": 7714651797355756422, "equilibrated": True,
            "quench": "md", "tags": [1, 2], "stress": 0.5}  # model/dim/stress: keys the format or ASE reserve
    return Configuration(x, conf.box, conf.types, conf.diameters, "pss", meta)


def test_extxyz_is_read_by_ase_and_back(glass3d, tmp_path):
    path = io.write(tmp_path / "g.xyz", glass3d)
    atoms = ase.io.read(path)
    assert len(atoms) == glass3d.n and atoms.pbc.all()
    np.testing.assert_array_equal(atoms.cell.lengths(), glass3d.box)
    np.testing.assert_array_equal(atoms.positions, glass3d.positions)
    np.testing.assert_array_equal(2 * atoms.arrays["radius"], glass3d.diameters)
    np.testing.assert_array_equal(atoms.arrays["type_id"], glass3d.types)
    assert atoms.info["model"] == "pss" and atoms.info["meta_model"] == "pss" and atoms.info["T_f"] == 0.1
    assert atoms.calc is None  # our meta 'stress' did not become an ASE calculator result
    # an ASE-written file (its own column order and 8-decimal floats) reads back
    ase.io.write(tmp_path / "ase.xyz", atoms)
    back = io.read(tmp_path / "ase.xyz")
    assert back.model == "pss"
    assert back.meta.pop("tags") == "1 2"  # ASE rewrites a numeric list as a plain string (docs/formats.md)
    assert back.meta == {k: v for k, v in glass3d.meta.items() if k != "tags"}
    np.testing.assert_array_equal(back.types, glass3d.types)
    np.testing.assert_allclose(back.diameters, glass3d.diameters, atol=1e-8)
    np.testing.assert_allclose(back.positions, glass3d.positions, atol=1e-8)
    # and our own file round-trips exactly
    again = io.read(path)
    assert again.meta == glass3d.meta and again.model == "pss"
    for key in ("positions", "box", "types", "diameters"):
        np.testing.assert_array_equal(getattr(again, key), getattr(glass3d, key))


def test_ovito_column_mapping(glass3d, tmp_path):
    """OVITO (not installed) maps 'species'/'type'/'element' to Particle Type and 'radius' to Radius:
    we write one type-like column (species) and the radius; our own type column has another name."""
    path = io.write(tmp_path / "g.xyz", glass3d)
    props = next(p for p in path.read_text().split("\n")[1].split() if p.startswith("Properties="))
    fields = props.split("=", 1)[1].split(":")
    names = [n.lower() for n in fields[0::3]]
    assert [n for n in names if n in ("type", "element", "atom_types", "species")] == ["species"]
    assert "radius" in names and "pos" in names


def test_foreign_species_types_and_old_files(tmp_path):
    # an ASE file with element symbols and no type column: types from the sorted names
    atoms = ase.Atoms("NiPNi", positions=[[0, 0, 0], [1, 1, 1], [1.5, 0.5, 0.2]], cell=[3, 3, 3], pbc=True)
    ase.io.write(tmp_path / "nip.xyz", atoms)
    conf = io.read(tmp_path / "nip.xyz")
    np.testing.assert_array_equal(conf.types, [0, 1, 0])
    assert conf.meta["species_names"] == ["Ni", "P"]
    # and they are written back as Ni and P, not as H and He
    io.write(tmp_path / "back.xyz", conf)
    assert ase.io.read(tmp_path / "back.xyz").get_chemical_symbols() == ["Ni", "P", "Ni"]
    # a file of twolevel < 0.2 (species A/B, diameter column) still reads
    (tmp_path / "old.xyz").write_text('2\nLattice="2 0 0 0 2 0 0 0 2" Properties=species:S:1:pos:R:3:diameter:R:1 '
                                      'pbc="T T T" model="ka"\nA 0 0 0 1.0\nB 1 1 1 0.9\n')
    old = io.read(tmp_path / "old.xyz")
    np.testing.assert_array_equal(old.types, [0, 1])
    np.testing.assert_array_equal(old.diameters, [1.0, 0.9])
    # an atoms object with a non-periodic or tilted cell is refused in one line
    with pytest.raises(InputError, match="periodic"):
        io.from_ase(ase.Atoms("H", positions=[[0, 0, 0]], cell=[2, 2, 2], pbc=False))
    with pytest.raises(InputError, match="orthorhombic"):
        io.from_ase(ase.Atoms("H", positions=[[0, 0, 0]], cell=[[2, 0, 0], [1, 2, 0], [0, 0, 2]], pbc=True))


def test_to_ase_matches_the_file_and_round_trips(glass3d, tmp_path):
    atoms = io.to_ase(glass3d, calculator=False)
    via_file = ase.io.read(io.write(tmp_path / "g.xyz", glass3d))
    assert atoms.get_chemical_symbols() == via_file.get_chemical_symbols()
    assert atoms.info.keys() == via_file.info.keys()
    for key, value in atoms.info.items():  # the file gives numpy scalars and arrays for numbers
        np.testing.assert_array_equal(via_file.info[key], value)
    np.testing.assert_array_equal(atoms.arrays["radius"], via_file.arrays["radius"])
    np.testing.assert_array_equal(atoms.get_masses(), np.ones(glass3d.n))  # reduced units: m = 1
    back = io.from_ase(atoms)
    assert back.model == glass3d.model and back.meta == glass3d.meta
    for key in ("positions", "box", "types", "diameters"):
        np.testing.assert_array_equal(getattr(back, key), getattr(glass3d, key))
    # 2D: z = 0, pbc T T F, back to a 2D configuration
    c2 = get_model("pss").random_configuration(30, dim=2, seed=1)
    a2 = io.to_ase(c2, calculator=False)
    assert tuple(a2.pbc) == (True, True, False)
    b2 = io.from_ase(a2)
    assert b2.dim == 2
    np.testing.assert_array_equal(b2.positions, c2.positions)


def test_calculator_forces_stress_identities(glass3d):
    atoms = io.to_ase(glass3d)
    s = ParticleSystem(glass3d)
    rng = np.random.default_rng(0)
    atoms.positions += 0.02 * rng.standard_normal(atoms.positions.shape)  # off the minimum: forces != 0
    e, f = s.energy_forces(atoms.positions)
    assert atoms.get_potential_energy() == pytest.approx(e, rel=1e-13)
    np.testing.assert_allclose(atoms.get_forces(), f, rtol=1e-12, atol=1e-12)
    # forces = -grad E along a random direction (central difference)
    u = rng.standard_normal(f.shape)
    u /= np.linalg.norm(u)
    h = 1e-5
    x0 = atoms.positions.copy()
    atoms.positions = x0 + h * u
    ep = atoms.get_potential_energy()
    atoms.positions = x0 - h * u
    em = atoms.get_potential_energy()
    atoms.positions = x0
    assert (ep - em) / (2 * h) == pytest.approx(-np.sum(f * u), rel=1e-6)
    # stress: diagonal by a finite uniaxial strain of cell and atoms; sigma_aa = (1/V) dE/d eps_aa
    sig = atoms.get_stress(voigt=False)
    vol = atoms.get_volume()
    eps = 1e-6
    for a in range(3):
        es = []
        for sgn in (1, -1):
            b = atoms.copy()
            b.calc = io.to_ase(glass3d).calc
            cell = b.cell.array.copy()
            cell[a, a] *= 1 + sgn * eps
            b.set_cell(cell, scale_atoms=True)
            es.append(b.get_potential_energy())
        assert sig[a, a] == pytest.approx((es[0] - es[1]) / (2 * eps * vol), rel=1e-5)
    # xy: against the Lees-Edwards code of vibrations.sheared (tilted box, its own minimum image)
    from twolevel.vibrations.sheared import ShearedSystem

    conf = Configuration(x0, glass3d.box, glass3d.types, glass3d.diameters, "pss")
    sh = ShearedSystem(conf)
    ly = glass3d.box[1]
    g = 1e-6
    e_g = []
    for gam in (g, -g):
        sh.tilt = gam * ly
        xs = x0.copy()
        xs[:, 0] += gam * xs[:, 1]
        e_g.append(sh.energy(xs))
    assert sig[0, 1] == pytest.approx((e_g[0] - e_g[1]) / (2 * g * vol), rel=1e-4, abs=1e-9)
    assert sig[0, 1] == pytest.approx(sig[1, 0])
    # pressure of the engine (virial route, T = 0) = -trace / 3
    assert -np.trace(sig) / 3 == pytest.approx(s.pressure(x0), rel=1e-12)


def test_ase_optimisers_reach_our_minimum():
    """ASE's FIRE and L-BFGS on a 2D glass (z held by the FixCartesian of to_ase) find our minimum."""
    conf = get_model("pss").random_configuration(30, dim=2, seed=3)
    s = ParticleSystem(conf)
    conf.positions = minimize(s, conf.positions, ftol=1e-10).x
    e_ref = s.energy(conf.positions)
    rng = np.random.default_rng(1)
    for opt in (FIRE, LBFGS):
        atoms = io.to_ase(conf)
        atoms.positions[:, :2] += 0.01 * rng.standard_normal((conf.n, 2))
        assert opt(atoms, logfile=None).run(fmax=1e-7, steps=5000)
        assert np.all(atoms.positions[:, 2] == 0.0)
        assert atoms.get_potential_energy() == pytest.approx(e_ref, rel=1e-12)
        dx = s.distance(conf.positions, atoms.positions[:, :2])
        dx -= dx.mean(axis=0)  # the minimum is defined up to a uniform translation
        assert np.abs(dx).max() < 1e-6


def _glass_pair(n=64, seed=5, T_exp=0.08, every=200):
    """Two adjacent inherent structures of a small 2D PSS glass (as in test_paths.py)."""
    from twolevel.engine import maxwell_boltzmann

    conf = get_model("pss").random_configuration(n, dim=2, seed=seed)
    s = ParticleSystem(conf)
    rng = np.random.default_rng(seed)
    x = minimize(s, conf.positions, method="fire", ftol=1e-2, max_steps=2000).x
    v = maxwell_boltzmann(n, 2, 1.0, rng)
    s.run_md(x, v, 1500, 0.005, thermostat="langevin", temperature=1.0, seed=seed)
    r0 = minimize(s, x, ftol=1e-10)
    x = r0.x.copy()
    v = maxwell_boltzmann(n, 2, T_exp, rng)
    for _ in range(100):
        s.run_md(x, v, every, 0.005, thermostat="berendsen", temperature=T_exp)
        r = minimize(s, x, ftol=1e-8)
        if np.sqrt((s.distance(r0.x, r.x) ** 2).sum(axis=1)).max() > 0.05:
            return s, r0.x, r.x
    raise RuntimeError("no transition found")  # pragma: no cover


def test_ase_neb_finds_our_saddle():
    """ASE's climbing-image NEB (straight start, 7 images) between the minima of our double well
    reaches the saddle of our NEB (24 images), and it is a first-order saddle of our Hessian."""
    from twolevel.paths import find_path

    s, xa, xb = _glass_pair()
    (dw,) = [d for d in find_path(s, xa, xb, images=16, method="neb", ftol=1e-5).double_wells if d.ok]
    c = s.conf
    ends = [Configuration(x, c.box, c.types, c.diameters, "pss") for x in (dw.x_low, dw.x_high)]
    images = [io.to_ase(ends[0]) for _ in range(6)] + [io.to_ase(ends[1])]
    neb = NEB(images, climb=True, k=1.0, method="improvedtangent")
    neb.interpolate(mic=True)
    assert FIRE(neb, logfile=None).run(fmax=1e-3, steps=5000)
    e = np.array([a.get_potential_energy() for a in images])
    top = int(np.argmax(e))
    assert e[top] - e[0] == pytest.approx(dw.V_a, rel=1e-4)
    w = np.linalg.eigvalsh(s.hessian(images[top].positions[:, :2]).toarray())
    assert w[0] < -1e-3 and w[1] > -1e-6  # one unstable direction (then the two zero translations)


@pytest.mark.parametrize("masses", [False, True])
def test_lammps_data_written_by_ase_reads(glass3d, tmp_path, masses):
    """A LAMMPS data file of another program (ASE's writer, with or without a Masses section)."""
    atoms = io.to_ase(glass3d, calculator=False)
    path = tmp_path / "ase.data"
    ase.io.write(path, atoms, format="lammps-data", atom_style="atomic", masses=masses)
    assert ("Masses" in path.read_text()) == masses
    conf = io.read(path)
    np.testing.assert_allclose(conf.positions, glass3d.positions, atol=1e-12)
    np.testing.assert_array_equal(conf.types, np.zeros(glass3d.n))  # one species, one LAMMPS type
    assert conf.meta["lammps_atom_style"] == "atomic"
    # a plain XYZ (no cell) is refused in one line that says what is missing
    (tmp_path / "plain.xyz").write_text("2\ncomment\nAr 0 0 0\nAr 1 1 1\n")
    with pytest.raises(InputError, match="Lattice"):
        io.read(tmp_path / "plain.xyz")
