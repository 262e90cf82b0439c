"""Glass models. ``get_model(name)`` returns a :class:`PairModel`.

Names: ``pss`` (polydisperse soft spheres), ``tlj`` (ternary LJ, KA2; alias ``ka2``;
the C row as the midpoint of A and B), ``tlj-printed`` (TLJ with the C row exactly as printed
in 002 Sec. II B, a slip: docs/papers.md), ``ka`` (Kob-Andersen 80:20 with the 002
smoothing), ``ka-ts`` (Kob-Andersen, truncated and shifted).
"""

from __future__ import annotations

from ..errors import InputError
from .base import MODE_DIAMETERS, MODE_TYPES, KernelParams, PairModel
from .lj import make_ka, make_tlj
from .pss import make_pss

_FACTORIES = {
    "pss": make_pss,
    "tlj": make_tlj,
    "ka2": make_tlj,
    "tlj-printed": lambda: make_tlj(printed=True),
    "ka": lambda: make_ka(smooth=True),
    "ka-ts": lambda: make_ka(smooth=False),
}

MODEL_NAMES = ("pss", "tlj", "tlj-printed", "ka", "ka-ts")
#: every name get_model accepts (the models and their aliases)
ALL_MODEL_NAMES = tuple(_FACTORIES)


def get_model(name: str) -> PairModel:
    key = str(name).lower()
    if key not in _FACTORIES:
        raise InputError(f"unknown model {name!r}; known models: {', '.join(MODEL_NAMES)}")
    return _FACTORIES[key]()


__all__ = ["PairModel", "KernelParams", "get_model", "MODEL_NAMES", "ALL_MODEL_NAMES", "MODE_TYPES", "MODE_DIAMETERS"]
