"""Opening user rasters, the ground area of their cells, and writing compressed GeoTIFFs.

Cell areas: a projected raster's cells all have the planar area ``|dx·dy|`` (metres);
a raster in degrees has cells whose area depends on the latitude of their row, measured
exactly on the raster's ellipsoid in Lambert cylindrical equal-area coordinates
(x = a·λ, y = a·q(φ)/2), where a parallel-bounded cell is a rectangle.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from exactextract.raster import RasterSource
from pyproj import CRS
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..errors import InputError

#: Cells exactextract holds at once per raster (value, weights): about 32 MB of float64 each.
WINDOW_CELLS = 4_000_000
#: Cells the raster writers hold per block of full rows (bounded memory on any width).
BLOCK_CELLS = 4_000_000
#: GDAL's block cache while reading and writing here (MB); GDAL's default is 5 % of the machine's memory.
GDAL_CACHE_MB = 128
#: Creation options of every GeoTIFF written here (tiled, DEFLATE); COG adds overviews.
GTIFF_OPTIONS = {"tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate", "bigtiff": "if_safer"}
COG_OPTIONS = {"compress": "deflate", "blocksize": 512, "bigtiff": "if_safer"}


def open_raster(path: str | Path, *, band: int = 1, flag: str = "--raster") -> rasterio.io.DatasetReader:
    """Open a raster for reading, checked: readable, with a CRS, north-up, ``band`` present.

    Raises
    ------
    InputError
        Missing or unreadable file, no CRS, rotated grid, no such band (``flag`` names the option).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError.one(path, "", "file not found", f"check the path given to {flag}")
    try:
        ds = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputError.one(path, "", f"not a readable raster ({str(exc).splitlines()[0][:120]})",
                             f"give a GeoTIFF (or another GDAL raster) to {flag}") from None
    problem = None
    if ds.crs is None:
        problem = ("CRS", "the raster declares no coordinate reference system",
                   "define it (gdal_edit.py -a_srs EPSG:NNNN FILE, or QGIS: Assign projection) and run again")
    elif ds.transform.b != 0 or ds.transform.d != 0 or ds.transform.e >= 0:
        problem = ("geotransform", "the grid is rotated or not north-up",
                   "warp it north-up first (gdalwarp FILE OUT.tif)")
    elif not 1 <= band <= ds.count:
        problem = ("band", f"no band {band}; the raster has {ds.count}", f"pass --band 1 to {ds.count}")
    if problem:
        ds.close()
        raise InputError.one(path, *problem)
    return ds


def is_geographic(ds: rasterio.io.DatasetReader) -> bool:
    """True when the raster's coordinates are degrees of longitude and latitude."""
    return bool(ds.crs.is_geographic)


def _authalic_y(lat_deg: np.ndarray, a: float, e: float) -> np.ndarray:
    """a·q(φ)/2: the y of Lambert's cylindrical equal-area projection of the ellipsoid (a, e), metres."""
    s = np.sin(np.radians(lat_deg))
    if e == 0:
        return a * s
    es = e * s
    q = (1 - e * e) * (s / (1 - es * es) + np.log((1 + es) / (1 - es)) / (2 * e))
    return a * q / 2


def row_areas_m2(ds: rasterio.io.DatasetReader, rows: np.ndarray) -> np.ndarray:
    """Ground area (m²) of one cell of each row in ``rows``: ellipsoidal in degrees, planar otherwise."""
    t = ds.transform
    rows = np.asarray(rows, dtype=np.float64)
    if not is_geographic(ds):
        unit = ds.crs.linear_units_factor[1]
        return np.full(rows.shape, abs(t.a * t.e) * unit * unit)
    ell = CRS.from_user_input(ds.crs).ellipsoid
    a = ell.semi_major_metre
    e = np.sqrt(max(0.0, 1 - (ell.semi_minor_metre / a) ** 2))
    top = np.clip(t.f + t.e * rows, -90, 90)
    bottom = np.clip(t.f + t.e * (rows + 1), -90, 90)
    return a * np.radians(abs(t.a)) * np.abs(_authalic_y(top, a, e) - _authalic_y(bottom, a, e))


class CellAreas(RasterSource):
    """exactextract weights: the ground area (m²) of each cell, NaN where ``band`` has no data.

    Read window by window like the value raster (bounded memory); the mask read hits GDAL's
    block cache, since exactextract reads the value raster's same window just before.
    """

    def __init__(self, ds: rasterio.io.DatasetReader, band: int) -> None:
        super().__init__()
        self.ds, self.band = ds, band
        self.set_name("cell_area")

    def res(self) -> tuple[float, float]:
        return abs(self.ds.transform.a), abs(self.ds.transform.e)

    def extent(self) -> tuple[float, float, float, float]:
        b = self.ds.bounds
        return b.left, b.bottom, b.right, b.top

    def srs_wkt(self) -> str:
        return self.ds.crs.wkt

    def nodata_value(self) -> float:
        return float("nan")

    def read_window(self, x0: int, y0: int, nx: int, ny: int) -> np.ndarray:
        # NaN, not a masked array: exactextract 0.3 ignored the mask of this source on some polygons
        areas = np.repeat(row_areas_m2(self.ds, np.arange(y0, y0 + ny))[:, None], nx, axis=1)
        areas[self.ds.read_masks(self.band, window=Window(x0, y0, nx, ny)) == 0] = np.nan
        return areas


def profile_like(ds: rasterio.io.DatasetReader, dtype: str, nodata: float | None) -> dict:
    """A one-band tiled, compressed GeoTIFF profile on exactly ``ds``'s grid (CRS, transform, shape)."""
    return {"driver": "GTiff", "width": ds.width, "height": ds.height, "count": 1, "crs": ds.crs,
            "transform": ds.transform, "dtype": dtype, "nodata": nodata, **GTIFF_OPTIONS}


def row_blocks(height: int, width: int, cells: int = BLOCK_CELLS) -> Iterator[tuple[int, int]]:
    """(first row, rows) of blocks of full rows of about ``cells`` cells covering a height x width raster."""
    rows = max(1, cells // max(1, width))
    for top in range(0, height, rows):
        yield top, min(rows, height - top)


def bounded_cache() -> rasterio.Env:
    """A rasterio environment with GDAL's block cache limited to :data:`GDAL_CACHE_MB`."""
    return rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB)


def copy_to_cog(tiled: Path, out: Path, *, resampling: str = "nearest") -> None:
    """Copy a tiled GeoTIFF to ``out`` as a compressed Cloud-Optimised GeoTIFF (overviews by ``resampling``)."""
    rasterio.shutil.copy(tiled, out, driver="COG", **COG_OPTIONS, overview_resampling=resampling)
