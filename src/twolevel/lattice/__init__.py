"""The lattice route: the distinguishable-particle lattice model (DPLM).

000_ac86d19d448073de.txt (Gao, Deng, Lee, You, Lam 2022): kinetic Monte Carlo of
the DPLM, emergence of two-level systems, low-T heat capacity C_v = c1 T + c3 T^3
and its exact theory for ultrastable glasses (App. A).

Modules: :mod:`.geometry` (lattices), :mod:`.gdist` (g(V) families),
:mod:`.kernels` (compiled hash, construction and BKL kernels), :mod:`.model`
(one sample), :mod:`.protocol` (cooling / fixed-T drivers and measurements),
:mod:`.analysis` (C_v, fits, D, T_g, return probabilities, TLS),
:mod:`.theory` (exact results), :mod:`.figures`, :mod:`.config`.
"""

from .gdist import GDist, fermi_gauss, from_params, linear, table, uniform, uniform_delta
from .geometry import make_geometry
from .model import DPLM

__all__ = ["DPLM", "GDist", "fermi_gauss", "from_params", "linear", "make_geometry", "table", "uniform",
           "uniform_delta"]
