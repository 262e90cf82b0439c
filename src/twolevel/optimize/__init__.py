"""One implementation of each optimiser, over one small protocol (:class:`Optimizable`).

- :class:`FIRE2`: FIRE 2.0 (Guénolé et al., Comput. Mater. Sci. 175, 109584 (2020), Algorithm 2).
- :class:`FIRE`: classic FIRE (Bitzek et al., PRL 97, 170201 (2006)) as ASE's ``FIRE``.
- :class:`LBFGS`: limited-memory BFGS (Nocedal 1980; Nocedal & Wright, Numerical Optimization
  (2006), Algorithm 7.4), with a backtracking line search on an energy, or force-only as ASE's
  ``LBFGS`` for forces that are not a gradient (a NEB band).

The model is ASE's ``Optimizable`` (ase/utils/abc.py) and ``NEBOptimizable`` (ase/mep/neb.py):
a band looks like a system, so one optimiser relaxes both. A particle system is wrapped by
:class:`PotentialOptimizable` (twolevel.engine.minimize drives it); a band by
``twolevel.paths``' band object.
"""

from .fire import FIRE, FIRE2
from .lbfgs import LBFGS
from .protocol import Optimizable, PotentialOptimizable, largest_particle_norm

__all__ = ["FIRE", "FIRE2", "LBFGS", "Optimizable", "PotentialOptimizable", "largest_particle_norm"]
