"""``spatial figure``: a print-quality planning diagram of one structure (PNG, PDF or SVG)."""

from __future__ import annotations

from pathlib import Path

import click

from ..figure import BASEMAPS, PAPER_MM, figure_format, make_figure, save_figure
from ..io.layers import read_district
from ..pipeline import DataDir, load_spec


@click.command("figure")
@click.argument("adcode")
@click.option("--structure", "structure_id", default=None,
              help="Structure id from data/plans/<adcode>.yaml [default: the plan's headline structure, the first].")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file: .png, .pdf or .svg (fonts embedded in the PDF, text as paths in the SVG).")
@click.option("--dpi", type=click.IntRange(50, 1200), default=300, show_default=True, help="Resolution of a PNG.")
@click.option("--size", type=click.Choice(list(PAPER_MM)), default="A4", show_default=True,
              help="Paper size; landscape when the district is over 1.2 times wider than tall.")
@click.option("--basemap", type=click.Choice(list(BASEMAPS)), default="none", show_default=True,
              help="Background: vector context only (no tiles, works offline).")
@click.option("--layers", "layers_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("layers"),
              show_default=True, help="Folder `spatial build` wrote the layers to.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Input folder with plans/ (title and structures) [default: as `spatial build`].")
def figure(adcode: str, structure_id: str | None, out_path: Path, dpi: int, size: str, basemap: str,
           layers_dir: Path, data_dir: Path | None) -> None:
    """Draw ADCODE's structure as a planning diagram (规划示意图) from the layers `spatial build` wrote:
    title, elements with Chinese labels, legend, scale bar, north arrow, boundary and notes."""
    figure_format(out_path)  # before the drawing, not after
    layers = read_district(layers_dir, load_spec(DataDir.default(data_dir), adcode))
    drawn = make_figure(layers, structure_id, size=size, dpi=dpi, basemap=basemap)
    save_figure(drawn, out_path)
    click.echo(str(out_path))
    if drawn.unplaced:
        click.echo(f"note: no room for the labels of {', '.join(drawn.unplaced)} (named in the figure's notes)", err=True)
