"""The run directory's layout: one owner for every artefact name.

A study writes ``RUN/<label>/Tf_<T_f>/sample_<k>/<stage>/<artefact>`` (``twolevel.seeds.sample_key``
spells the sample part). Stages, statistics, the report and the CLI name their files through
these constants, never as string literals, so renaming an artefact is a one-line change.
"""

from __future__ import annotations

# prepare/ (twolevel.prepare)
EQUILIBRIUM = "equilibrium.h5"       # the equilibrium liquid at T_f
GLASS = "glass.h5"                   # the quenched glass
PREPARE_META = "prepare.json"        # verdict, tau_alpha, timings
# explore/ (twolevel.explore)
INHERENT_STRUCTURES = "inherent_structures.parquet"
IS_CONFIGS = "is_configs.h5"         # one configuration per inherent structure
TRANSITIONS = "transitions.parquet"
PAIRS = "pairs.parquet"              # candidate pairs seen in both directions
SERIES = "series.parquet"            # the IS time series of the exploration
EXPLORE_META = "explore.json"
# paths/ (twolevel.paths)
DOUBLE_WELLS = "double_wells.parquet"  # the double-well catalogue
PATH_RESULTS = "path_results.parquet"  # every path tried, with its status
BANDS = "bands.h5"                   # band images and profiles per double well
PATHS_META = "paths.json"
# quantum/ (twolevel.quantum)
TLS = "tls.parquet"                  # one row per (double well, m~)

__all__ = ["EQUILIBRIUM", "GLASS", "PREPARE_META", "INHERENT_STRUCTURES", "IS_CONFIGS", "TRANSITIONS", "PAIRS",
           "SERIES", "EXPLORE_META", "DOUBLE_WELLS", "PATH_RESULTS", "BANDS", "PATHS_META", "TLS"]

# study-wide stage directories under RUN/ (twolevel.pipeline.stages) and the files the report reads
STATS_DIR = "stats"                  # RUN/stats/: the stats stage
STATS_JSON = "stats.json"            # settings and one entry per (model, T_f, units)
STATS_TABLES = ("table", "curves", "heat_capacity", "time", "decomposition", "samples", "exclusions")  # *.csv
REPORT_DIR = "report"                # RUN/report/: index.html, figures/, data/
LATTICE_DIR = "lattice"              # RUN/lattice/: the DPLM route
LATTICE_RESULTS = "results.json"
HARMONIC_DIR = "harmonic"            # RUN/harmonic/: the harmonic route
HARMONIC_INDEX = "harmonic.json"

__all__ += ["STATS_DIR", "STATS_JSON", "STATS_TABLES", "REPORT_DIR", "LATTICE_DIR", "LATTICE_RESULTS", "HARMONIC_DIR",
            "HARMONIC_INDEX"]
