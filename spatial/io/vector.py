"""Reading users' vector files: any format GDAL reads, any CRS, UTF-8 or GBK attributes."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
from charset_normalizer import from_bytes
from pyogrio.errors import DataSourceError
from pyproj import Transformer

from ..crs import gk_zone_epsg, lonlat_as_is
from ..errors import InputError
from ..errors import option as _opt

GEOM_KINDS = {
    "polygon": {"Polygon", "MultiPolygon"},
    "point": {"Point", "MultiPoint"},
    "line": {"LineString", "MultiLineString"},
}
#: lon/lat box (west, south, east, north) around China with a margin: every user layer lies in it.
CHINA_LONLAT = (70.0, 3.0, 140.0, 56.0)


def _gdal_path(path: Path) -> str:
    """The path GDAL should open; zipped Shapefiles through /vsizip/."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        if len(shps) != 1:
            raise InputError.one(path, "", f"the zip holds {len(shps)} Shapefiles ({', '.join(shps) or 'none'})",
                                 "zip exactly one Shapefile (.shp with its .shx, .dbf, .prj, .cpg)")
        return f"/vsizip/{path}/{shps[0]}"
    return str(path)


def _dbf_bytes(path: Path) -> bytes | None:
    """Raw text of a Shapefile's .dbf (unzipped or zipped), or None when there is no Shapefile."""
    if path.suffix.lower() == ".shp":
        dbf = path.with_suffix(".dbf")
        if not dbf.exists():
            dbf = path.with_suffix(".DBF")
        if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists() or not dbf.exists():
            return None
        return dbf.read_bytes()
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if any(n.lower().endswith(".cpg") for n in names):
                return None
            dbfs = [n for n in names if n.lower().endswith(".dbf")]
            return zf.read(dbfs[0]) if dbfs else None
    return None


def detect_dbf_encoding(raw: bytes) -> str:
    """Encoding of a .dbf that has no .cpg: UTF-8 if it decodes, else the best Chinese guess.

    The DBF header's language driver byte is unreliable in files exported by Chinese GIS
    software, so the record bytes themselves decide.
    """
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) > 10 else 0
    body = raw[header_len:]
    if body.isascii():
        return "UTF-8"
    try:
        body.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(body, cp_isolation=["gb18030", "gbk", "big5", "utf_8"]).best()
    if best is not None and best.encoding in ("big5",):
        return "BIG5"
    return "GB18030"


