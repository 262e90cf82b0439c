"""The study report: figures (PNG), numbers (CSV/JSON) and an ``index.html``.

:func:`twolevel.report.html.write_report` builds the report of a run directory
(or of tables in memory); :mod:`twolevel.report.stats_figs` holds the figures of
the statistics (each function takes data and a path and returns the path).
Other routes add ``report/<name>_figs.py`` modules; a module that defines
``report_sections(run_dir, out_dir) -> list[dict]`` is picked up by the report
(see docs/report.md). Nothing is imported eagerly: matplotlib loads only when a
figure is drawn.
"""

from __future__ import annotations

__all__ = ["write_report"]


def __getattr__(name):
    if name == "write_report":
        from .html import write_report

        return write_report
    raise AttributeError(name)
