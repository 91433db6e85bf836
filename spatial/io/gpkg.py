"""GeoPackages with default QGIS styles: one per district in CGCS2000 (EPSG:4490), overlap pieces."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from ..overlap import vertex_spans
from ..qgis import layer_qml
from .files import MULTI, atomic_path, by_id, multi_parts
from .precision import rounded, rounded_geometries

#: Name of the geometry column in every layer (GDAL's default for GeoPackage).
GEOMETRY = "geom"
#: Written into every timestamp GDAL and QGIS keep, so that rebuilding gives the same bytes.
FIXED_TIME = "2000-01-01T00:00:00.000Z"
#: Features, and vertices, rounded, encoded and written at once (the layer is appended to in batches).
WRITE_BATCH = 4096
WRITE_VERTICES = 262_144
_STYLES_DDL = """CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),
f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME)"""
_STYLE_ROW = """INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName,
styleQML, styleSLD, useAsDefault, description, owner, ui, update_time)
SELECT '', '', table_name, column_name, ?, ?, '', 1, ?, '', NULL, ? FROM gpkg_geometry_columns WHERE table_name = ?"""
_STYLES_CONTENT = """INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
VALUES ('layer_styles', 'attributes', 'layer_styles', '', ?)"""


def _arrow_batches(rows: gpd.GeoDataFrame, epsg: int, *, multi: bool) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The layer's schema and its rows as Arrow batches (:func:`_batches`): attributes rounded (typed
    once for the whole layer; a column of nothing but NULL is text), coordinates rounded (and
    with ``multi`` single parts made one-part multi geometries) one batch at a time, geometry as
    WKB in column :data:`GEOMETRY`."""
    attrs = pa.Table.from_pandas(pd.DataFrame(rounded(rows.drop(columns=rows.geometry.name))), preserve_index=False)
    attrs = attrs.cast(pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in attrs.schema]))
    schema = attrs.schema.append(pa.field(GEOMETRY, pa.binary()))

    def batches() -> Iterator[pa.RecordBatch]:
        for part in _batches(rows.geometry.values):
            geoms = rounded_geometries(rows.geometry.values[part], epsg)
            wkb = shapely.to_wkb(multi_parts(geoms) if multi else geoms)
            table = attrs.slice(part.start, part.stop - part.start).append_column(GEOMETRY, pa.array(wkb, pa.binary()))
            yield from table.combine_chunks().to_batches()

    return schema, batches()


def _geometry_type(layer: gpd.GeoDataFrame, *, multi: bool) -> str:
    """The layer's geometry type for GDAL: the one type of all its geometries (single parts
    counted as multi with ``multi``), else ``Unknown`` (any)."""
    kinds = set(layer.geometry[~layer.geometry.is_empty].dropna().geom_type)
    if multi:
        kinds = {MULTI.get(kind, kind) for kind in kinds}
    return kinds.pop() if len(kinds) == 1 else "Unknown"


def _batches(geoms) -> list[slice]:
    """Row slices of at most :data:`WRITE_BATCH` features and about :data:`WRITE_VERTICES` vertices
    (see :func:`spatial.overlap.vertex_spans`); one empty slice for an empty layer, which creates it."""
    spans = vertex_spans(geoms, WRITE_VERTICES) or [slice(0, 0)]
    return [slice(a, min(a + WRITE_BATCH, s.stop)) for s in spans
            for a in range(s.start, max(s.stop, s.start + 1), WRITE_BATCH)]


def write_gpkg(path: str | Path, frames: dict[str, gpd.GeoDataFrame], *, epsg: int = 4490,
               compact: bool = True, multi: bool = False, titles: Mapping[str, tuple[str, str]] | None = None,
               official_redlines: bool = False) -> Path:
    """Write a GeoPackage holding ``frames`` (layer name -> layer) atomically, reproducibly.

    Each layer is reprojected to ``epsg``, sorted by id, rounded (attributes and coordinates,
    see :mod:`spatial.io.precision`), spatially indexed (R-tree) and given its QGIS style (see :func:`spatial.qgis.layer_qml`); timestamps are :data:`FIXED_TIME`.
    Rows go to GDAL as a stream of Arrow batches (:func:`_arrow_batches`): one pass, bounded
    memory, the R-tree built once at the end.
    ``compact`` rewrites the file without free pages (SQLite VACUUM): smaller, but a second
    pass over the whole file, which large outputs skip (their bytes are reproducible either way).
    ``multi`` writes single parts as one-part multi geometries.
    ``titles`` (layer name -> title, abstract) go into ``gpkg_contents`` (identifier, description);
    ``official_redlines`` says whether a ``redlines`` layer is official (else its legend says 示意).
    """
    with atomic_path(path) as tmp:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_TIME})
        try:
            for name, gdf in frames.items():
                rows = by_id(gdf).to_crs(epsg)
                schema, batches = _arrow_batches(rows, epsg, multi=multi)
                pyogrio.write_arrow(pa.RecordBatchReader.from_batches(schema, batches), tmp, layer=name, driver="GPKG",
                                    geometry_name=GEOMETRY, geometry_type=_geometry_type(rows, multi=multi),
                                    crs=f"EPSG:{epsg}", encoding="UTF-8", layer_options={"SPATIAL_INDEX": "YES"},
                                    dataset_options={"VERSION": "1.2"})
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
        with closing(sqlite3.connect(tmp)) as db:
            with db:  # one transaction
                db.execute(_STYLES_DDL)
                for name in frames:
                    fields = ["fid", *(c for c in frames[name].columns if c != frames[name].geometry.name)]
                    qml = layer_qml(name, fields, official_redlines=official_redlines)
                    if qml is not None:
                        db.execute(_STYLE_ROW, (name, qml, "spatial planning-diagram style", FIXED_TIME, name))
                db.execute(_STYLES_CONTENT, (FIXED_TIME,))
                db.executemany("UPDATE gpkg_contents SET identifier = ?, description = ? WHERE table_name = ?",
                               [(title, abstract, name) for name, (title, abstract) in (titles or {}).items()])
            if compact:
                db.execute("VACUUM")
    return Path(path)
