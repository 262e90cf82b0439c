"""Matplotlib plumbing shared by the figure modules: a headless backend and atomic saves."""

from __future__ import annotations

from pathlib import Path


def plt():
    """pyplot with the Agg backend (no display needed), imported lazily."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def save(fig, path, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` atomically (temporary name, then rename), close it, return the path."""
    from ..io.atomic import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    plt().close(fig)
    return path