def _suggest_crs(src: str, layer: str | None, hint_lon: float | None) -> str:
    """A hint for a file with no CRS, from its coordinate ranges."""
    info = pyogrio.read_info(src, layer=layer)
    xmin, ymin, xmax, ymax = info.get("total_bounds") or (0, 0, 0, 0)
    if -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90:
        return "the coordinates are degrees: EPSG:4490 (CGCS2000) or EPSG:4326 (WGS84)"
    if 1e7 <= xmin and xmax < 1e8 and 1e6 <= ymin <= 1e7:
        zone = int(xmin // 1e6)
        if 25 <= zone <= 45:
            return (f"the x values carry the zone prefix {zone}: EPSG:{4513 + zone - 25} "
                    f"(CGCS2000 3-degree Gauss-Kruger zone {zone}, CM {zone * 3}°E)")
    if 1e5 <= xmin and xmax <= 9e5 and 1e6 <= ymin <= 1e7:
        guess = f"EPSG:{gk_zone_epsg(hint_lon)} for this district" if hint_lon is not None else \
            "EPSG:4547 (CM 114°E) or EPSG:4548 (CM 117°E) in Jiangxi"
        return ("the coordinates are Gauss-Kruger metres without zone prefix: a CGCS2000 3-degree CM zone, "
                f"EPSG:4534-4554 by central meridian, e.g. {guess}")
    return f"coordinate ranges x {xmin:.0f}..{xmax:.0f}, y {ymin:.0f}..{ymax:.0f} match no common Chinese CRS"


def _check_in_china(gdf: gpd.GeoDataFrame, path: Path, src: str, layer: str | None,
                    hint_lon: float | None) -> None:
    """Raise when the declared CRS puts the features outside China: the CRS does not fit the numbers."""
    xmin, ymin, xmax, ymax = gdf.total_bounds
    if not np.all(np.isfinite([xmin, ymin, xmax, ymax])):
        return
    if lonlat_as_is(gdf.crs):
        lon0, lat0, lon1, lat1 = xmin, ymin, xmax, ymax
    else:
        lon0, lat0, lon1, lat1 = Transformer.from_crs(gdf.crs, 4326, always_xy=True).transform_bounds(
            xmin, ymin, xmax, ymax)
    lo, la, hi, ha = CHINA_LONLAT
    if np.all(np.isfinite([lon0, lat0, lon1, lat1])) and lo <= lon0 and lon1 <= hi and la <= lat0 and lat1 <= ha:
        return
    crs = f"EPSG:{gdf.crs.to_epsg()}" if gdf.crs.to_epsg() else gdf.crs.name
    raise InputError.one(path, "CRS", f"declares {crs}, which puts the features at lon {lon0:.3f}..{lon1:.3f}, "
                         f"lat {lat0:.3f}..{lat1:.3f}, outside China; {_suggest_crs(src, layer, hint_lon)}",
                         "declare the CRS the coordinates are really in (fix the .prj, or QGIS: "
                         "Layer > Set CRS, then export again)")


def list_layers(path: str | Path) -> list[tuple[str, str]]:
    """(layer name, geometry type) of every layer in a file."""
    return [(str(n), str(t)) for n, t in pyogrio.list_layers(_gdal_path(Path(path)))]


def resolve_layer(path: str | Path, *, layer: str | None = None, geometry: str = "any",
                  option: str = "") -> tuple[str, str | None]:
    """The GDAL path and the layer to read of a user's vector file (see :func:`read_vector`).

    Raises
    ------
    InputError
        Missing, empty or unreadable file; ambiguous or unknown layer.
    """
    path = Path(path)
    if not path.exists():
        raise InputError.one(path, "", "file not found", "check the path")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError.one(path, "", "the file is empty", "export the layer again")
    try:
        src = _gdal_path(path)
        layers = pyogrio.list_layers(src)
    except (DataSourceError, zipfile.BadZipFile, OSError) as exc:
        raise InputError.one(path, "", f"not a readable vector file ({str(exc).splitlines()[0][:120]})",
                             "give a Shapefile, GeoPackage, GeoJSON or zipped Shapefile") from None
    wanted = GEOM_KINDS.get(geometry)
    if layer is None and len(layers) > 1:
        fits = [str(n) for n, t in layers if wanted is None or str(t).replace("Multi", "") in
                {w.replace("Multi", "") for w in wanted}]
        if len(fits) != 1:
            names = ", ".join(f"{n} ({t})" for n, t in layers)
            raise InputError.one(path, "layer", f"the file has {len(layers)} layers: {names}",
                                 f"choose one with {_opt(option, 'layer')} NAME")
        layer = fits[0]
    if layer is not None and layer not in {str(n) for n, _ in layers}:
        names = ", ".join(str(n) for n, _ in layers)
        raise InputError.one(path, "layer", f"no layer {layer!r}; layers: {names}",
                             f"choose one with {_opt(option, 'layer')} NAME")
    return src, layer


def encoding_of(path: str | Path) -> str | None:
    """The attribute encoding to read a file with: detected for a Shapefile without .cpg, else GDAL's own."""
    raw = _dbf_bytes(Path(path))
    return detect_dbf_encoding(raw) if raw is not None else None


def read_vector(path: str | Path, *, layer: str | None = None, geometry: str = "any",
                crs: str | None = None, hint_lon: float | None = None, option: str = "",
                fids: np.ndarray | None = None, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read a user's vector file with its CRS and attribute encoding checked.

    Parameters
    ----------
    path
        Shapefile (``.shp``, or a ``.zip`` holding one), GeoPackage, GeoJSON or any format GDAL reads.
    layer
        Layer name for multi-layer files; required when the file has several candidate layers.
    geometry
        ``"polygon"``, ``"point"``, ``"line"`` or ``"any"``: the geometry kind the caller needs.
    crs
        CRS to assume when the file declares none (e.g. ``"EPSG:4547"``); never overrides one.
    hint_lon
        A longitude in the area of interest, to name the likely Gauss-Kruger zone in errors.
    option
        The command's option for this file (``--redlines``): fixes name ``<option>-layer`` and
        ``<option>-crs``; by default ``--layer`` and ``--crs``.
    fids
        Only these features (GDAL feature ids, in this order); by default all.
    encoding
        The attribute encoding when the caller has it from :func:`encoding_of` already; by
        default it is found here.

    Raises
    ------
    InputError
        Missing, empty or corrupt file; ambiguous layer; no CRS; wrong geometry kind.
    """
    path = Path(path)
    src, layer = resolve_layer(path, layer=layer, geometry=geometry, option=option)
    wanted = GEOM_KINDS.get(geometry)
    try:
        encoding = encoding or encoding_of(path)
        gdf = pyogrio.read_dataframe(src, layer=layer, encoding=encoding, fids=fids)  # (use_arrow: slower here, more memory)
    except (DataSourceError, UnicodeDecodeError, ValueError, zipfile.BadZipFile, zlib.error, OSError) as exc:
        raise InputError.one(path, f"layer {layer}" if layer else "",
                             f"could not be read ({str(exc).splitlines()[0][:120]})",
                             "check that the file is complete (for a Shapefile: .shp, .shx and .dbf together)") from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError.one(path, f"layer {layer}" if layer else "", "has no geometry (a table, not a layer)",
                             "give points or polygons (GeoPackage, GeoJSON, Shapefile), e.g. "
                             "layers/<adcode>/projects.geojson; spatial build reads lon/lat tables as its projects file")
    if len(gdf) == 0:
        raise InputError.one(path, f"layer {layer}" if layer else "", "the layer has no features",
                             "export the layer again with its features")
    if gdf.crs is None:
        if crs is None:
            raise InputError.one(path, ".prj" if path.suffix.lower() in (".shp", ".zip") else "CRS",
                                 "the file declares no coordinate reference system; "
                                 + _suggest_crs(src, layer, hint_lon),
                                 f"add the .prj (or define the CRS in QGIS), or pass {_opt(option, 'crs')} EPSG:NNNN")
        gdf = gdf.set_crs(crs)
    _check_in_china(gdf, path, src, layer, hint_lon)
    if wanted is not None:
        kinds = set(gdf.geometry.dropna().geom_type)
        if not kinds <= wanted:
            bad = ", ".join(sorted(kinds - wanted))
            raise InputError.one(path, f"layer {layer}" if layer else "geometry",
                                 f"has {bad} geometries where {geometry} geometries are needed",
                                 f"give a {geometry} layer")
    if encoding is not None:
        gdf.attrs["encoding"] = encoding
    return gdf


def with_ids(gdf: gpd.GeoDataFrame, path: Path, id_field: str) -> gpd.GeoDataFrame:
    """The layer with its ``id_field`` as a unique text ``id`` column, or an InputError."""
    if id_field not in gdf.columns:
        fields = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
        raise InputError.one(path, f"field {id_field}", "no such id field",
                             f"pass --id-field with one of: {fields}")
    ids = gdf[id_field]
    if ids.isna().any():
        rows = ", ".join(str(i + 1) for i in ids.index[ids.isna()][:10])
        raise InputError.one(path, f"field {id_field}, row(s) {rows}", "empty id", "give every feature an id")
    ids = ids.astype(str)
    if not ids.is_unique:
        dup = ", ".join(sorted(ids[ids.duplicated()].unique())[:10])
        raise InputError.one(path, f"field {id_field}", f"duplicate id(s): {dup}", "make the ids unique")
    out = gdf.drop(columns=[c for c in ("id",) if c in gdf.columns and c != id_field]).copy()
    out["id"] = ids.to_numpy()
    return out
