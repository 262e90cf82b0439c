"""The run directory's layout: one owner for every artefact name.

A study writes ``RUN/<label>/Tf_<T_f>/sample_<k>/<stage>/<artefact>`` (``twolevel.seeds.sample_key``
spells the sample part). Stages, statistics, the report and the CLI name their files through
these constants, never as string literals, so renaming an artefact is a one-line change.
"""

from __future__ import annotations

import os
from pathlib import Path

# stage directories: per sample (RUN/<label>/Tf_<T_f>/sample_<k>/<stage>/) and study-wide (RUN/<stage>/)
PREPARE, EXPLORE, PATHS, QUANTUM = "prepare", "explore", "paths", "quantum"
STATS, REPORT, LATTICE, HARMONIC = "stats", "report", "lattice", "harmonic"

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
# stats/ (twolevel.stats) and report/ (twolevel.report), study-wide
STATS_JSON = "stats.json"            # the statistics the report reads
REPORT_INDEX = "index.html"
# the run directory itself (twolevel.pipeline)
RUN_SUMMARY = "run_summary.json"     # tasks, failures, results of the last `twolevel run` (report/ has summary.json)
TABLES = "tables"                    # study-wide hive-partitioned tables (twolevel.pipeline.tables)


def stage_file(base: str | os.PathLike, stage: str, name: str) -> Path:
    """``base/<stage>/<name>``: a sample's artefact (base = the sample directory) or a study-wide
    one (base = the run directory). The one place that joins a stage directory and a file name."""
    return Path(base) / stage / name


# the stats stage's tables next to stats.json (<name>.csv) and the other routes' result files, read by the report
STATS_TABLES = ("table", "curves", "heat_capacity", "time", "decomposition", "samples", "exclusions")
LATTICE_RESULTS = "results.json"     # RUN/lattice/: fits, exact theory (twolevel.lattice.runner)
HARMONIC_INDEX = "harmonic.json"     # RUN/harmonic/: one entry per model and T_f

__all__ = ["PREPARE", "EXPLORE", "PATHS", "QUANTUM", "STATS", "REPORT", "LATTICE", "HARMONIC", "STATS_JSON",
           "REPORT_INDEX", "RUN_SUMMARY", "TABLES", "stage_file", "EQUILIBRIUM", "GLASS", "PREPARE_META",
           "INHERENT_STRUCTURES", "IS_CONFIGS", "TRANSITIONS", "PAIRS", "SERIES", "EXPLORE_META", "DOUBLE_WELLS",
           "PATH_RESULTS", "BANDS", "PATHS_META", "TLS", "STATS_TABLES", "LATTICE_RESULTS", "HARMONIC_INDEX"]
