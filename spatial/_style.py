"""The planning-diagram palette, shared by the web maps and the QGIS styles.

Colours follow the conventions of Chinese planning diagrams (规划示意图): cores and poles red,
axes orange arrows, belts amber bands, corridors blue along their rivers and roads, zones in
distinct pale tints, groups as dashed outlines, ecological red lines as a green hatch and
their overlaps with layout elements outlined red.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

#: Role -> drawing style. ``stroke``/``fill`` are CSS hex colours, ``fill_opacity`` 0-1,
#: ``weight`` the outline (or line) width in pixels, ``dash`` an SVG dash array ("" = solid),
#: ``marker`` how the element's point is drawn (star, big-star, circle or none), ``label_priority``
#: the QGIS label priority (0-10; QGIS's own default is 5): cores and nodes win over zones and groups.
ROLE_STYLE: Mapping[str, Mapping[str, object]] = MappingProxyType({
    "core": MappingProxyType({"label_priority": 10, "label": "核心", "stroke": "#b2182b", "fill": "#e31a1c", "fill_opacity": 0.40,
                              "weight": 2.5, "dash": "", "marker": "star"}),
    "pole": MappingProxyType({"label_priority": 10, "label": "增长极", "stroke": "#7a0177", "fill": "#dd3497", "fill_opacity": 0.40,
                              "weight": 2.5, "dash": "", "marker": "big-star"}),
    "axis": MappingProxyType({"label_priority": 7, "label": "发展轴", "stroke": "#e66101", "fill": "#fdb863", "fill_opacity": 0.15,
                              "weight": 7.0, "dash": "", "marker": "none"}),
    "belt": MappingProxyType({"label_priority": 7, "label": "发展带", "stroke": "#d95f0e", "fill": "#fec44f", "fill_opacity": 0.35,
                              "weight": 1.5, "dash": "", "marker": "none"}),
    "zone": MappingProxyType({"label_priority": 6, "label": "功能片区", "stroke": "#525252", "fill": "#fdd49e", "fill_opacity": 0.45,
                              "weight": 1.5, "dash": "", "marker": "none"}),
    "group": MappingProxyType({"label_priority": 4, "label": "组团", "stroke": "#6a3d9a", "fill": "#cab2d6", "fill_opacity": 0.12,
                               "weight": 2.5, "dash": "8 6", "marker": "none"}),
    "corridor": MappingProxyType({"label_priority": 7, "label": "廊道", "stroke": "#1f78b4", "fill": "#6baed6", "fill_opacity": 0.35,
                                  "weight": 1.5, "dash": "", "marker": "none"}),
    "node": MappingProxyType({"label_priority": 8, "label": "节点", "stroke": "#54278f", "fill": "#9e9ac8", "fill_opacity": 0.25,
                              "weight": 1.5, "dash": "", "marker": "circle"}),
})

#: Drawing order of roles, bottom to top (zones under bands under lines under stars).
DRAW_ORDER = ("zone", "group", "belt", "corridor", "axis", "node", "pole", "core")
#: Order of roles in the layer tree and the legend.
LIST_ORDER = ("core", "pole", "axis", "belt", "corridor", "zone", "group", "node")

#: Distinct pale tints for the zones of one structure, used in order (片区一, 片区二, ...).
ZONE_TINTS: tuple[str, ...] = (
    "#fdd49e", "#c7e9c0", "#c6dbef", "#fcc5c0", "#dadaeb", "#fff7bc", "#d9f0d3", "#fde0dd",
    "#e5f5f9", "#f2f0f7",
)

#: Function category -> marker colour of a project.
CATEGORY_COLOURS: Mapping[str, str] = MappingProxyType({
    "工业": "#7f2704", "科创": "#6a51a3", "交通": "#525252", "物流": "#8c6d31", "商贸": "#d94801",
    "文旅": "#e7298a", "生态": "#238b45", "水利": "#2171b5", "能源": "#fec44f", "公共服务": "#41b6c4",
    "教育": "#1d91c0", "医疗": "#cb181d", "住房更新": "#a6761d", "农业": "#78c679", "other": "#969696",
})
#: Legend label of values outside a category list (and of the value ``other``): never the English word.
OTHER_LABEL = "其他"
#: Geographic feature kind -> Chinese legend label.
FEATURE_LABELS: Mapping[str, str] = MappingProxyType({
    "river": "河流", "lake": "湖泊", "wetland": "湿地", "water-source": "水源地", "road": "道路", "railway": "铁路",
    "park": "公园", "forest": "林地", "scenic": "风景区", "zone": "片区", "other": OTHER_LABEL,
})

#: Ecological protection red lines: green hatch over a pale green fill.
REDLINE_STYLE: Mapping[str, object] = MappingProxyType({
    "label": "生态保护红线", "stroke": "#1a9850", "fill": "#a6d96a", "fill_opacity": 0.25, "weight": 1.2,
    "hatch": "#1a9850", "hatch_angle": 45, "hatch_weight": 2, "hatch_space": 6,
})
#: Where an element and a red line overlap: red outline, no fill.
OVERLAP_STYLE: Mapping[str, object] = MappingProxyType({
    "label": "要素与红线重叠", "stroke": "#e31a1c", "weight": 2.5, "dash": "4 3", "fill_opacity": 0.0,
})
#: Context: district boundary, township cells and geographic features by kind.
BOUNDARY_STYLE: Mapping[str, object] = MappingProxyType({"stroke": "#252525", "weight": 3.0, "dash": "12 4 2 4"})
TOWNSHIP_STYLE: Mapping[str, object] = MappingProxyType({"stroke": "#969696", "weight": 1.0, "dash": "3 3"})
FEATURE_COLOURS: Mapping[str, str] = MappingProxyType({
    "river": "#4a90d9", "lake": "#4a90d9", "wetland": "#74c0e8", "water-source": "#4a90d9",
    "road": "#8c8c8c", "railway": "#4d4d4d", "park": "#74c476", "forest": "#41ab5d", "scenic": "#74c476",
    "zone": "#bdbdbd", "other": "#bdbdbd",
})
#: Place labels (places, townships): grey, small, low label priority; gazetteer points as small dots.
PLACE_STYLE: Mapping[str, object] = MappingProxyType({"stroke": "#ffffff", "fill": "#737373", "size_mm": 1.6,
                                                      "label_priority": 2})
#: Label text of every layer: a CJK font, a white halo (buffer) so labels read over fills and hatches.
LABEL_STYLE: Mapping[str, object] = MappingProxyType({
    "font": "Noto Sans CJK SC", "size_pt": 8.0, "colour": "#323232", "buffer_mm": 0.7, "buffer": "#ffffff",
})
#: Map background where no basemap is drawn (paper-like, as printed planning diagrams).
PAPER = "#f7f4ec"


def zone_tint(index: int) -> str:
    """Tint of the ``index``-th zone (0-based) of a structure, cycling through :data:`ZONE_TINTS`."""
    return ZONE_TINTS[index % len(ZONE_TINTS)]


def darker(hex_colour: str, factor: float = 0.6) -> str:
    """The same hue, darker (each RGB channel times ``factor``), for outlines of tinted fills."""
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c * factor):02x}" for c in rgb)


#: Chinese layer names (QGIS project, legend, Shapefile titles) by layer file stem.
LAYER_NAMES: Mapping[str, str] = MappingProxyType({
    "boundary": "行政区界", "townships": "乡镇（街道）", "places": "地名", "features_lines": "河流道路",
    "features_polygons": "水体绿地", "elements": "空间结构要素", "axes": "轴线", "nodes": "节点",
    "projects": "规划项目", "redlines": "生态保护红线", "overlaps": "要素与红线重叠",
})
#: Name of the red-line layer when it is the illustrative sample, not the official data.
ILLUSTRATIVE_REDLINES = "生态保护红线（示意，非官方）"

#: Chinese aliases of the fields users read, by field name (all layers and tables).
FIELD_ALIASES: Mapping[str, str] = MappingProxyType({
    "id": "编号", "adcode": "行政区划代码", "name": "名称", "structure_id": "结构编号", "structure": "结构",
    "structure_name": "结构名称", "kind": "类型", "role": "角色", "term": "术语", "members": "组成",
    "function": "功能", "categories": "功能类别", "category": "类别", "defined_in_text": "规划原文界定",
    "interpretation": "解读说明", "seed": "规划文本", "offset": "原文位置", "draw": "绘制方法", "basis": "依据",
    "precision_m": "精度（米）", "approximate": "近似", "area_km2": "面积（平方公里）", "area_m2": "面积（平方米）",
    "area_ha": "面积（公顷）", "area_mu": "面积（亩）", "redline_m2": "红线面积（平方米）",
    "redline_km2": "红线面积", "redline_ha": "红线面积（公顷）", "redline_mu": "红线面积（亩）",
    "redline_share": "红线占比", "share": "占比", "patches": "红线图斑数", "projects": "项目数",
    "project_ids": "项目编号", "conflicts": "冲突项目数", "conflict_ids": "冲突项目编号", "city": "市",
    "province": "省", "source": "来源", "aliases": "别名", "level": "级别", "outside": "区外说明",
    "source_crs": "原坐标系", "crs": "坐标系", "ecological": "生态要素", "width_m": "宽度（米）", "anchor": "定位地名",
    "origin": "来源类型", "element_ids": "所在要素编号", "element_names": "所在要素",
    "nearest_element_id": "最近要素编号", "nearest_element_name": "最近要素", "nearest_distance_m": "最近距离（米）",
    "fit": "功能相符", "fit_reason": "相符说明", "fit_reason_en": "相符说明（英文）", "in_redline": "位于红线内",
    "redline_distance_m": "距红线（米）", "within_buffer": "位于缓冲区内", "redline_depth_m": "红线内深度（米）",
    "nearest_redline_id": "最近红线编号", "nearest_redline_type": "最近红线类型", "redline_verdict": "红线判定",
    "type": "类型", "official": "官方数据", "element_id": "要素编号", "element_name": "要素名称",
    "redline_id": "红线编号", "redline_type": "红线类型", "lon": "经度", "lat": "纬度",
    "basis_zh": "依据（中文）", "interpretation_zh": "解读说明（中文）", "section": "章节",
})


# --- print (spatial figure): the same colours, sized for paper -----------------------------------

#: One CSS pixel of the web styles in typographic points (1 px = 1/96 in = 0.75 pt): line
#: widths and dash arrays above print at the weight they have on screen.
PX_PT = 0.75
#: Legend words of the context layers.
CONTEXT_LABELS: Mapping[str, str] = MappingProxyType({
    "boundary": "区界", "townships": "乡镇（街道）范围", "approximate": "（近似）", "water": "水系",
    "road": "道路", "railway": "铁路",
})
#: Marker sizes on paper, in points (the web's 28/40/14 px markers would crowd an A4 sheet).
PRINT_MARKER_PT: Mapping[str, float] = MappingProxyType({"star": 15.0, "big-star": 20.0, "circle": 7.0})
#: Outside the district on paper (inside it is :data:`PAPER`).
PRINT_OUTSIDE = "#ffffff"


def dash_points(dash: str) -> tuple[float, tuple[float, ...]] | str:
    """A CSS/SVG dash array in pixels ("8 6") as a matplotlib dash pattern in points ("-" if solid)."""
    parts = tuple(float(p) * PX_PT for p in dash.replace(",", " ").split())
    return (0.0, parts) if parts else "-"
