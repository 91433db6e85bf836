"""Slope in degrees from a DEM in any CRS, block by block (Horn's 3x3 method, as ``gdaldem slope``).

In a projected DEM the cell size is metres; in a DEM in degrees, the metres per degree of the
cell's row are taken on the DEM's ellipsoid (east-west: N(φ)·cos φ, north-south: M(φ), per
radian). Cells next to nodata or the edge use the nearest valid neighbour in place of a missing
one (``gdaldem -compute_edges``); a nodata cell stays nodata.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.windows import Window

from ..io.files import atomic_path
from .grid import BLOCK_CELLS, bounded_cache, copy_to_cog, is_geographic, profile_like, row_blocks

SLOPE_NODATA = -9999.0


def _metres_per_cell(ds: rasterio.io.DatasetReader, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(east-west, north-south) size in metres of the cells of ``rows`` (arrays, one per row)."""
    t = ds.transform
    if not is_geographic(ds):
        unit = ds.crs.linear_units_factor[1]
        return np.full(len(rows), abs(t.a) * unit), np.full(len(rows), abs(t.e) * unit)
    ell = CRS.from_user_input(ds.crs).ellipsoid
    a = ell.semi_major_metre
    e2 = 1 - (ell.semi_minor_metre / a) ** 2
    phi = np.radians(t.f + t.e * (rows + 0.5))
    w = 1 - e2 * np.sin(phi) ** 2
    n, m = a / np.sqrt(w), a * (1 - e2) / w ** 1.5
    return np.radians(abs(t.a)) * n * np.cos(phi), np.radians(abs(t.e)) * m


def slope_block(z: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Slope (degrees) of the inner cells of ``z``: a block with one halo row and column on every side.

    ``z`` is float with NaN for no data; ``dx``/``dy`` are the cell sizes in metres of the inner
    rows. A missing neighbour takes the centre cell's value; a missing centre gives NaN.
    """
    centre = z[1:-1, 1:-1]
    rows, cols = centre.shape

    def at(i: int, j: int) -> np.ndarray:
        n = z[i:i + rows, j:j + cols]
        return np.where(np.isnan(n), centre, n)

    a, b, c, d, f, g, h, i = at(0, 0), at(0, 1), at(0, 2), at(1, 0), at(1, 2), at(2, 0), at(2, 1), at(2, 2)
    gx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * dx[:, None])
    gy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * dy[:, None])
    return np.degrees(np.arctan(np.hypot(gx, gy)))


def slope(dem: rasterio.io.DatasetReader, out: str | Path, *, band: int = 1) -> Path:
    """Write the slope (degrees, float32, nodata :data:`SLOPE_NODATA`) of ``band`` of ``dem`` to ``out``.

    Same grid as the DEM; a compressed Cloud-Optimised GeoTIFF, written atomically; the DEM is
    read in blocks of full rows (an eighth of :data:`~spatial.raster.grid.BLOCK_CELLS` cells,
    plus a halo row each side), with GDAL's cache bounded.
    """
    with bounded_cache(), atomic_path(out) as cog, tempfile.TemporaryDirectory(dir=cog.parent) as tmp_dir:
        tmp = Path(tmp_dir) / "slope.tif"
        with rasterio.open(tmp, "w", **profile_like(dem, "float32", SLOPE_NODATA)) as dst:
            for top, n in row_blocks(dem.height, dem.width, BLOCK_CELLS // 8):  # a dozen float64 temporaries
                r0, r1 = max(0, top - 1), min(dem.height, top + n + 1)
                z = dem.read(band, window=Window(0, r0, dem.width, r1 - r0), masked=True).astype("float64")
                z = np.pad(z.filled(np.nan), ((int(top == r0), top + n + 1 - r1), (1, 1)), constant_values=np.nan)
                rows = np.arange(top, top + n)
                s = slope_block(z, *_metres_per_cell(dem, rows))
                dst.write(np.where(np.isnan(s), SLOPE_NODATA, s).astype("float32"), 1,
                          window=Window(0, top, dem.width, n))
        copy_to_cog(tmp, cog, resampling="average")
    return Path(out)
