"""Periodic lattices for the DPLM: neighbour tables and direction vectors.

The paper's model lives on an L x L periodic square lattice (z = 4,
000_ac86d19d448073de.txt Sec. II). App. A generalises the exact theory to
z = 6 (triangular 2D, simple cubic 3D), so those lattices are offered too.

Directions are ordered in opposite pairs: direction ``d ^ 1`` is the opposite
of ``d``. Site index: ``x + L*y (+ L*L*zc)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

_DIRS = {
    "square": [(1, 0), (-1, 0), (0, 1), (0, -1)],
    # skew coordinates with basis a1 = (1, 0), a2 = (1/2, sqrt(3)/2)
    "triangular": [(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)],
    "cubic": [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)],
}
_BASIS = {
    "square": np.eye(2),
    "triangular": np.array([[1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]]),
    "cubic": np.eye(3),
}

LATTICE_KINDS = tuple(_DIRS)


@dataclass(frozen=True)
class Geometry:
    """A periodic lattice: ``nbr[site, d]`` is the neighbour of ``site`` along ``d``."""

    kind: str
    L: int
    dim: int
    z: int
    nsites: int
    nbr: np.ndarray  # (nsites, z) int32
    dvec: np.ndarray  # (z, dim) int32, lattice-coordinate step of direction d
    basis: np.ndarray  # (dim, dim) rows: Cartesian vectors of the lattice steps
    nb2: np.ndarray  # (nsites, n2) int32: the distinct sites at graph distance 1 or 2
    blk: np.ndarray  # (nsites,) int32: coarse block (edge 3-4 sites) of each site
    bnb: np.ndarray  # (nblocks, 3**dim) int32: a block and its neighbouring blocks

    def coords(self, sites: np.ndarray) -> np.ndarray:
        """Integer lattice coordinates (n, dim) of site indices."""
        sites = np.asarray(sites, dtype=np.int64)
        out = np.empty((sites.size, self.dim), dtype=np.int64)
        rem = sites.copy()
        for a in range(self.dim):
            out[:, a] = rem % self.L
            rem //= self.L
        return out

    def cartesian(self, lattice_vectors: np.ndarray) -> np.ndarray:
        """Cartesian vectors from lattice-coordinate vectors (..., dim)."""
        return np.asarray(lattice_vectors, dtype=np.float64) @ self.basis


def make_geometry(kind: str, L: int) -> Geometry:
    if kind not in _DIRS:
        raise InputError(f"lattice.kind: unknown lattice {kind!r} (choose from {', '.join(_DIRS)})")
    if int(L) < 3:
        raise InputError(f"lattice.L: must be at least 3 (got {L})")
    L = int(L)
    dirs = np.array(_DIRS[kind], dtype=np.int64)
    dim = dirs.shape[1]
    z = dirs.shape[0]
    nsites = L**dim
    idx = np.arange(nsites, dtype=np.int64)
    coords = np.empty((nsites, dim), dtype=np.int64)
    rem = idx.copy()
    for a in range(dim):
        coords[:, a] = rem % L
        rem //= L
    stride = L ** np.arange(dim, dtype=np.int64)
    nbr = np.empty((nsites, z), dtype=np.int32)
    for d in range(z):
        nc = (coords + dirs[d]) % L
        nbr[:, d] = (nc * stride).sum(axis=1)
    # offsets of the sites within graph distance 2 (excluding the origin)
    offs = {tuple(dv) for dv in dirs}
    offs |= {tuple(d1 + d2) for d1 in dirs for d2 in dirs}
    offs.discard((0,) * dim)
    offs = np.array(sorted(offs), dtype=np.int64)
    nb2 = np.empty((nsites, len(offs)), dtype=np.int32)
    for q, o in enumerate(offs):
        nc = (coords + o) % L
        nb2[:, q] = (nc * stride).sum(axis=1)
    # coarse blocks with edges of 3 or 4 sites: every site within graph distance 3 of a
    # site lies in its block or a neighbouring one (used to skip the scan for nearby voids)
    nbl = max(1, L // 3)
    bc = coords * nbl // L
    blk = (bc * nbl ** np.arange(dim, dtype=np.int64)).sum(axis=1).astype(np.int32)
    bidx = np.arange(nbl**dim, dtype=np.int64)
    bco = np.stack([(bidx // nbl**a) % nbl for a in range(dim)], axis=1)
    shifts = np.stack(np.meshgrid(*[[-1, 0, 1]] * dim, indexing="ij"), axis=-1).reshape(-1, dim)
    bnb = np.empty((bidx.size, len(shifts)), dtype=np.int32)
    for q, sh in enumerate(shifts):
        bnb[:, q] = (((bco + sh) % nbl) * nbl ** np.arange(dim, dtype=np.int64)).sum(axis=1)
    # with fewer than 3 blocks per edge the neighbour list repeats blocks: counts then
    # over-count, which only disables the skip (always correct)
    return Geometry(kind, L, dim, z, nsites, nbr, dirs.astype(np.int32), _BASIS[kind].copy(), nb2, blk, bnb)
