"""Folium maps of a district's layout in planning-diagram style, and the maps' index page.

Python holds the data (display geometry, escaped popup HTML, styles from
:mod:`spatial._style`); the templates in ``spatial/templates`` hold the JavaScript and the
markup. Every text that reaches the page goes through an autoescaping Jinja template or
JSON with ``<``, ``>`` and ``&`` escaped, so a project named ``<img src=x onerror=...>``
shows as text. Analysis uses full geometry; maps get a simplified copy (about a third of a
pixel one zoom level past the district's fitting zoom) with 5-decimal coordinates.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import folium
import geopandas as gpd
import jinja2
import markupsafe
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium import plugins
from folium.elements import JSCSSMixin
from folium.template import Template
from shapely.geometry import mapping

from . import _style as st
from . import assets
from .crs import ellipsoidal_area_m2, transform_geometries
from .errors import InputError
from .citations import PlanText
from .plans import PlanSpec, category_label
from .layers import DistrictLayers
from .raster.popup import popup_shares

_TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Basemaps ``render_district`` offers; ``custom`` takes ``tile_url``.
BASEMAPS = ("none", "osm", "imagery", "tianditu", "amap", "custom")
#: Decimal places of coordinates in maps (5 places ≈ 1 m).
MAP_PRECISION = 5
#: Map width (px) below which the panels start folded and open one at a time.
NARROW_PX = 900
#: Share of the map the open panels leave free, wide and narrow (layout.js.j2 aims 2 points higher).
FREE_SHARE = (0.60, 0.50)
#: The folding panels: CSS selector of the control, of its scrolling body, button label, tooltip.
_PANELS = (
    {"selector": ".sp-title", "body": ".sp-body", "label": "说明", "title": "图名与说明"},
    {"selector": ".sp-legend", "body": ".sp-body", "label": "图例", "title": "图例"},
    {"selector": ".leaflet-control-layers", "body": ".leaflet-control-layers-list", "label": "图层",
     "title": "图层（开关各要素）"},
)
_TILES = {
    "osm": ([("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "")],
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors', "wgs84"),
    "imagery": ([("https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}", "")],
                "Tiles &copy; Esri, Maxar, Earthstar Geographics", "wgs84"),
    "tianditu": ([("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                   "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                   "&TILECOL={x}&tk={token}", "01234567")],
                 "&copy; 天地图 国家地理信息公共服务平台", "wgs84"),
    "amap": ([("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
               "1234")], "&copy; 高德地图 AutoNavi", "gcj02"),
}


@dataclass(frozen=True)
class IndexEntry:
    """One district on ``maps/index.html``; ``slogans`` are (slogan, structure name) pairs."""

    adcode: str
    district: str
    city: str
    province: str
    title: str
    period: str
    slogans: tuple[tuple[str, str], ...]

    @classmethod
    def from_spec(cls, spec: PlanSpec) -> "IndexEntry":
        """The entry of a district, from its plan spec."""
        p = spec.plan
        return cls(p.adcode, p.district, p.city, p.province, p.title, p.period,
                   tuple((s.slogan, s.name) for s in spec.structures))


@dataclass(frozen=True)
class _Basemap:
    tiles: tuple[tuple[str, dict], ...]
    crs: str


# --- templates --------------------------------------------------------------------------------

@cache
def _html_env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def _html(name: str, **context) -> str:
    return _html_env().get_template(name).render(**context).replace("\n", "")


@cache
def _js_template(name: str) -> Template:
    return Template((_TEMPLATES / name).read_text(encoding="utf-8"))


def _js(obj) -> str:
    """JSON for a ``<script>`` block: compact, UTF-8, with ``<``, ``>`` and ``&`` escaped."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class _Vector(JSCSSMixin, MacroElement):
    """GeoJSON drawn by ``vector_layer.js.j2`` into its parent (feature group or cluster)."""

    def __init__(self, features: list[dict], m: folium.Map, *, hatch: dict | None = None):
        super().__init__()
        self._name = "SpatialVector"
        self._template = _js_template("vector_layer.js.j2")
        self.map = m
        self.spec_js = _js({"data": {"type": "FeatureCollection", "features": features}, "hatch": hatch})
        self.default_js = ([("pattern", "")] if hatch else []) + (
            [("polylinetextpath", "")] if any("arrows" in f["properties"] for f in features) else [])
        self.default_css = []


class _Search(JSCSSMixin, MacroElement):
    def __init__(self, records: list[dict]):
        super().__init__()
        self._name = "SpatialSearch"
        self._template = _js_template("search.js.j2")
        self.records_js = _js(records)
        self.placeholder, self.not_found, self.cancel = "搜索要素或项目名称", "未找到", "取消"
        self.default_js = [("Leaflet.Search.js", "")]
        self.default_css = [("Leaflet.Search.css", "")]


