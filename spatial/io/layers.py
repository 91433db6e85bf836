"""A district's layers on disk: GeoJSON per geometry type, the GeoPackage (see gpkg) and the tables."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..errors import InputError
from ..layer_info import layer_info
from ..layers import DistrictLayers, StructureInfo
from ..plans import PlanSpec
from ..qgis import layer_qml
from ..qgis_project import project_qgz
from .csvt import write_csvt
from .files import as_multi, staged_dir, write_bytes, write_text
from .geofiles import write_geojson
from .gpkg import write_gpkg
from .report import write_csv, write_xlsx
from .shapefile import write_shapefiles


def with_nulls(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer with empty text as NULL: no value (unknown or not applicable), never ``''``."""
    out = gdf.copy()
    for col in out.columns:
        if col != out.geometry.name and pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].where(out[col] != "", None)
    return out


def layer_frames(layers: DistrictLayers) -> dict[str, gpd.GeoDataFrame]:
    """The layers written for a district, by file stem: one geometry type each (multi-part polygons
    and lines, so every district's layer has the same type), empty text as NULL."""
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
        out["overlaps"] = layers.overlaps
    return {name: as_multi(with_nulls(gdf)) for name, gdf in out.items()}


def write_tables(layers: DistrictLayers, folder: Path) -> list[Path]:
    """Write the per-element and per-project tables: CSV with its ``.csvt``, and ``<adcode>.xlsx`` with a notes sheet.

    Returns
    -------
    The paths written.
    """
    sheets = {"elements": layers.element_stats}
    if layers.project_stats is not None:
        sheets["projects"] = layers.project_stats
    if layers.landcover is not None:
        sheets["landcover"] = layers.landcover
    written = [path for name, table in sheets.items()
               for path in (write_csv(folder / f"{name}.csv", table), write_csvt(folder / f"{name}.csvt", table))]
    sheets["notes"] = pd.DataFrame({"note": layers.notes})
    return [*written, write_xlsx(folder / f"{layers.plan.adcode}.xlsx", sheets)]


def write_district(layers: DistrictLayers, out_dir: Path) -> list[Path]:
    """Write ``out_dir/<adcode>/`` atomically: every file or, on failure, none (old files kept).

    One GeoJSON per layer (EPSG:4326) with its QGIS style beside it (``<layer>.qml``),
    ``<adcode>.gpkg`` with the non-empty layers in CGCS2000, their QGIS styles, titles and
    abstracts, the same layers as Shapefiles in ``shp/`` (see :mod:`spatial.io.shapefile`),
    the QGIS project ``<adcode>.qgz`` and the tables of an analysed district (:func:`write_tables`).

    Returns
    -------
    The paths written.
    """
    code = layers.plan.adcode
    target = Path(out_dir) / code
    official = layers.redlines_official
    with staged_dir(target) as stage:
        frames = layer_frames(layers)
        written = []
        for stem, gdf in frames.items():
            written.append(write_geojson(stage / f"{stem}.geojson", gdf, name=f"{code}-{stem}"))
            qml = layer_qml(stem, sorted(c for c in gdf.columns if c != gdf.geometry.name), official_redlines=official)
            if qml is not None:
                write_text(stage / f"{stem}.qml", qml)
                written.append(stage / f"{stem}.qml")
        stored = {k: v for k, v in frames.items() if len(v)}
        infos = {k: layer_info(k, v, layers) for k, v in stored.items()}
        written.append(write_gpkg(stage / f"{code}.gpkg", stored,
                                  titles={k: (i.title, i.abstract) for k, i in infos.items()},
                                  official_redlines=official))
        write_bytes(stage / f"{code}.qgz", project_qgz(layers, stored, infos))
        written.append(stage / f"{code}.qgz")
        written += write_shapefiles(stage / "shp", stored, official_redlines=official)
        written += write_tables(layers, stage)
    return [target / path.relative_to(stage) for path in written]


def read_district(layers_dir: Path, spec: PlanSpec) -> DistrictLayers:
    """The layers ``spatial build`` wrote to ``layers_dir/<adcode>/``, with the plan and structures of ``spec``.

    Tables and statistics are not read (figures draw geometry); the red lines count as
    official only when every patch says so.
    """
    code = spec.plan.adcode
    folder = Path(layers_dir) / code
    missing = [s for s in ("boundary", "townships", "elements", "axes", "nodes") if not (folder / f"{s}.geojson").is_file()]
    if missing:
        raise InputError.one(folder / f"{missing[0]}.geojson", "", f"no layers of {code} here",
                             f"run `spatial build {code}` first, or give the folder it wrote with --layers")

    def read(stem: str) -> gpd.GeoDataFrame | None:
        path = folder / f"{stem}.geojson"
        return gpd.read_file(path) if path.is_file() else None

    features = [f for f in (read("features_lines"), read("features_polygons")) if f is not None and len(f)]
    redlines = read("redlines")
    structures = [StructureInfo(s.id, s.slogan, s.name, s.kind, s.defined_in_text, s.interpretation, s.cite.offset)
                  for s in spec.structures]
    return DistrictLayers(
        plan=spec.plan, structures=structures, boundary=read("boundary"), townships=read("townships"),
        places=read("places"), elements=read("elements"), axes=read("axes"), nodes=read("nodes"),
        features=gpd.GeoDataFrame(pd.concat(features, ignore_index=True), crs=4326) if features
        else gpd.GeoDataFrame({"kind": [], "name": []}, geometry=[], crs=4326),
        projects=read("projects"), redlines=redlines, overlaps=read("overlaps"),
        redlines_official=redlines is not None and len(redlines) > 0 and bool(redlines["official"].all()),
        redlines_source="" if redlines is None or not len(redlines) else str(redlines["source"].iloc[0]))
