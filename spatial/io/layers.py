"""Writing a district's layers: GeoJSON per geometry type, the GeoPackage (see gpkg) and the tables."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..layers import DistrictLayers
from .files import as_multipolygons, staged_dir, write_geojson
from .gpkg import write_gpkg
from .report import write_csv, write_xlsx


def layer_frames(layers: DistrictLayers) -> dict[str, gpd.GeoDataFrame]:
    """The layers written for a district, by file stem, one geometry type each."""
    out = {
        "boundary": layers.boundary,
        "townships": layers.townships,
        "places": layers.places,
        "features_lines": layers.features[layers.features.geom_type.str.contains("Line")],
        "features_polygons": layers.features[layers.features.geom_type.str.contains("Polygon")],
        "elements": layers.elements,
        "axes": layers.axes,
        "nodes": layers.nodes,
    }
    for name in ("projects", "redlines"):
        gdf = getattr(layers, name)
        if gdf is not None:
            out[name] = gdf
    if layers.overlaps is not None:
        out["overlaps"] = as_multipolygons(layers.overlaps)
    return out


def write_tables(layers: DistrictLayers, folder: Path) -> list[Path]:
    """Write the per-element and per-project tables: CSV, and ``<adcode>.xlsx`` with a notes sheet.

    Returns
    -------
    The paths written.
    """
    sheets = {"elements": layers.element_stats}
    if layers.project_stats is not None:
        sheets["projects"] = layers.project_stats
    if layers.landcover is not None:
        sheets["landcover"] = layers.landcover
    written = [write_csv(folder / f"{name}.csv", table) for name, table in sheets.items()]
    sheets["notes"] = pd.DataFrame({"note": layers.notes})
    return [*written, write_xlsx(folder / f"{layers.plan.adcode}.xlsx", sheets)]


def write_district(layers: DistrictLayers, out_dir: Path) -> list[Path]:
    """Write ``out_dir/<adcode>/`` atomically: every file or, on failure, none (old files kept).

    One GeoJSON per layer (EPSG:4326), ``<adcode>.gpkg`` with the non-empty layers in
    CGCS2000 and their QGIS styles, and the tables of an analysed district (:func:`write_tables`).

    Returns
    -------
    The paths written.
    """
    code = layers.plan.adcode
    target = Path(out_dir) / code
    with staged_dir(target) as stage:
        frames = layer_frames(layers)
        written = [write_geojson(stage / f"{stem}.geojson", gdf, name=f"{code}-{stem}") for stem, gdf in frames.items()]
        written.append(write_gpkg(stage / f"{code}.gpkg", {k: v for k, v in frames.items() if len(v)}))
        written += write_tables(layers, stage)
    return [target / path.name for path in written]