class _MiniMap(JSCSSMixin, MacroElement):
    def __init__(self, outline: dict, basemap: _Basemap):
        super().__init__()
        self._name = "SpatialMiniMap"
        self._template = _js_template("minimap.js.j2")
        self.outline_js = _js(outline)
        self.style_js = _js({"color": st.BOUNDARY_STYLE["stroke"], "weight": 1.5, "fillColor": "#e31a1c",
                             "fillOpacity": 0.15})
        self.tiles, self.tile_options = basemap.tiles[0] if basemap.tiles else (None, None)
        self.narrow = NARROW_PX
        self.options = {"position": "bottomright", "toggleDisplay": True, "zoomLevelOffset": -4,
                        "width": 160, "height": 140, "collapsedWidth": 36, "collapsedHeight": 36,
                        "strings": {"hideText": "隐藏鹰眼图", "showText": "显示鹰眼图"}}
        self.default_js = [("Control_MiniMap_js", "")]
        self.default_css = [("Control_MiniMap_css", "")]


class _Layout(MacroElement):
    """Folding panels, their fitting to the map's size, and popups above them (``layout.js.j2``)."""

    def __init__(self):
        super().__init__()
        self._name = "SpatialLayout"
        self._template = _js_template("layout.js.j2")
        self.narrow = NARROW_PX
        self.panels_js = _js(list(_PANELS))
        self.free_js = _js([round(f + 0.02, 2) for f in FREE_SHARE])


class _Panel(MacroElement):
    def __init__(self, html: str, *, position: str, css_class: str):
        super().__init__()
        self._name = "SpatialPanel"
        self._template = _js_template("panel.js.j2")
        self.html, self.position, self.css_class = html, position, css_class


# --- checks and geometry ------------------------------------------------------------------------

def _basemap(basemap: str, tile_url: str | None, tile_crs: str, token: str | None) -> _Basemap:
    if basemap not in BASEMAPS:
        raise InputError.one("--basemap", "", f"unknown basemap {basemap!r}", f"use one of {', '.join(BASEMAPS)}")
    if tile_url is not None and basemap != "custom":
        raise InputError.one("--tile-url", "", f"a tile URL was given with basemap {basemap!r}",
                             "use --basemap custom with --tile-url, or drop --tile-url")
    if basemap == "none":
        return _Basemap((), "wgs84")
    if basemap == "custom":
        if not tile_url or not all(k in tile_url for k in ("{z}", "{x}", "{y}")):
            raise InputError.one("--tile-url", "", f"tile URL {tile_url!r} is not an XYZ template",
                                 "give a URL with {z}, {x} and {y}, e.g. http://tiles.intranet/{z}/{x}/{y}.png")
        if tile_crs not in ("wgs84", "gcj02"):
            raise InputError.one("--tile-crs", "", f"unknown tile coordinate system {tile_crs!r}",
                                 "use wgs84 (also for CGCS2000 tiles) or gcj02")
        return _Basemap(((tile_url, {"attribution": "custom tiles", "maxZoom": 19}),), tile_crs)
    urls, attribution, crs = _TILES[basemap]
    tiles = []
    for layer in (("vec", "cva") if basemap == "tianditu" else ("",)):
        url, subdomains = urls[0]
        url = url.replace("{layer}", layer).replace("{token}", token or "{tk}")  # {tk}: asked in the page
        options = {"attribution": attribution, "maxZoom": 18}
        if subdomains:
            options["subdomains"] = subdomains
        tiles.append((url, options))
    return _Basemap(tuple(tiles), crs)


def _fit_zoom(bounds: tuple[float, float, float, float], *, width: int = 1000, height: int = 700) -> int:
    """Web Mercator zoom at which ``bounds`` (lon/lat) fit a ``width`` x ``height`` pixel map."""
    minx, miny, maxx, maxy = bounds

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    dx = max(maxx - minx, 1e-6) / 360.0
    dy = max(merc(maxy) - merc(miny), 1e-6) / (2 * math.pi)
    zoom = math.floor(math.log2(min(width / (256 * dx), height / (256 * dy))))
    return int(min(max(zoom, 3), 18))


def display_tolerance(bounds: tuple[float, float, float, float]) -> float:
    """Simplification tolerance in degrees: a third of a pixel one zoom past the fitting zoom."""
    zoom = _fit_zoom(bounds) + 1
    lat = (bounds[1] + bounds[3]) / 2
    return 360.0 / (256 * 2 ** zoom) * math.cos(math.radians(lat)) / 3


