"""Writing a district's layers: GeoJSON per geometry type (and the GeoPackage, see gpkg)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from ..layers import DistrictLayers
from .files import geojson_text, staged_dir, write_text
from .gpkg import gpkg_bytes


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
    for name in ("projects", "redlines", "overlaps"):
        gdf = getattr(layers, name)
        if gdf is not None:
            out[name] = gdf
    return out


def write_district(layers: DistrictLayers, out_dir: Path, *, extra: dict[str, bytes] | None = None) -> list[Path]:
    """Write ``out_dir/<adcode>/`` atomically: every file or, on failure, none (old files kept).

    One GeoJSON per layer (EPSG:4326) and ``<adcode>.gpkg`` with the non-empty layers in
    CGCS2000 and their QGIS styles; ``extra`` adds files (name -> bytes), e.g. tables.
    """
    target = Path(out_dir) / layers.plan.adcode
    written = []
    with staged_dir(target) as stage:
        for stem, gdf in layer_frames(layers).items():
            sort = "id" if "id" in gdf.columns else gdf.columns[0]
            write_text(stage / f"{stem}.geojson", geojson_text(gdf, sort_by=sort, name=f"{layers.plan.adcode}-{stem}"))
            written.append(target / f"{stem}.geojson")
        frames = {k: v for k, v in layer_frames(layers).items() if len(v)}
        extra = {f"{layers.plan.adcode}.gpkg": gpkg_bytes(frames), **(extra or {})}
        for name, data in extra.items():
            (stage / name).write_bytes(data)
            written.append(target / name)
    return written
