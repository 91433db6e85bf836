"""Shapefile delivery: one Shapefile per layer in CGCS2000 (EPSG:4490), UTF-8, with its QGIS style.

A DBF field name holds ten characters and a text value 254 bytes. Field names are planned
(:func:`plan_field_names`, the mapping written to ``fields.csv``) rather than cut by GDAL
(``structure_id`` and ``structure_name`` would both become ``structure_``), and long text is
cut at a character boundary (:func:`cut_utf8`), never inside a character; the GeoPackage keeps
the full text.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from .._style import FIELD_ALIASES
from ..qgis import layer_qml
from .csvt import write_csvt
from .files import by_id, write_text
from .precision import rounded, rounded_geometries
from .report import write_csv

#: Longest DBF field name (characters) and text value (bytes).
NAME_CHARS = 10
TEXT_BYTES = 254
#: Short forms of the words of long field names, used only where a name exceeds NAME_CHARS.
_WORDS = {
    "structure": "stru", "element": "el", "elements": "el", "nearest": "nr", "redline": "rl", "distance": "dist",
    "interpretation": "interp", "defined": "def", "approximate": "approx", "precision": "prec", "reason": "rsn",
    "verdict": "vrd", "within": "in", "buffer": "buf", "names": "nms", "name": "nm", "share": "shr", "depth": "dep",
    "type": "typ", "text": "txt", "source": "src",
}
#: GDAL layer options: the DBF's date fixed so that rebuilding gives the same bytes.
_LAYER_OPTIONS = {"DBF_DATE_LAST_UPDATE": "2000-01-01"}


def plan_field_names(columns: list[str]) -> dict[str, str]:
    """Original name -> DBF name (at most :data:`NAME_CHARS` characters, unique, case-insensitively).

    Names that fit are kept; longer ones have their words shortened (:data:`_WORDS`), then
    are cut, with a digit suffix where two would collide.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        short = col if len(col) <= NAME_CHARS else "_".join(_WORDS.get(w, w) for w in col.split("_"))
        short = short[:NAME_CHARS]
        n = 1
        while short.lower() in taken:
            suffix = str(n)
            short = short[:NAME_CHARS - len(suffix)] + suffix
            n += 1
        taken.add(short.lower())
        out[col] = short
    return out


def cut_utf8(text: str, limit: int = TEXT_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes at a character boundary."""
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", errors="ignore")


def _shapefile_frame(gdf: gpd.GeoDataFrame, names: dict[str, str]) -> gpd.GeoDataFrame:
    """The layer in EPSG:4490 with planned field names, text cut to fit a DBF and numbers
    rounded as in every other format (:mod:`spatial.io.precision`)."""
    out = rounded(by_id(gdf).to_crs(4490))
    out[out.geometry.name] = rounded_geometries(out.geometry.values, 4490)
    for col in out.columns:
        if col != out.geometry.name and pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: cut_utf8(v) if isinstance(v, str) else v)
    return out.rename(columns=names)


def write_shapefiles(folder: Path, frames: dict[str, gpd.GeoDataFrame], *,
                     official_redlines: bool = False) -> list[Path]:
    """Write ``folder/<layer>.shp`` (with .shx, .dbf, .prj, .cpg and .qml) per non-empty layer, and ``fields.csv``.

    ``fields.csv`` (with its ``.csvt``) lists for every layer each field's original name (as in
    the GeoPackage and GeoJSON), its Shapefile name and its Chinese alias.

    Returns
    -------
    The paths written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows = []
    for layer, gdf in frames.items():
        if not len(gdf):
            continue
        columns = [c for c in gdf.columns if c != gdf.geometry.name]
        names = plan_field_names(columns)
        path = folder / f"{layer}.shp"
        pyogrio.write_dataframe(_shapefile_frame(gdf, names), path, driver="ESRI Shapefile", encoding="UTF-8",
                                layer_options=_LAYER_OPTIONS)
        qml = layer_qml(layer, [names[c] for c in columns], renamed={v: k for k, v in names.items()},
                        official_redlines=official_redlines)
        if qml is not None:
            write_text(path.with_suffix(".qml"), qml)
        written += [path.with_suffix(s) for s in (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qml")
                    if path.with_suffix(s).exists()]
        rows += [{"layer": layer, "field": c, "shp_field": names[c], "alias": FIELD_ALIASES.get(c)} for c in columns]
    table = pd.DataFrame(rows, columns=["layer", "field", "shp_field", "alias"])
    written += [write_csv(folder / "fields.csv", table), write_csvt(folder / "fields.csvt", table)]
    return written