def _display(geoms, *, tolerance: float, crs: str, coverage: bool = False) -> np.ndarray:
    """Display copy of geometries: shifted to the basemap's CRS, simplified, rounded."""
    arr = np.asarray(geoms, dtype=object)
    if len(arr) == 0:
        return arr
    arr = transform_geometries(arr, crs, inverse=True)
    if coverage:
        arr = shapely.coverage_simplify(arr, tolerance, simplify_boundary=True)
    else:
        arr = shapely.simplify(arr, tolerance, preserve_topology=True)
    return shapely.transform(arr, lambda c: np.round(c, MAP_PRECISION))


def _feature(geom, props: dict) -> dict | None:
    if geom is None or geom.is_empty:
        return None
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _path_style(*, stroke: str, weight: float, fill: str | None = None, fill_opacity: float = 0.0,
                dash: str = "", css: str = "", opacity: float = 0.9, hatch: bool = False) -> dict:
    style = {"color": stroke, "weight": weight, "opacity": opacity, "fill": fill is not None or hatch,
             "fillColor": fill or stroke, "fillOpacity": fill_opacity, "className": css}
    if dash:
        style["dashArray"] = dash
    if hatch:
        style["hatch"] = True
    return style


# --- popups ------------------------------------------------------------------------------------

def _redline_note(layers: DistrictLayers) -> str:
    if layers.redlines is None or layers.redlines_official:
        return ""
    return "生态保护红线为示意数据，由规划提及的生态要素生成，不是官方成果。"


def _element_projects(layers: DistrictLayers) -> dict[str, list[str]] | None:
    if layers.projects is None:
        return None
    out: dict[str, list[str]] = {}
    for name, ids in zip(layers.projects["name"], layers.projects["element_ids"]):
        for eid in _text(ids).split(","):
            if eid:
                out.setdefault(eid, []).append(_text(name))
    return out


def _source(layers: DistrictLayers, text: PlanText | None, offset: int, section: str = "") -> dict:
    """出处 of a popup: the plan's title, the chapter and section of ``offset`` (from the spec,
    else from the text) and a short quotation read from the text when it is at hand."""
    if text is not None:
        section = section or text.section(offset)
    return {"title": layers.plan.title, "section": section, "quote": text.quote(offset) if text is not None else ""}


def _element_popup(row: pd.Series, layers: DistrictLayers, projects: dict[str, list[str]] | None,
                   text: PlanText | None) -> str:
    stats = None
    if layers.element_stats is not None:
        hit = layers.element_stats[layers.element_stats["id"] == row["id"]]
        if len(hit):
            stats = {"redline_km2": float(hit["redline_km2"].iloc[0]),
                     "redline_share": float(hit["redline_share"].iloc[0])}
    e = {k: (row[k] if k in ("area_km2", "precision_m", "approximate", "defined_in_text") else _text(row[k]))
         for k in ("name", "structure", "structure_name", "term", "function", "categories", "members", "area_km2",
                   "basis_zh", "precision_m", "approximate", "interpretation_zh", "defined_in_text")}
    return _html("popup_element.html.j2", e=e, role_label=st.ROLE_STYLE[row["role"]]["label"], stats=stats,
                 source=_source(layers, text, int(row["offset"]), _text(row["section"])),
                 projects=None if projects is None else projects.get(row["id"], []),
                 redline_note=_redline_note(layers), landcover=popup_shares(layers.landcover, row["id"]))


# --- the map -----------------------------------------------------------------------------------

def _element_style(row: pd.Series, zone_index: int) -> dict:
    role = st.ROLE_STYLE[row["role"]]
    fill = st.zone_tint(zone_index) if row["role"] == "zone" else role["fill"]
    stroke = st.darker(fill) if row["role"] == "zone" else role["stroke"]
    weight = 2.0 if row["role"] == "axis" else role["weight"]
    return _path_style(stroke=stroke, weight=weight, fill=fill, fill_opacity=role["fill_opacity"],
                       dash=role["dash"], css=f"sp-element sp-role-{row['role']}")


