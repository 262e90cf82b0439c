"""twolevel: two-level systems in computer glasses.

Routes (see docs/ and ../shared/papers/README.md):
- landscape route: prepare -> explore -> paths -> quantum -> stats
- lattice route: the distinguishable-particle lattice model (``twolevel.lattice``)
- harmonic route: vibrational and nonlinear modes (``twolevel.vibrations``)
"""

__version__ = "0.1.0"

from .config import Configuration  # noqa: E402,F401
