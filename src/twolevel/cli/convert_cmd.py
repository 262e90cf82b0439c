"""``twolevel convert IN OUT``: any configuration a run stores, in the format another tool reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app


@app.command("convert")
def convert_cmd(
    src: Annotated[Path, typer.Argument(help="A configuration (.h5 .npz .data .xyz), is_configs.h5 or bands.h5.")],
    dst: Annotated[Path, typer.Argument(help="Output file; format from the extension (.xyz .data .h5 .npz). "
                                             "Several frames (bands, inherent structures) need .xyz.")],
    dw: Annotated[int | None, typer.Option("--dw", help="bands.h5: the double well (dw_id) to export "
                                                        "(default: every band, one after another).")] = None,
    is_ids: Annotated[list[int] | None, typer.Option("--is", help="is_configs.h5: inherent structure to export "
                                                                  "(repeat the option; default: all).")] = None,
    reference: Annotated[Path | None, typer.Option("--reference", help="bands.h5: the file box, types and diameters "
                                                   "come from (default: the sample's explore/is_configs.h5).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Output format (lammps, extxyz, npz, h5) when the "
                                                             "extension does not say.")] = None,
) -> None:
    """Convert a stored configuration, inherent structures or an NEB band (extxyz: ASE, OVITO)."""
    from ..io.convert import convert

    path, n = convert(src, dst, fmt, dw=dw, ids=is_ids or None, reference=reference)
    typer.echo(f"wrote {path} ({n} frame{'s' if n != 1 else ''})")
