"""The harmonic route (002_b660eabf4d6c7be7.txt Sec. IV C, 004_9b896d29dc320c3d.txt).

Modules: ``modes`` (Hessian eigenpairs, PR / N, D(omega), I(omega), QLMs), ``sheared``
(Lees-Edwards box), ``elastic`` (Born - non-affine G, AQS G as a check, bulk K, c_t, c_l, omega_D),
``a4`` (A4 from I(omega)/omega^5), ``nonlinear`` (cubic modes, omega_1, kappa_1, chi_1),
``softpotential`` (004 Eqs. (3)-(12), Table I, n0), ``analysis`` (the stage function).
See docs/harmonic.md.
"""

from .a4 import A4Fit, fit_a4
from .elastic import (aqs_shear, born_nonaffine_shear, debye_frequency, debye_scaled, elastic_constants,
                      elastic_summary, first_transverse_frequency, quasistatic_bulk, shear_modulus,
                      sound_speeds)
from ..measures import participation_fraction
from .modes import Modes, cumulative_dos, density_of_states, identify_qlm, normal_modes
from .nonlinear import expand_along, find_nonlinear_mode, nonlinear_modes
from .softpotential import AMORPHOUS_SILICON, Material, compare_routes, soft_potential_n0, table_i

__all__ = ["A4Fit", "fit_a4", "aqs_shear", "born_nonaffine_shear", "debye_frequency", "debye_scaled",
           "elastic_constants", "elastic_summary", "first_transverse_frequency", "quasistatic_bulk", "shear_modulus",
           "sound_speeds", "Modes", "cumulative_dos", "density_of_states", "identify_qlm", "normal_modes",
           "participation_fraction", "expand_along", "find_nonlinear_mode", "nonlinear_modes",
           "AMORPHOUS_SILICON", "Material", "compare_routes", "soft_potential_n0", "table_i"]
