"""Matplotlib plumbing shared by the figure modules: figures without pyplot, and atomic saves.

The figure modules draw on :class:`matplotlib.figure.Figure` objects created here, never through
pyplot's global state, and never call ``matplotlib.use``: importing or using twolevel leaves the
backend a notebook or a GUI chose alone, and needs no display (``Figure.savefig`` renders with
Agg by itself). :func:`plt` returns the small part of the pyplot interface the modules use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


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


#: the widest span a log axis of a report figure may show (decades); wider spans are clipped from
#: below (the small end of a C/T or a CDF is where the exponential tails are, not the physics)
MAX_DECADES = 10.0


def _renderer(fig):
    """An Agg renderer of ``fig`` (attaching an Agg canvas to a plain Figure when it has none)."""
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


def _clip_log(ax, which: str, max_decades: float) -> None:
    lo, hi = getattr(ax, f"get_{which}lim")()
    flip = lo > hi
    a, b = (hi, lo) if flip else (lo, hi)
    if b > 0 and (a <= 0 or np.log10(b) - np.log10(a) > max_decades):
        a = b / 10.0**max_decades
        getattr(ax, f"set_{which}lim")((b, a) if flip else (a, b))


def _drawn_ticklabels(axis) -> list:
    """The tick labels ``axis`` actually draws: ticks inside the view limits (matplotlib's own
    selection; ``get_ticklabels`` also returns the locator's ticks beyond them), visible, non-empty."""
    labels = []
    for tick in axis._update_ticks():
        labels += [lab for lab in (tick.label1, tick.label2) if lab.get_visible() and lab.get_text().strip()]
    return labels


def _labels_overlap(axis, renderer) -> bool:
    """Whether two visible tick labels of ``axis`` overlap on the drawn figure."""
    boxes = [t.get_window_extent(renderer) for t in _drawn_ticklabels(axis)]
    boxes.sort(key=lambda b: (b.x0, b.y0))
    return any(b1.overlaps(b2) for i, b1 in enumerate(boxes) for b2 in boxes[i + 1:])


def _fewer_ticks(ax, which: str, n: int) -> None:
    from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

    axis = getattr(ax, f"{which}axis")
    if getattr(ax, f"get_{which}scale")() == "log":
        axis.set_major_locator(LogLocator(base=10.0, numticks=n))
        axis.set_minor_formatter(NullFormatter())
    elif getattr(ax, f"get_{which}scale")() == "linear":
        axis.set_major_locator(MaxNLocator(nbins=max(n - 1, 2)))


def tidy_axes(fig, max_decades: float = MAX_DECADES) -> list[dict]:
    """Clip every log axis to ``max_decades`` and thin tick labels until none overlap.

    Returns one record per axes (scales, limits, decades spanned, whether labels still overlap):
    what :func:`save` stores next to the PNG, so that a test can check the drawn figure itself.
    """
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for ax in axes:
        for which in "xy":
            if getattr(ax, f"get_{which}scale")() == "log":
                _clip_log(ax, which, max_decades)
    renderer = _renderer(fig)
    for n in (9, 7, 5, 4, 3, 2):
        fig.draw_without_rendering()
        bad = [(ax, w) for ax in axes for w in "xy" if _labels_overlap(getattr(ax, f"{w}axis"), renderer)]
        if not bad:
            break
        for ax, w in bad:
            _fewer_ticks(ax, w, n)
    fig.draw_without_rendering()
    return [_axes_record(ax, renderer) for ax in axes]


def _axes_texts(ax, renderer) -> list:
    """(text, window box) of the tick labels, axis labels and titles of ``ax`` that are drawn."""
    ts = _drawn_ticklabels(ax.xaxis) + _drawn_ticklabels(ax.yaxis)
    ts += [ax.xaxis.label, ax.yaxis.label, ax.title, ax._left_title, ax._right_title]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in ts if t.get_visible() and t.get_text().strip()]


def text_overlaps(fig, renderer=None) -> list[list[str]]:
    """Pairs of texts of *different* axes (colorbars and insets included) whose boxes overlap: a label
    of one panel running into the next, which :func:`tidy_axes` cannot thin away."""
    renderer = renderer or _renderer(fig)
    per = [_axes_texts(ax, renderer) for ax in fig.axes if ax.get_visible()]
    out = []
    for i, a in enumerate(per):
        for b in per[i + 1:]:
            out += [[ta, tb] for ta, ba in a for tb, bb in b if ba.overlaps(bb)]
    return out


def _decades(lim, scale: str) -> float | None:
    lo, hi = sorted(float(v) for v in lim)
    if scale != "log":
        return None
    return float(np.log10(hi) - np.log10(lo)) if lo > 0 else float("inf")


def _axes_record(ax, renderer) -> dict:
    rec = {"label": ax.get_label() or "", "title": ax.get_title() or ax.get_title(loc="left")}
    for w in "xy":
        scale = getattr(ax, f"get_{w}scale")()
        lim = [float(v) for v in getattr(ax, f"get_{w}lim")()]
        rec[w] = {"scale": scale, "lim": lim, "decades": _decades(lim, scale),
                  "overlap": _labels_overlap(getattr(ax, f"{w}axis"), renderer)}
    return rec


def axes_path(png) -> Path:
    """The sidecar of a figure: ``NAME.axes.json`` next to ``NAME.png``."""
    p = Path(png)
    return p.with_name(p.stem + ".axes.json")


def save(fig, path, dpi: int = 120, bbox_inches: str | None = "tight", tidy: bool = True) -> Path:
    """Write ``fig`` to ``path`` atomically (temporary name, then rename) and return the path.

    With ``tidy`` (the default), :func:`tidy_axes` first clips log axes and thins overlapping
    tick labels, and the axes it measured are written to :func:`axes_path` (JSON).
    """
    import json

    from ..io.atomic import atomic_open, atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = tidy_axes(fig) if tidy else None
    clash = text_overlaps(fig) if tidy else None
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches=bbox_inches, format=path.suffix.lstrip(".") or "png")
    if axes is not None:
        with atomic_open(axes_path(path), "w") as fh:
            json.dump({"figure": path.name, "max_decades": MAX_DECADES, "axes": axes, "text_overlaps": clash}, fh,
                      indent=1,
                      default=lambda o: None if isinstance(o, float) and not np.isfinite(o) else str(o))
    return path