def _element_features(row: pd.Series, poly, line, point, style: dict, popup: str) -> list[dict]:
    role = st.ROLE_STYLE[row["role"]]
    tooltip = f"<b>{_escape(row['name'])}</b><br><small>{_escape(role['label'])} · {_escape(row['structure'])}</small>"
    base = {"name": _text(row["name"]), "key": row["id"], "popup": popup, "tooltip": tooltip}
    out = []
    if row["role"] in ("axis",) and line is not None:
        out.append(_feature(poly, {**base, "style": {**style, "weight": 0.5, "fillOpacity": 0.12}}))
        out.append(_feature(line, {**base, "style": _path_style(stroke=role["stroke"], weight=role["weight"],
                                                                 css="sp-element-line sp-role-axis"),
                                   "arrows": {"text": "          ►", "color": st.darker(role["stroke"], 0.55),
                                              "size": 18, "offset": 6}}))
    elif row["role"] == "node":
        out.append(_feature(poly, {**base, "style": {**style, "weight": 0.8, "dashArray": "2 3"}}))
    else:
        out.append(_feature(poly, {**base, "style": style}))
    if role["marker"] != "none":
        at = point if point is not None else (shapely.point_on_surface(poly) if poly is not None else None)
        size = {"star": 28, "big-star": 40, "circle": 14}[role["marker"]]
        kind = "circle" if role["marker"] == "circle" else "star"
        props = {**base, "marker": {"kind": kind, "size": size, "color": role["stroke"],
                                    "className": f"sp-element-marker sp-role-{row['role']}"},
                 "style": _path_style(stroke="#fff", weight=2, fill=role["stroke"], fill_opacity=0.95,
                                      css=f"sp-element-marker sp-role-{row['role']}")}
        out.append(_feature(at, props))
    return [f for f in out if f is not None]


def _legend_swatch(kind: str, colour: str, fill: str = "none", dash: str = "", hatch: str = "") -> str:
    """An inline SVG legend swatch (palette colours only: no user text)."""
    d = f' stroke-dasharray="{dash}"' if dash else ""
    if kind == "star":
        return f'<svg width="22" height="16"><text x="11" y="14" font-size="16" text-anchor="middle" fill="{colour}">★</text></svg>'
    if kind == "arrow":
        return (f'<svg width="22" height="16"><line x1="1" y1="8" x2="15" y2="8" stroke="{colour}" stroke-width="5"/>'
                f'<path d="M14 2 L22 8 L14 14 Z" fill="{colour}"/></svg>')
    if kind == "line":
        return f'<svg width="22" height="16"><line x1="1" y1="8" x2="21" y2="8" stroke="{colour}" stroke-width="2.5"{d}/></svg>'
    if kind == "tints":
        rects = "".join(f'<rect x="{1 + 7 * i}" y="1" width="7" height="14" fill="{st.zone_tint(i)}" '
                        f'stroke="{st.darker(st.zone_tint(i))}"/>' for i in range(3))
        return f'<svg width="22" height="16">{rects}</svg>'
    if kind == "dot":
        return f'<svg width="22" height="16"><circle cx="11" cy="8" r="6" fill="{colour}" stroke="#fff" stroke-width="1.5"/></svg>'
    if hatch:
        pid = "sp-hatch-legend"
        return (f'<svg width="22" height="16"><defs><pattern id="{pid}" width="5" height="5" patternUnits="userSpaceOnUse" '
                f'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" stroke="{hatch}" stroke-width="3"/>'
                f'</pattern></defs><rect x="1" y="1" width="20" height="14" fill="{fill}"/>'
                f'<rect x="1" y="1" width="20" height="14" fill="url(#{pid})" stroke="{colour}"/></svg>')
    return f'<svg width="22" height="16"><rect x="1" y="1" width="20" height="14" fill="{fill}" stroke="{colour}" stroke-width="2"{d}/></svg>'


def _legend(layers: DistrictLayers) -> str:
    roles_present = set(layers.elements["role"])
    roles = []
    for role in st.LIST_ORDER:
        if role not in roles_present:
            continue
        s = st.ROLE_STYLE[role]
        if role in ("core", "pole"):
            swatch = _legend_swatch("star", s["stroke"])
        elif role == "axis":
            swatch = _legend_swatch("arrow", s["stroke"])
        elif role == "node":
            swatch = _legend_swatch("dot", s["stroke"])
        elif role == "zone":
            swatch = _legend_swatch("tints", "")
        else:
            swatch = _legend_swatch("rect", s["stroke"], s["fill"], s["dash"])
        roles.append({"label": s["label"], "swatch": swatch})
    red = ov = None
    if layers.redlines is not None:
        r = st.REDLINE_STYLE
        red = {"label": r["label"] + ("" if layers.redlines_official else "（示意，非官方）"),
               "swatch": _legend_swatch("rect", r["stroke"], r["fill"], hatch=r["hatch"])}
        if layers.overlaps is not None:
            ov = {"label": st.OVERLAP_STYLE["label"],
                  "swatch": _legend_swatch("rect", st.OVERLAP_STYLE["stroke"], dash=st.OVERLAP_STYLE["dash"])}
    cats = []
    if layers.projects is not None:
        present = set(layers.projects["category"])
        cats = [{"label": category_label(c), "swatch": _legend_swatch("dot", col)} for c, col in st.CATEGORY_COLOURS.items()
                if c in present]
    context = [{"label": "区界", "swatch": _legend_swatch("line", st.BOUNDARY_STYLE["stroke"], dash="6 2 1 2")},
               {"label": "乡镇（街道）" + ("范围（近似）" if _approximate_townships(layers) else "范围"),
                "swatch": _legend_swatch("line", st.TOWNSHIP_STYLE["stroke"], dash="3 3")}]
    if len(layers.features):
        context.append({"label": "水系", "swatch": _legend_swatch("line", st.FEATURE_COLOURS["river"])})
    return _html("legend.html.j2", roles=roles, redlines=red, overlaps=ov, categories=cats, context=context)


