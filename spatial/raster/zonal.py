"""Zonal statistics of a raster over polygons, weighted by the exact covered fraction of each cell.

exactextract computes, for every cell a polygon touches, the fraction of the cell inside it;
here each cell also weighs its ground area (:class:`~spatial.raster.grid.CellAreas`:
ellipsoidal for rasters in degrees), cells without data are left out, the polygons are
reprojected to the raster's CRS (the raster is never resampled), and the raster is read in
windows of :data:`~spatial.raster.grid.WINDOW_CELLS` cells.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from exactextract import Operation, exact_extract
from exactextract.raster import RasterioRasterSource

from ..crs import M2_PER_MU
from ..errors import InputError
from .grid import WINDOW_CELLS, CellAreas, bounded_cache

#: Percentiles of the continuous statistics (coverage-weighted, as exactextract's ``quantile``).
PERCENTILES = (10, 25, 50, 75, 90)
#: Class areas below this (slivers where a reprojected edge runs along a cell edge) are not listed.
MIN_AREA_M2 = 0.005
CATEGORICAL_COLUMNS = ["id", "class", "class_name", "area_m2", "area_km2", "area_mu", "share"]
CONTINUOUS_COLUMNS = ["id", "mean", "min", "max", "std", "count", *(f"p{p}" for p in PERCENTILES)]


def _in_raster_crs(elements: gpd.GeoDataFrame, ds: rasterio.io.DatasetReader) -> gpd.GeoDataFrame:
    """The elements' polygons in the raster's CRS (long edges densified first: 0.001° or 100 m) and ids.

    The ids go in a column ``zone``: exactextract keeps ``id`` for itself.
    """
    src = elements[[elements.geometry.name]].assign(zone=elements["id"].astype(str).to_numpy())
    step = 0.001 if src.crs.is_geographic else 100.0
    src = src.set_geometry(src.geometry.segmentize(step))
    out = src.to_crs(ds.crs).reset_index(drop=True)
    coords, owner = shapely.get_coordinates(out.geometry.to_numpy(), return_index=True)
    bad = owner[~np.isfinite(coords).all(axis=1)]
    if len(bad):
        raise InputError.one("--elements", f"element {out['zone'].iloc[bad[0]]}",
                             f"cannot be placed in the raster's CRS ({ds.crs.to_string()})",
                             "check the elements' CRS, or give --raster a raster that covers them")
    return out


#: One exactextract statistic: (stat, output column, read from "value" or "area", area-weighted, options).
Stat = tuple[str, str, str, bool, dict]


def _stats(ds: rasterio.io.DatasetReader, band: int, elements: gpd.GeoDataFrame, stats: list[Stat]) -> pd.DataFrame:
    """exactextract's ``stats`` for every element (column ``id``), reading the raster window by window."""
    sources = {"value": RasterioRasterSource(ds, band, name="value"), "area": CellAreas(ds, band)}
    ops = [Operation(stat, name, sources[on], sources["area"] if weighted else None, options)
           for stat, name, on, weighted, options in stats]
    with bounded_cache():
        res = exact_extract(list(sources.values()), _in_raster_crs(elements, ds), ops, weights=sources["area"],
                            include_cols=["zone"], output="pandas", max_cells_in_memory=WINDOW_CELLS)
    return res.rename(columns={"zone": "id"})


def zonal_categorical(ds: rasterio.io.DatasetReader, elements: gpd.GeoDataFrame, *, band: int = 1,
                      class_names: dict[int, str] | None = None) -> pd.DataFrame:
    """Area of each class of a categorical raster in each element (long form).

    Parameters
    ----------
    ds
        An open raster (see :func:`~spatial.raster.grid.open_raster`); its ``band`` holds class codes.
    elements
        Polygons with a unique text ``id``, any CRS.
    class_names
        Class code -> name, for the ``class_name`` column (empty without it).

    Returns
    -------
    DataFrame
        :data:`CATEGORICAL_COLUMNS`, one row per element and class present, sorted by id and class;
        ``share`` is the class's part of the element's area with data (shares sum to 1).
        Elements outside the raster or over nodata only have no rows, nor have classes covering
        less than :data:`MIN_AREA_M2` of an element (0.00 m² in the table).
    """
    res = _stats(ds, band, elements, [("unique", "classes", "value", False, {}),
                                      ("weighted_frac", "fracs", "value", True, {}),
                                      ("sum", "valid_m2", "area", False, {})])
    rows = []
    for fid, classes, fracs, total in zip(res["id"], res["classes"], res["fracs"], res["valid_m2"]):
        for cls, frac in zip(np.asarray(classes), np.asarray(fracs)):
            if float(frac) * float(total) >= MIN_AREA_M2:
                rows.append((fid, int(cls), float(frac) * float(total), float(frac)))
    out = pd.DataFrame(rows, columns=["id", "class", "area_m2", "share"])
    out["class_name"] = out["class"].map(class_names or {}).fillna("") if len(out) else ""
    out["area_km2"] = out["area_m2"] / 1e6
    out["area_mu"] = out["area_m2"] / M2_PER_MU
    return out[CATEGORICAL_COLUMNS].sort_values(["id", "class"], kind="mergesort", ignore_index=True)


def zonal_continuous(ds: rasterio.io.DatasetReader, elements: gpd.GeoDataFrame, *, band: int = 1) -> pd.DataFrame:
    """Mean, min, max, standard deviation, cell count and percentiles of a raster in each element.

    Mean and standard deviation weigh each cell by the covered part of its ground area;
    ``count`` is the number of cells with data, partial cells counted by their covered fraction;
    percentiles weigh cells by covered fraction. Elements without data get empty statistics.
    """
    res = _stats(ds, band, elements, [
        ("weighted_mean", "mean", "value", True, {}), ("min", "min", "value", False, {}),
        ("max", "max", "value", False, {}), ("weighted_stdev", "std", "value", True, {}),
        ("count", "count", "value", False, {}),
        *[("quantile", "p", "value", False, {"q": p / 100}) for p in PERCENTILES]])
    res = res.rename(columns={f"p_{p}": f"p{p}" for p in PERCENTILES})  # exactextract names them p_<100·q>
    out = res[CONTINUOUS_COLUMNS].copy()
    empty = out["count"] <= 0
    out.loc[empty, [c for c in CONTINUOUS_COLUMNS if c not in ("id", "count")]] = np.nan
    return out.sort_values("id", kind="mergesort", ignore_index=True)


def read_class_names(table: pd.DataFrame, path: str) -> dict[int, str]:
    """Class code -> name from a class table read by :func:`spatial.io.tables.read_table` (columns class, name).

    Raises
    ------
    InputError
        Missing columns, a code that is not an integer, a code given twice.
    """
    missing = [c for c in ("class", "name") if c not in table.columns]
    if missing:
        raise InputError.one(path, "header", f"no column(s) {', '.join(missing)}",
                             "give --classes a table with columns class,name (e.g. 10,耕地)")
    names: dict[int, str] = {}
    for row, code, name in zip(table.index, table["class"], table["name"]):
        try:
            value = int(code)
        except ValueError:
            raise InputError.one(path, f"row {row}, field class", f"{code!r} is not an integer class code",
                                 "write the raster's integer code in --classes") from None
        if value in names:
            raise InputError.one(path, f"row {row}, field class", f"class {value} given twice",
                                 "keep one row per class in --classes")
        names[value] = name
    return names
