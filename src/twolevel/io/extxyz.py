"""Extended XYZ (``.xyz``, ``.extxyz``), read as they are by ASE and OVITO.

One frame::

    N
    Lattice="Lx 0 0 0 Ly 0 0 0 Lz" Properties=species:S:1:pos:R:3:radius:R:1:type_id:I:1 pbc="T T T" model="pss" key=value ...
    H x y z sigma/2 0
    ...

Conventions (see docs/formats.md):

- The box must be orthorhombic (a diagonal ``Lattice``); its origin is 0.
- ``species`` are element symbols so that ``ase.io.read`` accepts the file:
  type ``t`` is written as the element of atomic number ``t + 1`` (``H``, ``He``,
  ``Li``, ...; the convention of ASE's own LAMMPS reader, type = Z), or as the
  names in ``meta["species_names"]`` when those are element symbols. The type
  itself is the integer column ``type_id`` (OVITO maps ``type``/``species`` to
  its Particle Type, so ours has another name), read back first.
- ``radius:R:1`` holds sigma/2 (OVITO maps ``radius`` to its Radius property,
  so polydispersity is drawn; halving is exact in floating point). A
  ``diameter`` column (files of twolevel < 0.2) is read too. Without either,
  diameters are 1. Other per-atom properties (velocities, forces, ...) are ignored.
- Files without ``type_id``: species ``A, B, C, ...`` (``T26``, ...; older
  twolevel files) are types 0, 1, 2, ...; any other names are numbered in
  sorted order and their names stored in ``meta["species_names"]``.
- 2D configurations are written with ``pos:R:3`` and ``z = 0``, a Lattice with
  ``Lz = 1``, ``pbc="T T F"`` and ``dim=2``; a file is read as 2D if ``dim=2``
  is passed, or the comment says ``dim=2``, or ``pos`` has two columns, or
  ``pbc`` is ``"T T F"``.
- Every other ``key=value`` of the comment line goes to / comes from
  ``meta``: strings are quoted, numbers and ``T``/``F`` booleans bare,
  ``None`` as ``null``, lists and dicts as quoted JSON with ASE's ``_JSON ``
  prefix. Meta keys that the format or ASE reserve (:data:`RENAMED_KEYS`:
  ``model``, ``dim``, ``pbc``, ``stress``, ``energy``, ...) are written as
  ``meta_<key>`` and read back under their own name.
- :func:`read_extxyz` reads one frame (the first by default);
  :func:`read_extxyz_frames` and :func:`write_extxyz_frames` handle
  trajectories (NEB bands), where every frame may carry its own keys.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Configuration
from ..errors import InputError
from .atomic import atomic_open, input_error, read_text

__all__ = ["ELEMENTS", "RENAMED_KEYS", "info_to_meta", "meta_to_info", "read_extxyz", "read_extxyz_frames",
           "species_symbols", "write_extxyz", "write_extxyz_frames"]

_RESERVED = {"Lattice", "Properties", "pbc", "model", "dim"}
#: meta keys written as ``meta_<key>``: ours (``model``, ``dim``), the format's, and the ones ASE
#: treats specially on reading (3x3 ``stress``/``virial``, calculator results such as ``energy``)
RENAMED_KEYS = frozenset(_RESERVED | {"virial", "stress", "energy", "free_energy", "dipole", "magmom",
                                      "polarization", "dielectric_tensor"})
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_PAIR = re.compile(r'\s*([^\s="]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?')
_PTYPES = {"S", "R", "I", "L"}
_JSON_PREFIX = "_JSON "

#: element symbols by atomic number (index 0 is ASE's dummy "X")
ELEMENTS = tuple("X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se "  # noqa: SIM905
            "Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy "
            "Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf "
            "Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og".split())


def species_symbols(types: np.ndarray, names: Any = None) -> list[str]:
    """Element symbols for ``types``: ``names[t]`` when every name is an element symbol, else Z = t + 1.

    Z = type + 1 is what ``ase.io.read`` gives a LAMMPS data file without masses (type = Z); types
    past the periodic table become ASE's dummy ``X`` (the ``type_id`` column keeps them apart).
    """
    ntypes = int(types.max()) + 1 if len(types) else 0
    if (isinstance(names, (list, tuple)) and len(names) >= ntypes
            and all(isinstance(x, str) and x in ELEMENTS[1:] for x in names)):
        table = list(names)
    else:
        table = [ELEMENTS[t + 1] if t + 1 < len(ELEMENTS) else "X" for t in range(ntypes)]
    return [table[t] for t in types.tolist()]


def meta_to_info(model: str | None, meta: dict[str, Any]) -> dict[str, Any]:
    """Comment-line keys (and ASE ``Atoms.info``) for a configuration's model and meta."""
    info: dict[str, Any] = {}
    if model is not None:
        info["model"] = str(model)
    for key, value in meta.items():
        out = f"meta_{key}" if key in RENAMED_KEYS else key
        if out in info or (isinstance(key, str) and key.startswith("meta_") and key[5:] in RENAMED_KEYS):
            raise InputError(f"meta key {key!r} would be confused with a renamed reserved key")
        info[out] = value
    return info