def _approximate_townships(layers: DistrictLayers) -> bool:
    return "approximate" in layers.townships and bool(layers.townships["approximate"].any())


def _title(layers: DistrictLayers) -> str:
    notes = []
    if _redline_note(layers):
        notes.append(_redline_note(layers))
    if _approximate_townships(layers):
        notes.append("乡镇范围为按驻地推算的近似范围，非官方行政界线。")
    return _html("title.html.j2", l=layers, notes=notes)


def _context_layers(m: folium.Map, layers: DistrictLayers, tol: float, crs: str) -> list[dict]:
    """District boundary, township cells with labels and geographic features; tree nodes."""
    nodes = []
    towns = layers.townships
    fg = folium.FeatureGroup(name="乡镇（街道）").add_to(m)
    geoms = _display(towns.geometry.values, tolerance=tol, crs=crs, coverage=True)
    labels = _display(shapely.point_on_surface(towns.geometry.values), tolerance=0, crs=crs)
    feats = []
    for name, g, p in zip(towns["name"], geoms, labels):
        style = _path_style(stroke=st.TOWNSHIP_STYLE["stroke"], weight=st.TOWNSHIP_STYLE["weight"],
                            dash=st.TOWNSHIP_STYLE["dash"], css="sp-township")
        style["fill"] = False
        style["interactive"] = False
        feats.append(_feature(g, {"name": _text(name), "style": style}))
        feats.append(_feature(p, {"name": _text(name), "label": _text(name), "labelClass": "sp-town-label",
                                  "marker": {"kind": "circle", "size": 0}, "style": {"opacity": 0, "fillOpacity": 0,
                                                                                      "interactive": False}}))
    _Vector([f for f in feats if f], m).add_to(fg)
    nodes.append({"label": "乡镇（街道）", "layer": fg})

    if len(layers.features):
        fg = folium.FeatureGroup(name="水系与道路").add_to(m)
        geoms = _display(layers.features.geometry.values, tolerance=tol, crs=crs)
        feats = []
        for (_, row), g in zip(layers.features.iterrows(), geoms):
            colour = st.FEATURE_COLOURS.get(_text(row.get("kind")), st.FEATURE_COLOURS["other"])
            polygonal = g is not None and g.geom_type in ("Polygon", "MultiPolygon")
            weight = 1.0 if polygonal else (3.0 if row.get("kind") == "river" else 2.0)
            style = _path_style(stroke=colour, weight=weight, fill=colour if polygonal else None,
                                fill_opacity=0.45 if polygonal else 0.0, css=f"sp-feature sp-feature-{_text(row.get('kind'))}",
                                dash="6 3" if row.get("kind") == "railway" else "")
            if not polygonal:
                style["fill"] = False
            feats.append(_feature(g, {"name": _text(row.get("name")), "style": style,
                                      "tooltip": _escape(row.get("name"))}))
        _Vector([f for f in feats if f], m).add_to(fg)
        nodes.append({"label": "水系与道路", "layer": fg})

    fg = folium.FeatureGroup(name="区界").add_to(m)
    geoms = _display(shapely.boundary(layers.boundary.geometry.values), tolerance=tol, crs=crs)
    style = _path_style(stroke=st.BOUNDARY_STYLE["stroke"], weight=st.BOUNDARY_STYLE["weight"],
                        dash=st.BOUNDARY_STYLE["dash"], css="sp-boundary")
    style["fill"] = False
    style["interactive"] = False
    _Vector([f for f in (_feature(g, {"name": layers.plan.district, "style": style}) for g in geoms) if f], m).add_to(fg)
    nodes.append({"label": "区界", "layer": fg})
    return nodes


def _lookup(gdf: gpd.GeoDataFrame, geoms: np.ndarray) -> dict[str, object]:
    return {i: g for i, g in zip(gdf["id"], geoms)}


