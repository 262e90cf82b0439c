"""Matplotlib plumbing shared by the figure modules: figures without pyplot, and atomic saves.

The figure modules draw on :class:`matplotlib.figure.Figure` objects created here, never through
pyplot's global state, and never call ``matplotlib.use``: importing or using twolevel leaves the
backend a notebook or a GUI chose alone, and needs no display (``Figure.savefig`` renders with
Agg by itself). :func:`plt` returns the small part of the pyplot interface the modules use.
"""

from __future__ import annotations

from pathlib import Path


class _FigurePlot:
    """``subplots``, ``figure``, ``close``, ``get_cmap``, ``cm`` and ``Normalize`` on plain Figures."""

    def __init__(self) -> None:
        import matplotlib.cm
        import matplotlib.colors

        self.cm = matplotlib.cm
        self.Normalize = matplotlib.colors.Normalize

    @staticmethod
    def figure(**kw):
        from matplotlib.figure import Figure

        return Figure(**kw)

    def subplots(self, nrows: int = 1, ncols: int = 1, *, sharex=False, sharey=False, squeeze: bool = True,
                 width_ratios=None, height_ratios=None, subplot_kw=None, gridspec_kw=None, **fig_kw):
        fig = self.figure(**fig_kw)
        axs = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=squeeze, width_ratios=width_ratios,
                           height_ratios=height_ratios, subplot_kw=subplot_kw, gridspec_kw=gridspec_kw)
        return fig, axs

    @staticmethod
    def get_cmap(name=None, lut=None):
        import matplotlib

        cmap = matplotlib.colormaps[name or matplotlib.rcParams["image.cmap"]]
        return cmap if lut is None else cmap.resampled(lut)

    @staticmethod
    def close(fig=None) -> None:
        """Nothing to do: a Figure made here is not registered with pyplot and is freed with it."""


_PLOT: _FigurePlot | None = None


def plt() -> _FigurePlot:
    """The pyplot-like drawing interface of the figure modules (no global state, no backend change)."""
    global _PLOT
    if _PLOT is None:
        _PLOT = _FigurePlot()
    return _PLOT


def save(fig, path, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` atomically (temporary name, then rename) and return the path."""
    from ..io.atomic import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path
