"""Multidimensional tunnelling splittings: ring-polymer instantons (rpi), the vibrationally
adiabatic 1D correction (adiabatic), validation models with exact references (models2d) and the
catalogue-level stage (stage). See docs/instanton.md."""

from .models2d import Coupled2D, Quartic1D, dvr_levels
from .rpi import InstantonResult, instanton

__all__ = ["Coupled2D", "InstantonResult", "Quartic1D", "dvr_levels", "instanton"]
