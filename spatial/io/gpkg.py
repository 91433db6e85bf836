"""One GeoPackage per district, in CGCS2000 (EPSG:4490), with default QGIS styles."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

import geopandas as gpd
import pyogrio

from ..qgis import layer_qml

#: Written into every timestamp GDAL and QGIS keep, so that rebuilding gives the same bytes.
FIXED_TIME = "2000-01-01T00:00:00.000Z"
_STYLES_DDL = """CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),
f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME)"""


def gpkg_bytes(frames: dict[str, gpd.GeoDataFrame], *, epsg: int = 4490) -> bytes:
    """A GeoPackage holding ``frames`` (layer name -> layer), styled, as bytes."""
    fd, tmp = tempfile.mkstemp(suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_TIME})
    try:
        for name, gdf in frames.items():
            sort = "id" if "id" in gdf.columns else gdf.columns[0]
            out = gdf.sort_values(sort, kind="mergesort").to_crs(epsg)
            pyogrio.write_dataframe(out, tmp, layer=name, driver="GPKG", SPATIAL_INDEX="YES",
                                    dataset_options={"VERSION": "1.2"})
        with sqlite3.connect(tmp) as db:
            db.execute(_STYLES_DDL)
            for name, gdf in frames.items():
                qml = layer_qml(name)
                if qml is not None:
                    db.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                               "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
                               "ui, update_time) SELECT '', '', table_name, column_name, ?, ?, '', 1, ?, '', NULL, ? "
                               "FROM gpkg_geometry_columns WHERE table_name = ?",
                               (name, qml, "spatial planning-diagram style", FIXED_TIME, name))
            db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                       "VALUES ('layer_styles', 'attributes', 'layer_styles', '', ?)", (FIXED_TIME,))
        with sqlite3.connect(tmp) as db:
            db.execute("VACUUM")
        return Path(tmp).read_bytes()
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
        Path(tmp).unlink(missing_ok=True)
