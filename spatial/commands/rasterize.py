"""``spatial rasterize``: the layout and red lines on exactly a template raster's grid (PLUS, FLUS, InVEST)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ..io.vector import read_vector, with_ids
from ..raster.grid import open_raster
from ..raster.rasterize import FIELDS, rasterize_layout
from ..redlines import load_redlines


@click.command("rasterize")
@click.option("--elements", "elements_path", required=True, type=click.Path(path_type=Path),
              help="Layout polygons (e.g. layers/<adcode>/elements.geojson), any CRS.")
@click.option("--template", "template_path", required=True, type=click.Path(path_type=Path),
              help="Raster whose grid (CRS, transform, shape) the output takes, e.g. the model's land-use map.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="GeoTIFF to write; .csv, .tif.aux.xml and .qml go beside it.")
@click.option("--field", type=click.Choice(FIELDS), default="role", show_default=True,
              help="What the codes stand for.")
@click.option("--redlines", "redlines_path", type=click.Path(path_type=Path),
              help="Red lines: also write <out>_restriction.tif (0 = restricted, 1 = free).")
@click.option("--id-field", default="id", show_default=True, help="Id field of the elements.")
def rasterize(elements_path: Path, template_path: Path, out_path: Path, field: str, redlines_path: Path | None,
              id_field: str) -> None:
    """Burn the layout onto a template's exact grid as codes, with a lookup table, RAT and QGIS palette.

    Smaller elements win where elements overlap; a cell belongs to what covers its centre.
    """
    elements = with_ids(read_vector(elements_path, geometry="polygon"), elements_path, id_field)
    if field not in elements.columns:
        raise InputError.one(elements_path, f"field {field}", "no such field",
                             f"pass --field with one of: {', '.join(f for f in FIELDS if f in elements.columns)}")
    redlines = load_redlines(redlines_path)[0] if redlines_path else None
    with open_raster(template_path, flag="--template") as template:
        for path in rasterize_layout(elements, template, out_path, field=field, redlines=redlines):
            click.echo(str(path))
