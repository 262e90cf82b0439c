"""Extended XYZ (``.xyz``, ``.extxyz``), the format of ASE, OVITO and friends.

One frame::

    N
    Lattice="Lx 0 0 0 Ly 0 0 0 Lz" Properties=species:S:1:pos:R:3:diameter:R:1 pbc="T T T" model="pss" key=value ...
    A x y z sigma
    ...

Conventions (see docs/formats.md):

- The box must be orthorhombic (a diagonal ``Lattice``); its origin is 0.
- Types are written as species ``A, B, C, ...`` (type 0 is ``A``; from type 26
  on ``T26, T27, ...``) and read back the same way. Any other species names
  are numbered in sorted order and their names stored in
  ``meta["species_names"]``.
- ``diameter:R:1`` holds the diameters; a ``radius`` column (OVITO's
  ``Radius``) is read as half the diameter. Without either, diameters are 1.
  Other per-atom properties (velocities, forces, ...) are ignored.
- 2D configurations are written with ``pos:R:3`` and ``z = 0``, a Lattice with
  ``Lz = 1``, ``pbc="T T F"`` and ``dim=2``; a file is read as 2D if ``dim=2``
  is passed, or the comment says ``dim=2``, or ``pos`` has two columns, or
  ``pbc`` is ``"T T F"``.
- Every other ``key=value`` of the comment line goes to / comes from
  ``meta``: strings are quoted, numbers and ``T``/``F`` booleans bare,
  ``None`` as ``null``, lists and dicts as quoted JSON.
- Only the first frame of a multi-frame file is read.
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

__all__ = ["read_extxyz", "write_extxyz"]

_RESERVED = {"Lattice", "Properties", "pbc", "model", "dim"}
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_PAIR = re.compile(r'\s*([^\s="]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?')
_PTYPES = {"S", "R", "I", "L"}


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
        return f'"{_escape(json.dumps(value, separators=(",", ":")))}"'
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
def read_extxyz(path: str | os.PathLike, *, dim: int | None = None) -> Configuration:
    """Read the first frame of an extended XYZ file."""
    path = Path(path)
    if dim not in (None, 2, 3):
        raise InputError(f"{path}: dim must be 2 or 3, got {dim!r}")
    text = read_text(path).replace("\r\n", "\n")
    lines = text.split("\n")
    first = lines[0].strip()
    if not first:
        raise input_error(path, 1, "first line must hold the number of atoms, found an empty line")
    try:
        n = int(first.split()[0])
    except ValueError:
        raise input_error(path, 1, f"first line must hold the number of atoms, found {first[:40]!r}") from None
    if n < 1:
        raise input_error(path, 1, f"number of atoms must be positive, got {n}")
    if len(lines) < 2:
        raise input_error(path, 2, "missing comment line (Lattice=... Properties=...)")
    info = parse_comment(path, 2, lines[1])

    # Properties -> column layout
    props_raw = info.get("Properties", ("species:S:1:pos:R:3", False))[0]
    fields = str(props_raw).split(":")
    if len(fields) % 3:
        raise input_error(path, 2, f"Properties={props_raw!r} is not a list of name:type:count triples")
    columns: dict[str, tuple[int, int, str]] = {}
    ncols = 0
    for k in range(0, len(fields), 3):
        name, ptype, count = fields[k], fields[k + 1], fields[k + 2]
        if ptype not in _PTYPES or not count.isdigit() or int(count) < 1:
            raise input_error(path, 2, f"bad property {name}:{ptype}:{count} in Properties")
        columns[name.lower()] = (ncols, int(count), ptype)
        ncols += int(count)
    if "pos" not in columns or columns["pos"][2] != "R" or columns["pos"][1] not in (2, 3):
        raise input_error(path, 2, "Properties has no pos:R:3 (or pos:R:2) column")
    species_col = columns.get("species")
    if species_col is None:
        species_col = columns.get("type") or columns.get("element")

    # Lattice -> box
    if "Lattice" not in info:
        raise input_error(path, 2, 'no Lattice="..." key: a periodic box is required')
    try:
        lat = np.array([float(x) for x in str(info["Lattice"][0]).split()])
    except ValueError:
        raise input_error(path, 2, f"Lattice={info['Lattice'][0]!r} is not a list of numbers") from None
    if lat.size == 9:
        mat = lat.reshape(3, 3)
    elif lat.size == 4:
        mat = lat.reshape(2, 2)
    else:
        raise input_error(path, 2, f"Lattice must have 9 numbers (or 4 in 2D), got {lat.size}")
    if np.any(mat - np.diag(np.diag(mat))):
        raise input_error(path, 2, "only orthorhombic boxes are supported (Lattice must be diagonal)")

    # dimension
    if dim is None:
        if "dim" in info:
            dim = _bare_value(str(info["dim"][0]))
            if dim not in (2, 3):
                raise input_error(path, 2, f"dim={info['dim'][0]} must be 2 or 3")
        elif columns["pos"][1] == 2 or mat.shape == (2, 2):
            dim = 2
        else:
            pbc = str(info.get("pbc", ("T T T", False))[0]).split()
            dim = 2 if len(pbc) == 3 and pbc[2] in ("F", "False", "0") else 3
    if dim == 3 and (columns["pos"][1] == 2 or mat.shape == (2, 2)):
        raise input_error(path, 2, "dim=3 requested but the file holds 2D positions or a 2D Lattice")
    box = np.diag(mat)[:dim]

    # body
    body = lines[2:2 + n]
    if len(body) < n or (body and not body[-1].strip() and len(lines) == 2 + n):
        got = sum(1 for b in body if b.strip())
        raise input_error(path, 2 + got, f"file ends after {got} atom lines, line 1 declares {n} (truncated file?)")
    pc, pn, _ = columns["pos"]
    dcol = columns.get("diameter") or columns.get("radius")
    counts = np.fromiter(map(len, map(str.split, body)), dtype=np.int64, count=n)
    if np.any(counts != ncols):
        j = int(np.argmax(counts != ncols))
        raise input_error(path, 3 + j, f"{counts[j]} columns, Properties declares {ncols}")
    usecols = list(range(pc, pc + pn)) + ([dcol[0]] if dcol else [])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.loadtxt(body, usecols=usecols, comments=None, ndmin=2, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError("not finite")
    except ValueError:
        _locate_error(path, body, ncols, columns)
        raise input_error(path, 3, "cannot parse the atom lines") from None
    pos = values[:, :pn]
    diam = values[:, pn].copy() if dcol else np.ones(n)
    if dcol is not None and "radius" in columns and "diameter" not in columns:
        diam = 2.0 * diam

    if dim == 2 and pn == 3:
        z = pos[:, 2]
        bad = z != z[0]
        if bad.any():
            row = int(np.argmax(bad))
            raise input_error(path, 3 + row, f"2D file but z = {z[row]!r} differs from z = {z[0]!r} of the first atom")
    positions = pos[:, :dim]

    meta: dict[str, Any] = {}
    if species_col is not None:
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

    model = info["model"][0] if "model" in info else None
    if model is not None and not isinstance(model, str):
        model = str(model)
    for key, (value, quoted) in info.items():
        if key not in _RESERVED:
            meta[key] = _meta_value(value, quoted)
    try:
        return Configuration(positions, box, types, diam, model, meta)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _locate_error(path, body: list[str], ncols: int, columns) -> None:
    float_cols = set()
    for name, (c, k, ptype) in columns.items():
        if name in ("pos", "diameter", "radius"):
            float_cols.update(range(c, c + k))
    for j, line in enumerate(body):
        toks = line.split()
        if len(toks) != ncols:
            raise input_error(path, 3 + j, f"{len(toks)} columns, Properties declares {ncols}")
        for c in sorted(float_cols):
            try:
                v = float(toks[c])
            except ValueError:
                raise input_error(path, 3 + j, f"column {c + 1} is not a number: {toks[c]!r}") from None
            if not math.isfinite(v):
                raise input_error(path, 3 + j, f"column {c + 1} is not finite: {toks[c]!r}")


# ----------------------------------------------------------------------------- write
def write_extxyz(path: str | os.PathLike, conf: Configuration) -> Path:
    """Write ``conf`` as one extended-XYZ frame (atomically)."""
    path = Path(path)
    n, d = conf.n, conf.dim
    if d not in (2, 3):
        raise InputError(f"{path}: extended XYZ holds 2D or 3D systems, not {d}D")
    if np.any(conf.types < 0):
        raise InputError(f"{path}: negative particle type {int(conf.types.min())}")
    parts = []
    lz = conf.box[2] if d == 3 else 1.0
    lx, ly = conf.box[0], conf.box[1]
    parts.append(f'Lattice="{float(lx)!r} 0.0 0.0 0.0 {float(ly)!r} 0.0 0.0 0.0 {float(lz)!r}"')
    parts.append("Properties=species:S:1:pos:R:3:diameter:R:1")
    parts.append('pbc="T T T"' if d == 3 else 'pbc="T T F"')
    if d == 2:
        parts.append("dim=2")
    if conf.model is not None:
        parts.append(f"model={_format_value(path, 'model', str(conf.model))}")
    for key, value in conf.meta.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise InputError(f"{path}: meta key {key!r} cannot be an extxyz key (letters, digits, _ . -)")
        if key in _RESERVED:
            raise InputError(f"{path}: meta key {key!r} is reserved in extended XYZ")
        parts.append(f"{key}={_format_value(path, key, value)}")

    names = [_species_name(t) for t in range(int(conf.types.max()) + 1)]
    species = [names[t] for t in conf.types.tolist()]
    pos = np.zeros((n, 3))
    pos[:, :d] = conf.positions
    x, y, z = pos.T.tolist()
    rows = map("%s %r %r %r %r\n".__mod__, zip(species, x, y, z, conf.diameters.tolist()))
    with atomic_open(path, "w", newline="\n") as fh:
        fh.write(f"{n}\n{' '.join(parts)}\n")
        fh.writelines(rows)
    return path
