"""The particle engine: compiled kernels, neighbour lists, MD, minimisers."""

from .minimize import MinimizeResult, fire, lbfgs, minimize
from .system import ParticleSystem, Potential, maxwell_boltzmann

__all__ = ["ParticleSystem", "Potential", "maxwell_boltzmann", "minimize", "fire", "lbfgs",
           "MinimizeResult"]
