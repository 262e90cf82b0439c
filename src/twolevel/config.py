"""The in-memory configuration of a particle system.

Arrays in, arrays out (../shared/DESIGN.md): positions ``(N, d)`` float64,
box ``(d,)`` (orthorhombic, periodic, origin at 0), integer ``types`` ``(N,)``
starting at 0, per-particle ``diameters`` ``(N,)`` (polydisperse models; 1 for
the others). ``model`` names the model family (``pss``, ``tlj``, ``ka``, ...).
``meta`` is a flat dict of JSON-serialisable provenance (T_f, seed, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError


@dataclass
class Configuration:
    positions: np.ndarray
    box: np.ndarray
    types: np.ndarray | None = None
    diameters: np.ndarray | None = None
    model: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float64)
        if self.positions.ndim != 2 or self.positions.shape[1] not in (1, 2, 3):
            raise InputError(f"positions must have shape (N, d) with d in 1..3, got {self.positions.shape}")
        n, d = self.positions.shape
        self.box = np.ascontiguousarray(np.broadcast_to(np.asarray(self.box, dtype=np.float64), (d,)))
        if not np.all(np.isfinite(self.box)) or np.any(self.box <= 0):
            raise InputError(f"box lengths must be positive and finite, got {self.box.tolist()}")
        if self.types is None:
            self.types = np.zeros(n, dtype=np.int64)
        self.types = np.ascontiguousarray(self.types, dtype=np.int64)
        if self.diameters is None:
            self.diameters = np.ones(n, dtype=np.float64)
        self.diameters = np.ascontiguousarray(self.diameters, dtype=np.float64)
        if self.types.shape != (n,) or self.diameters.shape != (n,):
            raise InputError("types and diameters must have one entry per particle")
        if not np.all(np.isfinite(self.positions)):
            bad = int(np.argwhere(~np.isfinite(self.positions))[0, 0])
            raise InputError(f"position of particle {bad} is not finite (NaN or inf)")

    @property
    def n(self) -> int:
        return self.positions.shape[0]

    @property
    def dim(self) -> int:
        return self.positions.shape[1]

    @property
    def volume(self) -> float:
        return float(np.prod(self.box))

    @property
    def density(self) -> float:
        return self.n / self.volume

    def copy(self) -> "Configuration":
        return Configuration(self.positions.copy(), self.box.copy(), self.types.copy(),
                             self.diameters.copy(), self.model, dict(self.meta))

    def wrapped(self) -> np.ndarray:
        """Positions folded into [0, box)."""
        return np.mod(self.positions, self.box)
