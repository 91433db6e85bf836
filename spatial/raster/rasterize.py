"""The layout (and the red lines) burnt onto exactly a template raster's grid, for land-use models.

Codes 1..n stand for the sorted values of the chosen field (0 = no element); where elements
overlap, the smaller one wins (cores over the zones around them). The code table goes beside
the GeoTIFF three ways: ``.csv`` (code, value, label, colour, cells, area_m2), a GDAL raster
attribute table (``.tif.aux.xml``) and a QGIS paletted style (``.qml``, loaded by default).
Red lines become a 0/1 restriction layer as PLUS/FLUS/CLUE-S read it: 0 = restricted (inside a
red line), 1 = free to change. Cells count as inside where their centre is (GDAL's rule).
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import rasterize as burn
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from .._style import REDLINE_STYLE, ROLE_STYLE, zone_tint
from ..io.files import atomic_files
from ..io.report import CSV_ENCODING, rounded
from .grid import bounded_cache, copy_to_cog, profile_like, row_areas_m2, row_blocks

FIELDS = ("role", "id", "structure")
#: Codes of the restriction layer and what they mean.
RESTRICTION = {0: ("restricted", "生态保护红线 (restricted)", REDLINE_STYLE["stroke"]),
               1: ("free", "可转换 (free to change)", "#f0f0f0")}


def code_table(elements: gpd.GeoDataFrame, field: str) -> pd.DataFrame:
    """Code (1..n), value, label and colour of each distinct value of ``field`` (sorted)."""
    values = sorted(elements[field].astype(str).unique())
    first = elements.assign(_v=elements[field].astype(str)).drop_duplicates("_v").set_index("_v")
    rows = []
    for i, value in enumerate(values):
        el = first.loc[value]
        role = str(el.get("role", ""))
        if field == "role":
            label, colour = str(ROLE_STYLE.get(value, {}).get("label", value)), ROLE_STYLE.get(value, {}).get("fill")
        elif field == "id":
            label = str(el.get("name", value))
            colour = zone_tint(i) if role == "zone" else ROLE_STYLE.get(role, {}).get("fill")
        else:
            label, colour = str(el.get("structure_name", value)), zone_tint(i)
        rows.append((i + 1, value, label, colour or zone_tint(i)))
    return pd.DataFrame(rows, columns=["code", "value", "label", "colour"])


def _burn_to(ds: rasterio.io.DatasetReader, shapes: gpd.GeoSeries, codes: np.ndarray, fill: int,
             path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Burn ``shapes`` (in ``ds``'s CRS, later ones on top) with ``codes`` onto ``ds``'s grid, block by block.

    Writes a tiled uint16 GeoTIFF at ``path``; returns cells and area (m²) per code (index = code).
    """
    top_code = int(max(codes.max(initial=0), fill))
    cells, area = np.zeros(top_code + 1), np.zeros(top_code + 1)
    tree = shapely.STRtree(shapes.to_numpy())
    with bounded_cache(), rasterio.open(path, "w", **profile_like(ds, "uint16", None)) as dst:
        for top, n in row_blocks(ds.height, ds.width):
            window = Window(0, top, ds.width, n)
            box = shapely.box(*rasterio.windows.bounds(window, ds.transform))
            hit = np.sort(tree.query(box, predicate="intersects"))
            block = burn(zip(shapes.to_numpy()[hit], codes[hit].tolist()), out_shape=(n, ds.width),
                         transform=window_transform(window, ds.transform), fill=fill,
                         dtype="uint16") if len(hit) else np.full((n, ds.width), fill, np.uint16)
            dst.write(block, 1, window=window)
            per_row = np.bincount((np.arange(n)[:, None] * (top_code + 1) + block).ravel(),
                                  minlength=n * (top_code + 1)).reshape(n, top_code + 1)
            cells += per_row.sum(axis=0)
            area += row_areas_m2(ds, np.arange(top, top + n)) @ per_row
    return cells, area


