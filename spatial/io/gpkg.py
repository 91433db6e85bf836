"""GeoPackages with default QGIS styles: one per district in CGCS2000 (EPSG:4490), overlap pieces."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import pyogrio

from ..qgis import layer_qml
from .files import atomic_path
from .stream import GEOMETRY, Spill, layer_stream, write_arrow

#: Written into every timestamp GDAL and QGIS keep, so that rebuilding gives the same bytes.
FIXED_TIME = "2000-01-01T00:00:00.000Z"
_STYLES_DDL = """CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),
f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME)"""
_STYLE_ROW = """INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName,
styleQML, styleSLD, useAsDefault, description, owner, ui, update_time)
SELECT '', '', table_name, column_name, ?, ?, '', 1, ?, '', NULL, ? FROM gpkg_geometry_columns WHERE table_name = ?"""
_STYLES_CONTENT = """INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
VALUES ('layer_styles', 'attributes', 'layer_styles', '', ?)"""


def write_gpkg(path: str | Path, frames: Mapping[str, gpd.GeoDataFrame | Spill], *, epsg: int = 4490,
               compact: bool = True, multi: bool = False, titles: Mapping[str, tuple[str, str]] | None = None,
               official_redlines: bool = False) -> Path:
    """Write a GeoPackage holding ``frames`` (layer name -> layer, or a :class:`Spill`) atomically, reproducibly.

    Each layer is reprojected to ``epsg``, sorted by id, rounded (attributes and coordinates,
    see :mod:`spatial.io.precision`), spatially indexed (R-tree) and given its QGIS style (see :func:`spatial.qgis.layer_qml`); timestamps are :data:`FIXED_TIME`.
    Rows go to GDAL as a stream of Arrow batches (:func:`spatial.io.stream.layer_stream`): one pass, bounded
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
                with layer_stream(gdf, epsg, multi=multi) as (reader, geometry_type):
                    write_arrow(reader, tmp, layer=name, driver="GPKG", geometry_name=GEOMETRY,
                                 geometry_type=geometry_type, crs=f"EPSG:{epsg}", encoding="UTF-8",
                                 layer_options={"SPATIAL_INDEX": "YES"}, dataset_options={"VERSION": "1.2"})
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
        with closing(sqlite3.connect(tmp)) as db:
            with db:  # one transaction
                db.execute(_STYLES_DDL)
                for name, gdf in frames.items():
                    fields = ["fid", *(gdf.columns if isinstance(gdf, Spill) else
                                       (c for c in gdf.columns if c != gdf.geometry.name))]
                    qml = layer_qml(name, fields, official_redlines=official_redlines)
                    if qml is not None:
                        db.execute(_STYLE_ROW, (name, qml, "spatial planning-diagram style", FIXED_TIME, name))
                db.execute(_STYLES_CONTENT, (FIXED_TIME,))
                db.executemany("UPDATE gpkg_contents SET identifier = ?, description = ? WHERE table_name = ?",
                               [(title, abstract, name) for name, (title, abstract) in (titles or {}).items()])
            if compact:
                db.execute("VACUUM")
    return Path(path)
