"""Rasters in ``spatial build``: land-cover shares of each element, elevation and slope at each project."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import rasterio

from .._style import zone_tint
from ..io.tables import read_table
from ..layers import DistrictLayers
from .grid import open_raster
from .sample import sample_points
from .terrain import slope
from .zonal import read_class_names, zonal_categorical

#: Columns of the per-element land-cover table (``landcover.csv``; long form, one row per class).
LANDCOVER_COLUMNS = ["id", "class", "class_name", "colour", "area_km2", "share"]


def landcover_table(ds: rasterio.io.DatasetReader, layers: DistrictLayers,
                    class_names: dict[int, str] | None) -> pd.DataFrame:
    """Area and share of each land-cover class in each element, with a display colour per class."""
    table = zonal_categorical(ds, layers.elements, class_names=class_names)
    classes = sorted(set(table["class"]) | set(class_names or {}))
    colours = {c: zone_tint(i) for i, c in enumerate(classes)}
    table["colour"] = table["class"].map(colours)
    table["class_name"] = table["class_name"].where(table["class_name"] != "", table["class"].astype(str))
    return table[LANDCOVER_COLUMNS]


def with_landcover(layers: DistrictLayers, table: pd.DataFrame) -> DistrictLayers:
    """The layers with ``landcover`` set and one ``landcover_<class>_share`` column per class in the element table."""
    wide = table.pivot(index="id", columns="class", values="share").fillna(0.0)
    wide.columns = [f"landcover_{c}_share" for c in wide.columns]
    stats = layers.element_stats.merge(wide, left_on="id", right_index=True, how="left")
    return replace(layers, element_stats=stats, landcover=table)


def with_terrain(layers: DistrictLayers, dem: rasterio.io.DatasetReader) -> DistrictLayers:
    """The layers with ``elevation_m`` and ``slope_deg`` at each project (NaN off the DEM)."""
    if layers.projects is None or not len(layers.projects):
        return layers
    with tempfile.TemporaryDirectory() as tmp:
        path = slope(dem, Path(tmp) / "slope.tif")
        with rasterio.open(path) as s:
            slopes = sample_points(s, layers.projects)
    values = pd.DataFrame({"id": layers.projects["id"].to_numpy(),
                           "elevation_m": sample_points(dem, layers.projects), "slope_deg": slopes})
    projects = layers.projects.merge(values, on="id", how="left")
    stats = layers.project_stats.merge(values, on="id", how="left") if layers.project_stats is not None else None
    return replace(layers, projects=projects, project_stats=stats)


def add_rasters(layers: DistrictLayers, *, landcover: Path | None = None, classes: Path | None = None,
                dem: Path | None = None) -> DistrictLayers:
    """Land-cover shares of the elements (``landcover``, classes named by the table ``classes``)
    and elevation and slope at the projects (``dem``)."""
    class_names = read_class_names(read_table(classes), str(classes)) if classes is not None else None
    if landcover is not None:
        with open_raster(landcover) as ds:
            layers = with_landcover(layers, landcover_table(ds, layers, class_names))
    if dem is not None:
        with open_raster(dem, flag="--dem") as ds:
            layers = with_terrain(layers, ds)
    return layers