def rat_xml(table: pd.DataFrame) -> str:
    """A GDAL PAM ``.aux.xml`` holding ``table`` (code, label, colour, cells) as band 1's raster attribute table."""
    fields = [("Value", 0, 5), ("Count", 0, 1), ("Name", 2, 2), ("Red", 0, 6), ("Green", 0, 7), ("Blue", 0, 8)]
    root = ET.Element("PAMDataset")
    band = ET.SubElement(root, "PAMRasterBand", band="1")
    rat = ET.SubElement(band, "GDALRasterAttributeTable", tableType="thematic")
    for i, (name, typ, usage) in enumerate(fields):
        defn = ET.SubElement(rat, "FieldDefn", index=str(i))
        for tag, text in (("Name", name), ("Type", typ), ("Usage", usage)):
            ET.SubElement(defn, tag).text = str(text)
    for i, r in enumerate(table.itertuples()):
        row = ET.SubElement(rat, "Row", index=str(i))
        rgb = [int(r.colour[k:k + 2], 16) for k in (1, 3, 5)]
        for value in (r.code, int(r.cells), r.label, *rgb):
            ET.SubElement(row, "F").text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def qml(table: pd.DataFrame) -> str:
    """A QGIS paletted-raster style (``.qml``) with one entry per code, labelled."""
    root = ET.Element("qgis", version="3.22.0", styleCategories="AllStyleCategories")
    renderer = ET.SubElement(ET.SubElement(root, "pipe"), "rasterrenderer", type="paletted", band="1",
                             opacity="1", alphaBand="-1", nodataColor="")
    palette = ET.SubElement(renderer, "colorPalette")
    for r in table.itertuples():
        ET.SubElement(palette, "paletteEntry", value=str(r.code), color=r.colour, label=r.label, alpha="255")
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _write_coded(ds: rasterio.io.DatasetReader, shapes: gpd.GeoSeries, codes: np.ndarray, fill: int,
                 table: pd.DataFrame, out: Path) -> list[Path]:
    """Burn and write ``out`` (COG with a colour map) with its .csv, .tif.aux.xml and .qml, all atomically."""
    names = [out.name, out.with_suffix(".csv").name, out.name + ".aux.xml", out.with_suffix(".qml").name]
    with atomic_files(out.parent, names) as (tif, csv, aux, style), tempfile.TemporaryDirectory(dir=tif.parent) as tmp:
        tiled = Path(tmp) / "burnt.tif"
        cells, area = _burn_to(ds, shapes, codes, fill, tiled)
        table = table.assign(cells=cells[table["code"]].astype(np.int64), area_m2=area[table["code"]])
        with rasterio.open(tiled, "r+") as dst:
            dst.write_colormap(1, {int(c): tuple(int(h[k:k + 2], 16) for k in (1, 3, 5)) + (255,)
                                   for c, h in zip(table["code"], table["colour"])})
        with bounded_cache():
            copy_to_cog(tiled, tif)
        rounded(table).to_csv(csv, index=False, lineterminator="\n", encoding=CSV_ENCODING)
        aux.write_text(rat_xml(table), encoding="utf-8")
        style.write_text(qml(table), encoding="utf-8")
    return [out.parent / name for name in names]


def rasterize_layout(elements: gpd.GeoDataFrame, template: rasterio.io.DatasetReader, out: str | Path, *,
                     field: str = "role", redlines: gpd.GeoDataFrame | None = None) -> list[Path]:
    """Write the elements, coded by ``field``, on exactly ``template``'s grid; and the red lines' restriction layer.

    Returns the paths written: ``out`` (.tif), its .csv, .tif.aux.xml and .qml, and with
    ``redlines`` also ``<out stem>_restriction.tif`` with the same three side files.
    """
    out = Path(out)
    table = code_table(elements, field)
    shapes = elements.to_crs(template.crs)
    order = np.argsort(-shapes.geometry.area.to_numpy(), kind="stable")  # big first, small on top
    shapes = shapes.iloc[order]
    codes = shapes[field].astype(str).map(dict(zip(table["value"], table["code"]))).to_numpy(dtype=np.int64)
    written = _write_coded(template, shapes.geometry, codes, 0, table, out)
    if redlines is not None:
        rtable = pd.DataFrame([(code, value, label, colour) for code, (value, label, colour) in RESTRICTION.items()],
                              columns=["code", "value", "label", "colour"])
        red = redlines.to_crs(template.crs).geometry
        written += _write_coded(template, red, np.zeros(len(red), dtype=np.int64), 1, rtable,
                                out.with_name(out.stem + "_restriction.tif"))
    return written