def _structure_layers(m: folium.Map, layers: DistrictLayers, tol: float, crs: str,
                      search: list[dict], text: PlanText | None) -> list[dict]:
    """One feature group per element, drawn bottom to top; tree nodes grouped by structure."""
    els = layers.elements.reset_index(drop=True)
    polys = _display(els.geometry.values, tolerance=tol, crs=crs)
    lines = _lookup(layers.axes, _display(layers.axes.geometry.values, tolerance=tol, crs=crs))
    points = _lookup(layers.nodes, _display(layers.nodes.geometry.values, tolerance=0, crs=crs))
    centres = _display(shapely.point_on_surface(els.geometry.values), tolerance=0, crs=crs)
    projects = _element_projects(layers)
    structures = {s.id: i for i, s in enumerate(layers.structures)}
    zone_index = {}
    for sid, group in els[els["role"] == "zone"].groupby("structure_id", sort=False):
        zone_index.update({eid: i for i, eid in enumerate(group["id"])})
    order = sorted(range(len(els)), key=lambda i: (structures.get(els.at[i, "structure_id"], len(structures)),
                                                   st.DRAW_ORDER.index(els.at[i, "role"]), i))
    groups = {}
    for i in order:
        row = els.iloc[i]
        fg = folium.FeatureGroup(name=_text(row["name"]),
                                 show=structures.get(row["structure_id"], 0) == 0).add_to(m)
        popup = _element_popup(row, layers, projects, text)
        feats = _element_features(row, polys[i], lines.get(row["id"]), points.get(row["id"]),
                                  _element_style(row, zone_index.get(row["id"], 0)), popup)
        _Vector(feats, m).add_to(fg)
        groups[row["id"]] = fg
        label = f"{st.ROLE_STYLE[row['role']]['label']} · {row['name']}"
        search.append({"title": label, "key": row["id"], "lat": centres[i].y, "lng": centres[i].x})
    tree = []
    for s in layers.structures:
        sub = els[els["structure_id"] == s.id]
        ordered = sorted(sub.index, key=lambda i: (st.LIST_ORDER.index(sub.at[i, "role"]), i))
        children = []
        for i in ordered:
            role = st.ROLE_STYLE[sub.at[i, "role"]]
            colour = st.zone_tint(zone_index.get(sub.at[i, "id"], 0)) if sub.at[i, "role"] == "zone" else role["stroke"]
            children.append({"label": f'<span style="color:{colour};text-shadow:0 0 1px #000">■</span> '
                                      + _escape(f"{role['label']} · {sub.at[i, 'name']}"),
                             "layer": groups[sub.at[i, "id"]]})
        tree.append({"label": f"<b>{_escape(s.slogan)}</b> {_escape(s.name)}", "selectAllCheckbox": True,
                     "collapsed": structures[s.id] > 0, "children": children})
    return tree


def _escape(text) -> str:
    return str(markupsafe.escape(_text(text)))


def _redline_layers(m: folium.Map, layers: DistrictLayers, tol: float, crs: str) -> list[dict]:
    nodes = []
    if layers.redlines is None:
        return nodes
    r = st.REDLINE_STYLE
    note = _redline_note(layers)
    fg = folium.FeatureGroup(name="生态保护红线").add_to(m)
    geoms = _display(layers.redlines.geometry.values, tolerance=tol, crs=crs)
    areas = ellipsoidal_area_m2(layers.redlines.geometry.values) / 1e6
    feats = []
    for (_, row), g, a in zip(layers.redlines.iterrows(), geoms, areas):
        name = _text(row.get("name")) or "生态保护红线"
        rows = [("面积", f"{a:.2f} km²"), ("来源", layers.redlines_source or ("官方数据" if layers.redlines_official else "示意"))]
        style = _path_style(stroke=r["stroke"], weight=r["weight"], fill=r["fill"], fill_opacity=r["fill_opacity"],
                            css="sp-redline", hatch=True)
        feats.append(_feature(g, {"name": name, "style": style, "tooltip": _escape(name),
                                  "popup": _html("popup_area.html.j2", title=name, rows=rows, note=note)}))
    hatch = {"weight": r["hatch_weight"], "spaceWeight": r["hatch_space"], "color": r["hatch"], "opacity": 0.9,
             "spaceOpacity": 0.0, "angle": r["hatch_angle"]}
    _Vector([f for f in feats if f], m, hatch=hatch).add_to(fg)
    label = "生态保护红线" + ("" if layers.redlines_official else "（示意）")
    nodes.append({"label": f'<span style="color:{r["stroke"]}">▨</span> {label}', "layer": fg})
    if layers.overlaps is not None and len(layers.overlaps):
        o = st.OVERLAP_STYLE
        fg = folium.FeatureGroup(name="要素与红线重叠").add_to(m)
        geoms = _display(layers.overlaps.geometry.values, tolerance=tol, crs=crs)
        areas = ellipsoidal_area_m2(layers.overlaps.geometry.values) / 1e6
        names = dict(zip(layers.elements["id"], layers.elements["name"]))
        feats = []
        for (_, row), g, a in zip(layers.overlaps.iterrows(), geoms, areas):
            element = names.get(_text(row.get("element_id")), _text(row.get("element_id")))
            rows = [("要素", element), ("重叠面积", f"{a:.3f} km²")]
            style = _path_style(stroke=o["stroke"], weight=o["weight"], dash=o["dash"], css="sp-overlap")
            style["fill"] = False
            feats.append(_feature(g, {"name": element, "style": style, "tooltip": _escape(f"与红线重叠：{element}"),
                                      "popup": _html("popup_area.html.j2", title="要素与生态保护红线重叠", rows=rows,
                                                     note=note)}))
        _Vector([f for f in feats if f], m).add_to(fg)
        nodes.append({"label": f'<span style="color:{o["stroke"]}">□</span> {o["label"]}', "layer": fg})
    return nodes


