"""Learned pair selection (issue #15; Ciarella et al., Nat. Commun. 14, 4229 (2023)).

- :mod:`twolevel.ml.features`: pair features for every pair of inherent structures of a glass;
- :mod:`twolevel.ml.models`: classifier "double well or not" and regressor log10 E
  (scikit-learn HistGradientBoosting, the optional extra ``ml``);
- :mod:`twolevel.ml.loop`: the closed loop (predict, compute the top K, retrain, stop).

User guide: docs/ml.md.
"""

from .features import FEATURES, glass_features, load_glass, pair_features
from .loop import PathEvaluator, SearchParams, exhaustive_order, search
from .models import PairModel, check_columns

__all__ = [
           "FEATURES",
           "PairModel",
           "PathEvaluator",
           "SearchParams",
           "check_columns",
           "exhaustive_order",
           "glass_features",
           "load_glass",
           "pair_features",
           "search",
]
