"""How a shape was drawn or a project located, said for GIS staff (``en``) and for planners
(``zh``), both from the same facts: one function per way of drawing, so the two never drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from .layers import LIST_SEP


@dataclass(frozen=True)
class Basis:
    """The drawing basis of one feature in English (``basis``) and Chinese (``basis_zh``)."""

    en: str
    zh: str


VORONOI_CELL = Basis(
    "approximate township cell: Voronoi of township seats clipped to the district boundary",
    "近似乡镇范围：以各乡镇驻地生成泰森多边形，按区界裁剪")


def official_cell(file: str) -> Basis:
    """A township polygon from the user's official file."""
    return Basis(f"official township polygon from {file}", f"官方乡镇界线（{file}）")


def township_union(approximate: bool) -> Basis:
    """An element made of whole township cells: Voronoi cells, or official polygons (whose file
    the townships layer names)."""
    if approximate:
        return Basis(VORONOI_CELL.en.replace("township cell", "union of township cells"),
                     "所含乡镇范围合并；乡镇范围为以驻地生成的泰森多边形（按区界裁剪），属近似范围")
    return Basis("union of official township polygons", "所含乡镇的官方界线合并")


def hull(names: list[str], buffer_m: float) -> Basis:
    """Convex hull of named places, buffered."""
    joined = LIST_SEP.join(names)
    return Basis(f"convex hull of {joined}, buffered by {buffer_m:.0f} m",
                 f"以{joined}为顶点的凸包，外扩 {buffer_m:.0f} 米")


def band(width_m: float, *, feature: str | None = None, through: list[str] | None = None) -> Basis:
    """A band of ``width_m`` along a feature's line or along a line through named places."""
    if feature is not None:
        return Basis(f"band {width_m:.0f} m wide along the feature {feature}",
                     f"沿{feature}、总宽 {width_m:.0f} 米的带状范围")
    return Basis(f"band {width_m:.0f} m wide along the line through {LIST_SEP.join(through or [])}",
                 f"沿{'—'.join(through or [])}连线、总宽 {width_m:.0f} 米的带状范围")


def feature_shape(name: str, buffer_m: float) -> Basis:
    """The shape of a feature, buffered when ``buffer_m > 0``."""
    if buffer_m > 0:
        return Basis(f"shape of feature {name}, buffered by {buffer_m:.0f} m", f"{name}的范围，外扩 {buffer_m:.0f} 米")
    return Basis(f"shape of feature {name}", f"{name}的范围")


def node(name: str, radius_m: float) -> Basis:
    """A point at a place and the circle drawn around it."""
    return Basis(f"point at {name}; polygon = {radius_m:.0f} m radius around it",
                 f"{name}点位；面状范围取以其为圆心、半径 {radius_m:.0f} 米的圆")


def project_at_feature(fid: str, name: str) -> Basis:
    """A project placed on a feature (a point on it)."""
    return Basis(f"feature {fid} ({name})", f"按要素“{name}”定位")


def project_at_place(name: str) -> Basis:
    """A project placed at a gazetteer place."""
    return Basis(f"gazetteer {name}", f"按地名库“{name}”的位置定位")


def project_at_coordinates(crs: str) -> Basis:
    """A project with its own coordinates."""
    return Basis(f"coordinates ({crs})", f"按项目表给出的坐标定位（{crs.upper()}）")