def info_to_meta(info: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The inverse of :func:`meta_to_info`: (model, meta) from comment keys or ``Atoms.info``."""
    model = info.get("model")
    meta: dict[str, Any] = {}
    for key, value in info.items():
        if key in _RESERVED:
            continue
        if key.startswith("meta_") and key[5:] in RENAMED_KEYS:
            key = key[5:]
        meta[key] = value
    return (None if model is None else str(model)), meta


# ----------------------------------------------------------------------------- comment line
def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), s)


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _bare_value(s: str) -> Any:
    if s in ("T", "True", "true"):
        return True
    if s in ("F", "False", "false"):
        return False
    if s == "null":
        return None
    for conv in (int, float):
        try:
            return conv(s)
        except ValueError:
            pass
    return s


def parse_comment(path, line_no: int, line: str) -> dict[str, tuple[Any, bool]]:
    """key -> (value, was_quoted) for an extxyz comment line."""
    out: dict[str, tuple[Any, bool]] = {}
    pos, line = 0, line.rstrip()
    while pos < len(line):
        m = _PAIR.match(line, pos)
        if m is None or m.end() == pos:
            raise input_error(path, line_no, f"cannot parse the comment line at column {pos + 1}: "
                                             f"{line[pos:pos + 30]!r}")
        key, raw = m.group(1), m.group(2)
        if raw is None:
            value, quoted = True, False  # a bare flag
        elif raw.startswith('"'):
            value, quoted = _unescape(raw[1:-1]), True
        else:
            value, quoted = raw, False
        out[key] = (value, quoted)
        pos = m.end()
        if pos < len(line) and not line[pos].isspace():
            raise input_error(path, line_no, f"cannot parse the comment line at column {pos + 1}: "
                                             f"{line[pos:pos + 30]!r}")
    return out


def _meta_value(value: Any, quoted: bool) -> Any:
    if not quoted:
        return _bare_value(value) if isinstance(value, str) else value
    if value.startswith(_JSON_PREFIX):  # ASE's spelling of lists and dicts
        try:
            return json.loads(value[len(_JSON_PREFIX):])
        except ValueError:
            return value
    if value[:1] in "[{" and value:
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def _format_value(path, key: str, value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return f'"{_escape(value)}"'
    try:
        return f'"{_JSON_PREFIX}{_escape(json.dumps(value, separators=(",", ":")))}"'
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: meta[{key!r}] is not JSON-serialisable ({exc})") from None


# ----------------------------------------------------------------------------- species
def _species_name(t: int) -> str:
    return chr(ord("A") + t) if t < 26 else f"T{t}"


def _species_types(names: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
    uniq, inverse = np.unique(names, return_inverse=True)
    codes = []
    for u in uniq.tolist():
        if re.fullmatch(r"[A-Z]", u):
            codes.append(ord(u) - ord("A"))
        elif re.fullmatch(r"T\d+", u):
            codes.append(int(u[1:]))
        else:
            codes = None
            break
    if codes is not None and len(set(codes)) == len(codes):
        return np.asarray(codes, dtype=np.int64)[inverse], None
    # foreign names: number them in (numeric-aware) sorted order, keep the names
    def sort_key(s: str):
        return (0, float(s), s) if _is_number(s) else (1, 0.0, s)
    ordered = sorted(uniq.tolist(), key=sort_key)
    rank = {s: k for k, s in enumerate(ordered)}
    return np.asarray([rank[s] for s in uniq.tolist()], dtype=np.int64)[inverse], ordered


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- read
def _lines(path: Path, dim: int | None) -> list[str]:
    if dim not in (None, 2, 3):
        raise InputError(f"{path}: dim must be 2 or 3, got {dim!r}")
    return read_text(path).replace("\r\n", "\n").split("\n")


def read_extxyz(path: str | os.PathLike, *, dim: int | None = None, index: int = 0) -> Configuration:
    """Read one frame (the first by default, ``index=-1`` the last) of an extended XYZ file."""
    path = Path(path)
    lines = _lines(path, dim)
    if index >= 0:
        at = 0
        for _ in range(index):
            at = _skip_frame(path, lines, at)
            if at >= len(lines) or not lines[at].strip():
                raise InputError(f"{path}: frame {index} requested, the file holds {_ + 1}")
        return _read_frame(path, lines, at, dim)[0]
    frames = read_extxyz_frames(path, dim=dim)
    if -index > len(frames):
        raise InputError(f"{path}: frame {index} requested, the file holds {len(frames)}")
    return frames[index]


def read_extxyz_frames(path: str | os.PathLike, *, dim: int | None = None) -> list[Configuration]:
    """Every frame of an extended XYZ file (a trajectory, an NEB band), in order."""
    path = Path(path)
    lines = _lines(path, dim)
    frames, at = [], 0
    while True:
        conf, at = _read_frame(path, lines, at, dim)
        frames.append(conf)
        if all(not x.strip() for x in lines[at:]):
            return frames


def _atom_count(path: Path, lines: list[str], at: int) -> int:
    first = lines[at].strip() if at < len(lines) else ""
    if not first:
        raise input_error(path, at + 1, "first line must hold the number of atoms, found an empty line")
    try:
        n = int(first.split()[0])
    except ValueError:
        raise input_error(path, at + 1, f"first line must hold the number of atoms, found {first[:40]!r}") from None
    if n < 1:
        raise input_error(path, at + 1, f"number of atoms must be positive, got {n}")
    return n


def _skip_frame(path: Path, lines: list[str], at: int) -> int:
    return at + 2 + _atom_count(path, lines, at)


def _read_frame(path: Path, lines: list[str], at: int, dim: int | None) -> tuple[Configuration, int]:
    """The frame whose atom-count line is ``lines[at]``, and the index of the line after it."""
    n = _atom_count(path, lines, at)
    if len(lines) < at + 2:
        raise input_error(path, at + 2, "missing comment line (Lattice=... Properties=...)")
    c = at + 2  # 1-based number of the comment line
    info = parse_comment(path, c, lines[at + 1])

    # Properties -> column layout
    props_raw = info.get("Properties", ("species:S:1:pos:R:3", False))[0]
    fields = str(props_raw).split(":")
    if len(fields) % 3:
        raise input_error(path, c, f"Properties={props_raw!r} is not a list of name:type:count triples")
    columns: dict[str, tuple[int, int, str]] = {}
    ncols = 0
    for k in range(0, len(fields), 3):
        name, ptype, count = fields[k], fields[k + 1], fields[k + 2]
        if ptype not in _PTYPES or not count.isdigit() or int(count) < 1:
            raise input_error(path, c, f"bad property {name}:{ptype}:{count} in Properties")
        columns[name.lower()] = (ncols, int(count), ptype)
        ncols += int(count)
    if "pos" not in columns or columns["pos"][2] != "R" or columns["pos"][1] not in (2, 3):
        raise input_error(path, c, "Properties has no pos:R:3 (or pos:R:2) column")
    species_col = columns.get("species")
    if species_col is None:
        species_col = columns.get("type") or columns.get("element")

    # Lattice -> box
    if "Lattice" not in info:
        raise input_error(path, c, 'no Lattice="..." key: a periodic box is required')
    try:
        lat = np.array([float(x) for x in str(info["Lattice"][0]).split()])
    except ValueError:
        raise input_error(path, c, f"Lattice={info['Lattice'][0]!r} is not a list of numbers") from None
    if lat.size == 9:
        mat = lat.reshape(3, 3)
    elif lat.size == 4:
        mat = lat.reshape(2, 2)
    else:
        raise input_error(path, c, f"Lattice must have 9 numbers (or 4 in 2D), got {lat.size}")
    if np.any(mat - np.diag(np.diag(mat))):
        raise input_error(path, c, "only orthorhombic boxes are supported (Lattice must be diagonal)")

    # dimension
    if dim is None:
        if "dim" in info:
            dim = _bare_value(str(info["dim"][0]))
            if dim not in (2, 3):
                raise input_error(path, c, f"dim={info['dim'][0]} must be 2 or 3")
        elif columns["pos"][1] == 2 or mat.shape == (2, 2):
            dim = 2
        else:
            pbc = str(info.get("pbc", ("T T T", False))[0]).split()
            dim = 2 if len(pbc) == 3 and pbc[2] in ("F", "False", "0") else 3
    if dim == 3 and (columns["pos"][1] == 2 or mat.shape == (2, 2)):
        raise input_error(path, c, "dim=3 requested but the file holds 2D positions or a 2D Lattice")
    box = np.diag(mat)[:dim]

    # body
    body = lines[at + 2:at + 2 + n]
    if len(body) < n or (body and not body[-1].strip() and len(lines) == at + 2 + n):
        got = sum(1 for b in body if b.strip())
        raise input_error(path, c + got, f"file ends after {got} atom lines, line {at + 1} declares {n} "
                                         "(truncated file?)")
    pc, pn, _ = columns["pos"]
    dcol = columns.get("diameter") or columns.get("radius")
    counts = np.fromiter(map(len, map(str.split, body)), dtype=np.int64, count=n)
    if np.any(counts != ncols):
        j = int(np.argmax(counts != ncols))
        raise input_error(path, c + 1 + j, f"{counts[j]} columns, Properties declares {ncols}")
    usecols = list(range(pc, pc + pn)) + ([dcol[0]] if dcol else [])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.loadtxt(body, usecols=usecols, comments=None, ndmin=2, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError("not finite")
    except ValueError:
        _locate_error(path, body, ncols, columns, c + 1)
        raise input_error(path, c + 1, "cannot parse the atom lines") from None
    pos = values[:, :pn]
    diam = values[:, pn].copy() if dcol else np.ones(n)
    if dcol is not None and "radius" in columns and "diameter" not in columns:
        diam = 2.0 * diam

    if dim == 2 and pn == 3:
        z = pos[:, 2]
        bad = z != z[0]
        if bad.any():
            row = int(np.argmax(bad))
            raise input_error(path, c + 1 + row, f"2D file but z = {z[row]!r} differs from z = {z[0]!r} of the first atom")
    positions = pos[:, :dim]

    meta: dict[str, Any] = {}
    tcol = columns.get("type_id")
    if tcol is not None and tcol[2] == "I" and tcol[1] == 1:
        try:
            types = np.array([line.split()[tcol[0]] for line in body], dtype=np.int64)
        except ValueError:
            raise input_error(path, c, "column type_id holds a value that is not an integer") from None
        if np.any(types < 0):
            raise input_error(path, c, f"column type_id holds a negative type {int(types.min())}")
    elif species_col is not None:
        sc = species_col[0]
        if sc == 0:
            names = np.array([line.split(None, 1)[0] for line in body])
        else:
            names = np.array([line.split()[sc] for line in body])
        if species_col[2] in ("I",):
            try:
                types = names.astype(np.int64)
            except ValueError:
                types, species_names = _species_types(names)
            else:
                species_names = None
        else:
            types, species_names = _species_types(names)
        if species_names is not None:
            meta["species_names"] = species_names
    else:
        types = np.zeros(n, dtype=np.int64)

    model, rest = info_to_meta({k: _meta_value(v, q) if k != "model" else v for k, (v, q) in info.items()})
    meta.update(rest)
    try:
        return Configuration(positions, box, types, diam, model, meta), at + 2 + n
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _locate_error(path, body: list[str], ncols: int, columns, first: int = 3) -> None:
    float_cols = set()
    for name, (c, k, ptype) in columns.items():
        if name in ("pos", "diameter", "radius"):
            float_cols.update(range(c, c + k))
    for j, line in enumerate(body):
        toks = line.split()
        if len(toks) != ncols:
            raise input_error(path, first + j, f"{len(toks)} columns, Properties declares {ncols}")
        for c in sorted(float_cols):
            try:
                v = float(toks[c])
            except ValueError:
                raise input_error(path, first + j, f"column {c + 1} is not a number: {toks[c]!r}") from None
            if not math.isfinite(v):
                raise input_error(path, first + j, f"column {c + 1} is not finite: {toks[c]!r}")


# ----------------------------------------------------------------------------- write
def _frame_text(path: Path, conf: Configuration, extra: dict[str, Any] | None = None) -> str:
    """One frame: count line, comment line (box, columns, model, meta, ``extra`` keys), atom lines."""
    n, d = conf.n, conf.dim
    if d not in (2, 3):
        raise InputError(f"{path}: extended XYZ holds 2D or 3D systems, not {d}D")
    if np.any(conf.types < 0):
        raise InputError(f"{path}: negative particle type {int(conf.types.min())}")
    parts = []
    lz = conf.box[2] if d == 3 else 1.0
    lx, ly = conf.box[0], conf.box[1]
    parts.append(f'Lattice="{float(lx)!r} 0.0 0.0 0.0 {float(ly)!r} 0.0 0.0 0.0 {float(lz)!r}"')
    parts.append("Properties=species:S:1:pos:R:3:radius:R:1:type_id:I:1")
    parts.append('pbc="T T T"' if d == 3 else 'pbc="T T F"')
    if d == 2:
        parts.append("dim=2")
    try:
        info = meta_to_info(conf.model, conf.meta)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    for key, value in (extra or {}).items():  # per-frame keys, as they are (``energy`` for ASE's NEB tools)
        if key in _RESERVED:
            raise InputError(f"{path}: frame key {key!r} is reserved in extended XYZ")
        info[key] = value
    for key, value in info.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise InputError(f"{path}: meta key {key!r} cannot be an extxyz key (letters, digits, _ . -)")
        parts.append(f"{key}={_format_value(path, key, value)}")

    species = species_symbols(conf.types, conf.meta.get("species_names"))
    pos = np.zeros((n, 3))
    pos[:, :d] = conf.positions
    x, y, z = pos.T.tolist()
    # sigma / 2 is exact in binary floating point, so 2 * radius gives the diameters back bit for bit
    radius = (0.5 * conf.diameters).tolist()
    rows = map("%s %r %r %r %r %d\n".__mod__, zip(species, x, y, z, radius, conf.types.tolist()))
    return f"{n}\n{' '.join(parts)}\n" + "".join(rows)


def write_extxyz(path: str | os.PathLike, conf: Configuration) -> Path:
    """Write ``conf`` as one extended-XYZ frame (atomically)."""
    return write_extxyz_frames(path, [conf])


def write_extxyz_frames(path: str | os.PathLike, confs, infos=None) -> Path:
    """Write configurations as consecutive frames (atomically); ``infos``: extra keys per frame.

    Every frame is complete on its own (box, columns, model, meta), so OVITO and ASE read the file
    as a trajectory (``ase.io.read(path, ":")``); the extra keys (image index, reaction coordinate,
    ...) travel in each frame's comment line as they are, not renamed: an ``energy`` key becomes
    the ASE calculator's energy of that frame (what ASE's NEB tools plot).
    """
    path = Path(path)
    confs = list(confs)
    if not confs:
        raise InputError(f"{path}: no configuration to write")
    infos = list(infos) if infos is not None else [None] * len(confs)
    if len(infos) != len(confs):
        raise InputError(f"{path}: {len(infos)} info dicts for {len(confs)} frames")
    texts = [_frame_text(path, c, e) for c, e in zip(confs, infos)]  # validate everything first
    with atomic_open(path, "w", newline="\n") as fh:
        fh.writelines(texts)
    return path