_REDLINE_VERDICT = {"inside": "在红线内", "outside": "在红线外",
                    "uncertain": "无法判定（与红线边界的距离小于定位精度）"}


def _project_layer(m: folium.Map, layers: DistrictLayers, crs: str, search: list[dict],
                   text: PlanText | None) -> list[dict]:
    if layers.projects is None or not len(layers.projects):
        return []
    names = dict(zip(layers.elements["id"], layers.elements["name"]))
    cluster = plugins.MarkerCluster(name="项目", options={"showCoverageOnHover": False, "maxClusterRadius": 40,
                                                         "spiderfyOnMaxZoom": True}).add_to(m)
    projects = layers.projects.reset_index(drop=True)
    geoms = _display(projects.geometry.values, tolerance=0, crs=crs)
    feats = []
    for (_, row), g in zip(projects.iterrows(), geoms):
        colour = st.CATEGORY_COLOURS.get(_text(row["category"]), st.CATEGORY_COLOURS["other"])
        elements = [names.get(e, e) for e in _text(row.get("element_ids")).split(",") if e]
        p = {"name": _text(row["name"]), "category": category_label(_text(row["category"])),
             "precision_m": None if pd.isna(row.get("precision_m")) else float(row["precision_m"]),
             "basis": _text(row.get("basis_zh")),
             "redline": _REDLINE_VERDICT.get(_text(row.get("redline_verdict"))),
             "redline_m": None if pd.isna(row.get("redline_distance_m")) else float(row["redline_distance_m"]),
             "elevation_m": None if pd.isna(row.get("elevation_m")) else float(row["elevation_m"]),
             "slope_deg": None if pd.isna(row.get("slope_deg")) else float(row["slope_deg"])}
        source = None if pd.isna(row.get("offset")) else _source(layers, text, int(row["offset"]))
        popup = _html("popup_project.html.j2", p=p, colour=colour, elements=elements, source=source)
        feats.append(_feature(g, {"name": p["name"], "key": _text(row["id"]), "popup": popup,
                                  "tooltip": _escape(f"{p['name']}（{p['category']}）"),
                                  "marker": {"kind": "dot", "size": 16, "color": colour, "className": "sp-project"}}))
        if g is not None and not g.is_empty:
            search.append({"title": f"项目 · {p['name']}", "key": _text(row["id"]), "lat": g.y, "lng": g.x})
    _Vector([f for f in feats if f], m).add_to(cluster)
    return [{"label": "● 规划项目", "layer": cluster}]


def _assign_ids(root) -> None:
    """Stable element names (folium draws random ones) so the same input gives the same file."""
    counter = 0
    stack = [root]
    while stack:
        el = stack.pop(0)
        el._id = f"{counter:05d}"
        counter += 1
        stack.extend(el._children.values())


def _collect_assets(root) -> list[str]:
    """Names of every script/stylesheet the elements ask for; their own links are dropped."""
    names, stack = [], [root]
    while stack:
        el = stack.pop(0)
        if isinstance(el, JSCSSMixin):
            names += [n for n, _ in el.default_js] + [n for n, _ in el.default_css]
            el.default_js, el.default_css = [], []
        stack.extend(el._children.values())
    for name in names:
        assets.asset(name)
    return list(dict.fromkeys(names))


