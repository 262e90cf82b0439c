"""An ASE Calculator backed by twolevel's engine (needs ASE: ``pip install 'twolevel[ase]'``).

>>> from twolevel import io
>>> from twolevel.io.ase_calculator import TwolevelCalculator
>>> atoms = io.to_ase(io.read("glass.h5"), calculator=False)
>>> atoms.calc = TwolevelCalculator()            # the model from atoms.info["model"]
>>> atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()

(:func:`twolevel.io.to_ase` attaches one by default.) Energies, forces and stresses are in the
reduced units of the model (epsilon, epsilon/sigma, epsilon/sigma^3); ASE's optimisers, NEB, dimer
and vibrations work in whatever units the calculator uses.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from ..config import Configuration
from ..engine.kernels import pair_virial_tensor
from ..errors import InputError
from .ase_bridge import from_ase

__all__ = ["TwolevelCalculator", "stress_tensor"]


# ----------------------------------------------------------------------------- stress
def stress_tensor(system, x) -> np.ndarray:
    """The (d, d) potential stress sigma = (1/V) dU/d(strain) of a ParticleSystem at coordinates ``x``.

    Under an affine strain r_ij -> (1 + eps) r_ij, dU/d(eps_ab) = sum_pairs v'(r) r_a r_b / r; its trace
    is -W (the virial of the engine), so -trace(sigma)/d is the pressure of
    :meth:`ParticleSystem.pressure` at T = 0.
    """
    pos = system._pos(x)
    start, idx = system.neighbors(pos)
    return pair_virial_tensor(pos, system.box, system.types, system.diam, system.mp, start, idx) / float(np.prod(system.box))


class TwolevelCalculator(Calculator):
    """Energy, free_energy, forces and stress from :class:`twolevel.engine.ParticleSystem`.

    ``model``: a model name (``"pss"``, ``"ka"``, ``"tlj"``, ...) or PairModel; by default the
    atoms' ``info["model"]``. Types and diameters are taken from the atoms (see
    :func:`twolevel.io.from_ase`); the engine, neighbour list included, is rebuilt when the cell,
    the types, the diameters or the model change, and reused while only positions move.
    Stress follows ASE's sign convention, sigma = (1/V) dE/d(strain) (pressure = -trace/3), and
    holds the potential part only (add ``atoms.get_stress(include_ideal_gas=True)`` for the kinetic
    part in MD).
    """

    implemented_properties: ClassVar[list[str]] = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model=None, skin: float = 0.3, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.skin = float(skin)
        self._system = None
        self._key = None

    def _engine(self, conf: Configuration):
        from ..engine import ParticleSystem

        key = (conf.box.tobytes(), conf.types.tobytes(), conf.diameters.tobytes(), conf.model)
        if self._system is None or key != self._key:
            self._system = ParticleSystem(conf, model=self.model, skin=self.skin)
            self._key = key
        return self._system

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        conf = from_ase(self.atoms)
        if self.model is None and conf.model is None:
            raise InputError("TwolevelCalculator: no model given and the atoms' info names none")
        system = self._engine(conf)
        e, f = system.energy_forces(conf.positions)
        d = conf.dim
        forces = np.zeros((conf.n, 3))
        forces[:, :d] = f
        sig = np.zeros((3, 3))
        sig[:d, :d] = stress_tensor(system, conf.positions)
        self.results = {"energy": e, "free_energy": e, "forces": forces,
                        "stress": np.array([sig[0, 0], sig[1, 1], sig[2, 2], sig[1, 2], sig[0, 2], sig[0, 1]])}
