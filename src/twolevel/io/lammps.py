"""LAMMPS data files, ``atom_style atomic`` and ``atom_style charge``.

Polydisperse studies (e.g. the PSS reference inherent structures in
shared/reference/pss) store each particle's *diameter* in the charge column of
``atom_style charge``; this module reads and writes that convention. See
docs/formats.md for the full description.

Conventions
-----------
- LAMMPS box ``[lo, hi)`` is shifted so that ``lo -> 0``; positions are shifted
  with it. Written files have ``lo = 0``.
- LAMMPS types start at 1, :class:`~twolevel.config.Configuration` types at 0.
- Atoms are returned sorted by atom id; written atoms get ids 1..N in order.
- Image flags (``ix iy iz``) are read; positions stay as written (wrapped)
  unless ``unwrap=True``, which adds ``image * L``. Written files carry the
  wrapped positions and the image flags that restore the given positions.
- LAMMPS data files always hold three coordinates. A 2D configuration is
  written with ``zlo zhi = -0.5 0.5`` and ``z = 0``; a file is read as 2D only
  when the caller passes ``dim=2`` (then every ``z`` must be equal and is
  dropped).
- ``Masses`` are read and ignored (twolevel uses unit masses) but their
  one-word comments (``1 58.69  # Ni``, OVITO's and LAMMPS type labels) become
  ``meta["species_names"]``; non-uniform
  masses give a warning. Written files carry mass 1 for every type.
- ``Velocities`` are returned by :func:`read_lammps_data` (not stored in the
  configuration, whose ``meta`` is JSON only).
- Model name and ``meta`` survive a round trip through our own files: the title
  line carries them as JSON after ``# twolevel:`` (LAMMPS ignores the title).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np

from ..config import Configuration
from ..errors import InputError
from .atomic import atomic_open, input_error, read_text

__all__ = ["read_lammps_data", "write_lammps_data", "ATOM_STYLES"]

#: Leading columns of the Atoms section for each supported atom style
#: (optionally followed by the image flags ``ix iy iz``).
ATOM_STYLES: dict[str, tuple[str, ...]] = {
    "atomic": ("id", "type", "x", "y", "z"),
    "charge": ("id", "type", "q", "x", "y", "z"),
}

# Section keywords of the LAMMPS data format (read_data documentation).
_SECTIONS = {
    "Atoms", "Velocities", "Masses", "Ellipsoids", "Lines", "Triangles", "Bodies",
    "Bonds", "Angles", "Dihedrals", "Impropers",
    "Pair Coeffs", "PairIJ Coeffs", "Bond Coeffs", "Angle Coeffs", "Dihedral Coeffs",
    "Improper Coeffs", "BondBond Coeffs", "BondAngle Coeffs", "MiddleBondTorsion Coeffs",
    "EndBondTorsion Coeffs", "AngleTorsion Coeffs", "AngleAngleTorsion Coeffs",
    "BondBond13 Coeffs", "AngleAngle Coeffs",
}
# Header keywords we do not need but accept.
_IGNORED_HEADER = {
    "bonds", "angles", "dihedrals", "impropers", "bond types", "angle types",
    "dihedral types", "improper types", "extra bond per atom", "extra angle per atom",
    "extra dihedral per atom", "extra improper per atom", "extra special per atom",
    "ellipsoids", "lines", "triangles", "bodies",
}
_KEYWORD_LINE = re.compile(r"^[ \t]*[A-Za-z][^\n]*", re.M)
_TWOLEVEL_TAG = "# twolevel:"


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _data_lines(lines: list[str], start: int, stop: int):
    """Yield (index, tokens) for the non-blank, non-comment lines in lines[start:stop]."""
    for i in range(start, stop):
        toks = lines[i].split("#", 1)[0].split()
        if toks:
            yield i, toks


def _row_line(lines: list[str], start: int, stop: int, row: int) -> int:
    """1-based line number of the ``row``-th data line of a block."""
    for k, (i, _) in enumerate(_data_lines(lines, start, stop)):
        if k == row:
            return i + 1
    return stop  # pragma: no cover


def _type_labels(lines: list[str], start: int, stop: int) -> list[str] | None:
    """Species names from the comments of a Masses section (``1 58.69  # Ni``, as OVITO and LAMMPS
    type labels write them), in type order; None unless every type has one distinct one-word label."""
    labels = {}
    for line in lines[start:stop]:
        data, _, comment = line.partition("#")
        toks, words = data.split(), comment.split()
        if not toks:
            continue
        if len(words) != 1 or not toks[0].isdigit():
            return None
        labels[int(toks[0])] = words[0]
    if not labels or sorted(labels) != list(range(1, len(labels) + 1)) or len(set(labels.values())) < len(labels):
        return None
    return [labels[t] for t in sorted(labels)]


def _parse_block(path, lines: list[str], start: int, stop: int, what: str,
                 allowed_ncols=None, columns_help: str = "") -> np.ndarray:
    """Parse lines[start:stop] (comments, blank lines allowed) into a 2D float array.

    Fast path: numpy's C parser. On any failure the block is scanned line by
    line to name the offending line.
    """
    first = next(_data_lines(lines, start, stop), None)
    if first is None:
        return np.empty((0, 0))
    i0, toks0 = first
    ncols = len(toks0)
    if allowed_ncols is not None and ncols not in allowed_ncols:
        want = " or ".join(str(c) for c in sorted(allowed_ncols))
        raise input_error(path, i0 + 1, f"{ncols} columns in the {what} section, expected {want}"
                                        f"{' (' + columns_help + ')' if columns_help else ''}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.loadtxt(lines[start:stop], comments="#", ndmin=2, dtype=np.float64)
    except ValueError as exc:
        for i, toks in _data_lines(lines, start, stop):
            if len(toks) != ncols:
                raise input_error(path, i + 1, f"{len(toks)} columns in the {what} section, expected "
                                               f"{ncols} as on line {i0 + 1}") from None
            for c, t in enumerate(toks):
                if not _is_float(t):
                    raise input_error(path, i + 1, f"column {c + 1} of the {what} section is not a "
                                                   f"number: {t!r}") from None
        raise input_error(path, start, f"cannot parse the {what} section ({exc})") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise input_error(path, _row_line(lines, start, stop, int(row)),
                          f"column {col + 1} of the {what} section is not finite ({arr[row, col]})")
    return arr


def _integral(path, lines, start, stop, values: np.ndarray, what: str) -> np.ndarray:
    bad = values != np.round(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise input_error(path, _row_line(lines, start, stop, row), f"{what} {values[row]!r} is not an integer")
    return values.astype(np.int64)


def read_lammps_data(path: str | os.PathLike, *, dim: int | None = None,
                     unwrap: bool = False) -> tuple[Configuration, np.ndarray | None]:
    """Read a LAMMPS data file; return ``(configuration, velocities or None)``.

    ``dim``: ``None`` or 3 for a 3D configuration; 2 to read a 2D system
    (``z`` must be the same for every atom and is dropped).
    ``unwrap``: add the image flags times the box length to the positions.
    Velocities, when the file has a ``Velocities`` section, come as an
    ``(N, dim)`` array in the order of the configuration (sorted by atom id).
    Malformed input raises :class:`InputError` naming the file and line.
    """
    path = Path(path)
    if dim not in (None, 2, 3):
        raise InputError(f"{path}: dim must be 2 or 3 for a LAMMPS data file, got {dim!r}")
    text = read_text(path).replace("\r\n", "\n")
    lines = text.split("\n")
    if not text.strip():
        raise input_error(path, 1, "empty file, not a LAMMPS data file")

    # --- section keyword lines (index into `lines`), found by one regex pass
    sections: list[tuple[int, str, str]] = []  # (index, name, comment)
    offset = text.find("\n") + 1 if "\n" in text else len(text)  # line 1 is the title
    lineno, pos = 1, offset
    for m in _KEYWORD_LINE.finditer(text, offset):
        lineno += text.count("\n", pos, m.start())
        pos = m.start()
        body, _, comment = m.group(0).partition("#")
        name = " ".join(body.split())
        if name not in _SECTIONS:
            raise input_error(path, lineno + 1, f"unknown section keyword or malformed line {name!r}")
        sections.append((lineno, name, comment.strip()))  # lineno is a 0-based index here
    if not sections:
        raise input_error(path, len(lines), "no Atoms section (is this a LAMMPS data file?)")
    header_end = sections[0][0]

    # --- header
    natoms = ntypes = None
    natoms_line = 0
    bounds: dict[str, tuple[float, float]] = {}
    for i, toks in _data_lines(lines, 1, header_end):
        k = 0
        while k < len(toks) and _is_float(toks[k]):
            k += 1
        nums, words = toks[:k], " ".join(toks[k:])
        where = i + 1
        if not nums or not words:
            raise input_error(path, where, f"cannot parse header line {' '.join(toks)!r}")
        if words in ("atoms", "atom types"):
            if len(nums) != 1 or not re.fullmatch(r"[+]?\d+", nums[0]):
                raise input_error(path, where, f"'{words}' needs one non-negative integer, got {' '.join(nums)!r}")
            if words == "atoms":
                natoms, natoms_line = int(nums[0]), where
            else:
                ntypes = int(nums[0])
        elif words in ("xlo xhi", "ylo yhi", "zlo zhi"):
            if len(nums) != 2:
                raise input_error(path, where, f"'{words}' needs two numbers, got {len(nums)}")
            lo, hi = float(nums[0]), float(nums[1])
            if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
                raise input_error(path, where, f"box bounds {words} must be finite with hi > lo, got {lo} {hi}")
            bounds[words[0]] = (lo, hi)
        elif words == "xy xz yz":
            if len(nums) != 3:
                raise input_error(path, where, f"'xy xz yz' needs three numbers, got {len(nums)}")
            if any(float(x) != 0.0 for x in nums):
                raise input_error(path, where, "triclinic boxes (non-zero tilt xy xz yz) are not supported")
        elif words in _IGNORED_HEADER:
            pass
        else:
            raise input_error(path, where, f"unknown header keyword {words!r}")
    first_section_line = header_end + 1
    if natoms is None:
        raise input_error(path, first_section_line, "header has no 'N atoms' line before the first section")
    if ntypes is None:
        raise input_error(path, first_section_line, "header has no 'N atom types' line before the first section")
    for ax in "xy":
        if ax not in bounds:
            raise input_error(path, first_section_line, f"header has no '{ax}lo {ax}hi' line before the first section")
    bounds.setdefault("z", (-0.5, 0.5))  # the LAMMPS default
    lo = np.array([bounds[a][0] for a in "xyz"])
    length = np.array([bounds[a][1] - bounds[a][0] for a in "xyz"])

    # --- sections
    blocks: dict[str, tuple[int, int, int, str]] = {}  # name -> (keyword index, start, stop, comment)
    for k, (idx, name, comment) in enumerate(sections):
        stop = sections[k + 1][0] if k + 1 < len(sections) else len(lines)
        if name in blocks and name in ("Atoms", "Velocities", "Masses"):
            raise input_error(path, idx + 1, f"second {name} section (first on line {blocks[name][0] + 1})")
        blocks[name] = (idx, idx + 1, stop, comment)
    if "Atoms" not in blocks:
        raise input_error(path, len(lines), "no Atoms section")

    idx, start, stop, comment = blocks["Atoms"]
    style = comment.split()[0] if comment else None
    if style is not None and style not in ATOM_STYLES:
        raise input_error(path, idx + 1, f"atom_style {style!r} is not supported (supported: atomic, charge)")
    if style is None:
        allowed = {5, 6, 8, 9}
        help_ = "atomic: id type x y z [ix iy iz]; charge: id type q x y z [ix iy iz]"
    else:
        nc = len(ATOM_STYLES[style])
        allowed = {nc, nc + 3}
        help_ = f"{style}: {' '.join(ATOM_STYLES[style])} [ix iy iz]"
    arr = _parse_block(path, lines, start, stop, "Atoms", allowed, help_)
    nrows = arr.shape[0]
    if nrows < natoms:
        last = max((i + 1 for i, _ in _data_lines(lines, start, stop)), default=idx + 1)
        raise input_error(path, last, f"Atoms section ends here after {nrows} atoms but the header "
                                      f"(line {natoms_line}) declares {natoms} (truncated file?)")
    if nrows > natoms:
        raise input_error(path, _row_line(lines, start, stop, natoms),
                          f"Atoms section has more than the {natoms} atoms declared on line {natoms_line}")
    if natoms == 0:
        raise input_error(path, natoms_line, "a configuration needs at least one atom")
    ncols = arr.shape[1]
    if style is None:
        style = "atomic" if ncols in (5, 8) else "charge"
    off = 2 if style == "atomic" else 3
    ids = _integral(path, lines, start, stop, arr[:, 0], "atom id")
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if dup.size:
        row = int(order[dup[0] + 1])
        raise input_error(path, _row_line(lines, start, stop, row), f"duplicate atom id {ids[row]}")
    types = _integral(path, lines, start, stop, arr[:, 1], "atom type")
    badt = (types < 1) | (types > ntypes)
    if badt.any():
        row = int(np.argmax(badt))
        raise input_error(path, _row_line(lines, start, stop, row),
                          f"atom type {types[row]} outside 1..{ntypes} (header 'atom types')")
    xyz = arr[:, off:off + 3] - lo
    if ncols == off + 6:
        images = _integral(path, lines, start, stop, arr[:, off + 3:off + 6].ravel(), "image flag").reshape(-1, 3)
        if unwrap:
            xyz = xyz + images * length
    diameters = arr[:, 2].copy() if style == "charge" else np.ones(natoms)
    if style == "charge" and np.any(diameters <= 0):
        row = int(np.argmax(diameters <= 0))
        warnings.warn(f"{path}, line {_row_line(lines, start, stop, row)}: non-positive charge "
                      f"{diameters[row]} read as a diameter", stacklevel=2)

    d = 3 if dim is None else dim
    if d == 2:
        z = arr[:, off + 2]
        badz = z != z[0]
        if badz.any():
            row = int(np.argmax(badz))
            raise input_error(path, _row_line(lines, start, stop, row),
                              f"dim=2 requested but z = {z[row]!r} differs from z = {z[0]!r} of the first atom")
    positions = xyz[order, :d]

    # --- title line: our own files carry model and meta
    title = lines[0].strip()
    model, meta = None, {"lammps_title": title, "lammps_atom_style": style}
    if _TWOLEVEL_TAG in title:
        try:
            blob = json.loads(title.split(_TWOLEVEL_TAG, 1)[1])
            model, meta = blob.get("model"), dict(blob.get("meta") or {})
        except (ValueError, AttributeError):
            warnings.warn(f"{path}, line 1: unreadable twolevel metadata in the title line, ignored", stacklevel=2)

    # --- masses: read, checked, ignored
    if "Masses" in blocks:
        midx, mstart, mstop, _ = blocks["Masses"]
        masses = _parse_block(path, lines, mstart, mstop, "Masses", {2}, "type mass")
        if masses.size and np.ptp(masses[:, 1]) > 0:
            warnings.warn(f"{path}, line {midx + 1}: non-uniform masses "
                          f"{sorted(set(masses[:, 1].tolist()))} ignored (twolevel uses unit masses)",
                          stacklevel=2)
        names = _type_labels(lines, mstart, mstop)
        if names is not None and "species_names" not in meta:
            meta["species_names"] = names

    # --- velocities
    velocities = None
    if "Velocities" in blocks:
        vidx, vstart, vstop, _ = blocks["Velocities"]
        varr = _parse_block(path, lines, vstart, vstop, "Velocities", {4}, "id vx vy vz")
        if varr.shape[0] != natoms:
            raise input_error(path, vidx + 1, f"Velocities section has {varr.shape[0]} lines, "
                                              f"expected {natoms} (one per atom)")
        vids = _integral(path, lines, vstart, vstop, varr[:, 0], "atom id")
        vorder = np.argsort(vids, kind="stable")
        if not np.array_equal(vids[vorder], sorted_ids):
            missing = np.setdiff1d(sorted_ids, vids)
            what = f"atom id {missing[0]} has no velocity" if missing.size else "duplicate or unknown atom ids"
            raise input_error(path, vidx + 1, f"Velocities section does not match the Atoms section: {what}")
        velocities = np.ascontiguousarray(varr[vorder, 1:1 + d])

    try:
        conf = Configuration(positions, length[:d], types[order] - 1, diameters[order], model, meta)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    return conf, velocities


def _auto_style(conf: Configuration) -> str:
    return "atomic" if np.all(conf.diameters == 1.0) else "charge"


def write_lammps_data(path: str | os.PathLike, conf: Configuration, *, style: str | None = None,
                      velocities: np.ndarray | None = None) -> Path:
    """Write ``conf`` as a LAMMPS data file (atomically).

    ``style``: ``"atomic"`` or ``"charge"`` (diameter in the charge column);
    by default ``charge`` unless every diameter is 1. ``velocities``: optional
    ``(N, dim)`` array, written as a ``Velocities`` section.
    """
    path = Path(path)
    style = _auto_style(conf) if style is None else style
    if style not in ATOM_STYLES:
        raise InputError(f"{path}: atom_style {style!r} is not supported (atomic, charge)")
    n, d = conf.n, conf.dim
    if d not in (2, 3):
        raise InputError(f"{path}: LAMMPS data files hold 2D or 3D systems, not {d}D")
    if np.any(conf.types < 0):
        raise InputError(f"{path}: negative particle type {int(conf.types.min())}")
    if style == "atomic" and not np.all(conf.diameters == 1.0):
        warnings.warn(f"{path}: atom_style atomic drops the (non-unit) diameters", stacklevel=2)
    if velocities is not None:
        velocities = np.asarray(velocities, dtype=np.float64)
        if velocities.shape != (n, d):
            raise InputError(f"{path}: velocities must have shape {(n, d)}, got {velocities.shape}")
    try:
        blob = json.dumps({"model": conf.model, "meta": conf.meta}, separators=(",", ":"), sort_keys=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: meta is not JSON-serialisable ({exc})") from None
    from .. import __version__

    box = [1.0, 1.0, 1.0]
    box[:d] = conf.box.tolist()
    pos = np.zeros((n, 3))
    pos[:, :d] = conf.positions
    images = np.zeros((n, 3), dtype=np.int64)
    images[:, :d] = np.floor(conf.positions / conf.box).astype(np.int64)
    wrapped = pos - images * np.array(box)
    zlo, zhi = (0.0, box[2]) if d == 3 else (-0.5, 0.5)
    ntypes = int(conf.types.max()) + 1

    ids = np.arange(1, n + 1).tolist()
    types = (conf.types + 1).tolist()
    x, y, z = wrapped.T.tolist()
    ix, iy, iz = images.T.tolist()
    if style == "charge":
        q = conf.diameters.tolist()
        rows = map("%d %d %r %r %r %r %d %d %d\n".__mod__, zip(ids, types, q, x, y, z, ix, iy, iz))
    else:
        rows = map("%d %d %r %r %r %d %d %d\n".__mod__, zip(ids, types, x, y, z, ix, iy, iz))

    with atomic_open(path, "w", newline="\n") as fh:
        fh.write(f"LAMMPS data file written by twolevel {__version__} {_TWOLEVEL_TAG} {blob}\n\n")
        fh.write(f"{n} atoms\n{ntypes} atom types\n\n")
        fh.write(f"0 {box[0]!r} xlo xhi\n0 {box[1]!r} ylo yhi\n{zlo!r} {zhi!r} zlo zhi\n\n")
        fh.write("Masses\n\n" + "".join(f"{t} 1\n" for t in range(1, ntypes + 1)) + "\n")
        fh.write(f"Atoms # {style}\n\n")
        fh.writelines(rows)
        if velocities is not None:
            v = np.zeros((n, 3))
            v[:, :d] = velocities
            vx, vy, vz = v.T.tolist()
            fh.write("\nVelocities\n\n")
            fh.writelines(map("%d %r %r %r\n".__mod__, zip(ids, vx, vy, vz)))
    return path