def render_district(layers: DistrictLayers, *, basemap: str = "none", tile_url: str | None = None,
                    tile_crs: str = "wgs84", offline: bool = False, cdn: str = "jsdelivr",
                    assets_dir: Path | None = None, tianditu_token: str | None = None) -> str:
    """One district's interactive map as a complete HTML document.

    Parameters
    ----------
    layers : the district's layers (EPSG:4326).
    basemap : ``none`` (vector context only, works offline), ``osm``, ``imagery`` (Esri World
        Imagery), ``tianditu`` (with ``tianditu_token`` the key is written into the page; without
        it the page asks for the key or reads ``#tk=KEY``, see templates/tianditu_key.js), ``amap`` (GCJ-02 tiles: every vector
        is shifted to GCJ-02 for this map) or ``custom`` (``tile_url``, an XYZ template;
        ``tile_crs`` ``gcj02`` shifts the vectors as for AMap).
    offline : inline every script and stylesheet from ``assets_dir`` (default: the
        repository's ``node_modules``); the file then makes no network request but tiles.
    cdn : where non-offline maps load scripts: ``jsdelivr``, ``unpkg``, ``npmmirror`` or a
        URL template with ``{package}``, ``{version}`` and ``{path}``.

    Raises
    ------
    InputError : unknown basemap or CDN, offline without assets.
    """
    base = _basemap(basemap, tile_url, tile_crs, tianditu_token)
    assets.cdn_template(cdn)
    full_bounds = tuple(layers.boundary.total_bounds)
    tol = display_tolerance(full_bounds)
    outline = _display(layers.boundary.geometry.values, tolerance=tol, crs=base.crs)
    minx, miny, maxx, maxy = shapely.total_bounds(outline)
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=_fit_zoom(full_bounds),
                   tiles=None, control_scale=False, prefer_canvas=False, maxZoom=18)
    m.default_js = [("leaflet", "")]
    m.default_css = [("leaflet_css", "")]
    head = m.get_root().header
    head.add_child(Element("<style>" + (_TEMPLATES / "map.css").read_text(encoding="utf-8") + "</style>"), name="spatial_css")
    if basemap == "tianditu" and not tianditu_token:
        head.add_child(Element("<script>" + (_TEMPLATES / "tianditu_key.js").read_text(encoding="utf-8") + "</script>"),
                       name="spatial_tianditu_key")
    if not base.tiles:
        head.add_child(Element("<style>.folium-map { background: %s; }</style>" % st.PAPER), name="spatial_paper")
    for url, options in base.tiles:
        folium.TileLayer(tiles=url, attr=options["attribution"], name="底图", overlay=False, control=False,
                         max_zoom=options["maxZoom"], subdomains=options.get("subdomains", "abc")).add_to(m)

    search: list[dict] = []
    context = _context_layers(m, layers, tol, base.crs)
    text = PlanText(layers.seed_text) if layers.seed_text is not None else None
    tree = _structure_layers(m, layers, tol, base.crs, search, text)
    redlines = _redline_layers(m, layers, tol, base.crs)
    projects = _project_layer(m, layers, base.crs, search, text)
    overlay = [*tree, *redlines, *projects,
               {"label": "底图要素", "selectAllCheckbox": True, "collapsed": True, "children": context}]
    plugins.TreeLayerControl(overlay_tree={"label": "图层", "children": overlay}, collapsed=False,
                             position="topright").add_to(m)
    _Panel(_title(layers), position="topleft", css_class="sp-panel sp-title").add_to(m)
    _Panel(_legend(layers), position="bottomleft", css_class="sp-panel sp-legend").add_to(m)
    _Search(sorted(search, key=lambda r: r["title"])).add_to(m)
    plugins.Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    plugins.MeasureControl(position="topleft", primary_length_unit="meters", secondary_length_unit="kilometers",
                           primary_area_unit="sqmeters", secondary_area_unit="hectares", localization="cn").add_to(m)
    plugins.MousePosition(position="bottomright", separator=" , ", prefix="经纬度" +
                          ("（GCJ-02）" if base.crs == "gcj02" else "（WGS84）") + "：", num_digits=5,
                          empty_string="").add_to(m)
    _MiniMap({"type": "FeatureCollection",
              "features": [f for f in (_feature(g, {}) for g in outline) if f]}, base).add_to(m)
    _Layout().add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(24, 24))  # see map.css: panels sit in the corners

    names = _collect_assets(m)
    head.add_child(Element(assets.head_html(names, offline=offline, cdn=cdn, node_modules=assets_dir)),
                   name="spatial_assets", index=0)
    _assign_ids(m.get_root())
    return m.get_root().render()


def render_index(entries: list[IndexEntry]) -> str:
    """``maps/index.html``: every district with its plan, period and slogans, linking ``<adcode>.html``."""
    return _html_env().get_template("index.html.j2").render(entries=sorted(entries, key=lambda e: e.adcode))
