"""``spatial slope``: slope in degrees from a DEM in any CRS."""

from __future__ import annotations

from pathlib import Path

import click

from ..raster.grid import open_raster
from ..raster.terrain import slope as slope_of


@click.command("slope")
@click.option("--dem", "dem_path", required=True, type=click.Path(path_type=Path),
              help="Elevation raster (metres), projected or in degrees.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Slope GeoTIFF to write (degrees, Cloud-Optimised, same grid as the DEM).")
@click.option("--band", type=click.IntRange(min=1), default=1, show_default=True, help="Band of the DEM.")
def slope(dem_path: Path, out_path: Path, band: int) -> None:
    """Slope in degrees (Horn's method, as gdaldem), metres per degree on the ellipsoid for DEMs in degrees."""
    with open_raster(dem_path, band=band, flag="--dem") as dem:
        click.echo(str(slope_of(dem, out_path, band=band)))
