"""QGIS layer styles (QML) in the same planning-diagram palette as the web maps.

Written element for element as QGIS 3.22 writes them itself (``saveNamedStyle``): renderers
with a fallback category (``其他``) and Chinese legend labels, labels with priority, placement,
obstacle and halo settings, and Chinese field aliases. Everything comes from the one style
table, :mod:`spatial._style`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

from ._style import (BOUNDARY_STYLE, CATEGORY_COLOURS, FEATURE_COLOURS, FEATURE_LABELS, FIELD_ALIASES,
                     ILLUSTRATIVE_REDLINES, LABEL_STYLE, LAYER_NAMES, OTHER_LABEL, OVERLAP_STYLE, PLACE_STYLE,
                     REDLINE_STYLE, ROLE_STYLE, TOWNSHIP_STYLE)

#: QGIS version the styles are written for (Debian bookworm's QGIS; read by every later 3.x).
QGIS_VERSION = "3.22.16-Białowieża"
#: Layers that carry a style, in the order they are drawn from the top (boundary outline on top).
STYLED_LAYERS = ("boundary", "redlines", "overlaps", "projects", "nodes", "axes", "elements", "townships",
                 "features_lines", "features_polygons", "places")
#: QGIS label placement modes (QgsPalLayerSettings.Placement) and polygon placement flags.
_HORIZONTAL, _AROUND_POINT_ORDERED = 4, 6
_INSIDE_OR_OUTSIDE_POLYGON = 3
#: Label obstacle types (QgsLabelObstacleSettings.ObstacleType): avoid interiors / only boundaries.
_OBSTACLE_INTERIOR, _OBSTACLE_BOUNDARY = 0, 1


def _rgba(hex_colour: str, alpha: float = 1.0) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _props(**kv: object) -> str:
    return "".join(f"<prop k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in kv.items())


def _attrs(**kv: object) -> str:
    return " ".join(f"{k}={quoteattr(str(v))}" for k, v in kv.items())


def _dash(dash: str) -> dict[str, object]:
    if not dash:
        return {"use_custom_dash": 0}
    return {"use_custom_dash": 1, "customdash": ";".join(dash.split()), "customdash_unit": "Pixel"}


def _fill(stroke: str, fill: str, opacity: float, weight: float, dash: str = "") -> str:
    style = "dash" if dash else "solid"
    return ('<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            + _props(color=_rgba(fill, opacity), outline_color=_rgba(stroke), outline_width=weight * 0.26,
                     outline_width_unit="MM", outline_style=style, style="solid" if opacity else "no",
                     joinstyle="round")
            + "</layer>")


def _line(stroke: str, weight: float, dash: str = "") -> str:
    """A line; in a fill symbol, a polygon drawn as its outline only (so dashes work)."""
    return ('<layer class="SimpleLine" enabled="1" locked="0" pass="0">'
            + _props(line_color=_rgba(stroke), line_width=weight * 0.26, line_width_unit="MM", line_style="solid",
                     capstyle="round", joinstyle="round", **_dash(dash))
            + "</layer>")



def _arrow(colour: str, weight: float) -> str:
    """A line with an arrowhead at its end, for axes (direction of development)."""
    return ('<layer class="ArrowLine" enabled="1" locked="0" pass="0">'
            + _props(arrow_width=weight * 0.26, arrow_width_unit="MM", arrow_start_width=weight * 0.26,
                     head_length=3, head_thickness=2, head_type=0, arrow_type=0, is_curved=0, is_repeated=1)
            + '<symbol type="fill" name="@0@0" alpha="1" clip_to_extent="1" force_rhr="0">'
            + _fill(colour, colour, 1.0, 0.2) + "</symbol></layer>")


def _marker(shape: str, fill: str, stroke: str, size: float) -> str:
    return ('<layer class="SimpleMarker" enabled="1" locked="0" pass="0">'
            + _props(name=shape, color=_rgba(fill), outline_color=_rgba(stroke), outline_width=0.3, size=size,
                     size_unit="MM")
            + "</layer>")


def _hatch(style: Mapping[str, object]) -> str:
    return ('<layer class="LinePatternFill" enabled="1" locked="0" pass="0">'
            + _props(angle=style["hatch_angle"], distance=float(style["hatch_space"]) * 0.3, distance_unit="MM",
                     line_width=0.3, line_width_unit="MM", color=_rgba(str(style["hatch"])))
            + '<symbol type="line" name="@0@1" alpha="1" clip_to_extent="1" force_rhr="0">'
            + _line(str(style["hatch"]), 1.0) + "</symbol></layer>")


def _symbol(kind: str, name: str, layers: str) -> str:
    return f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">{layers}</symbol>'


def _order_by(expression: str | None) -> tuple[str, str]:
    """Renderer attribute and child element drawing features by ``expression`` descending (first drawn lowest)."""
    if expression is None:
        return 'enableorderby="0"', ""
    return ('enableorderby="1"',
            f'<orderby><orderByClause asc="0" nullsFirst="0">{escape(expression)}</orderByClause></orderby>')


def _categorized(field: str, cats: Sequence[tuple[str, str, str]], kind: str, fallback: str,
                 order_by: str | None = None) -> str:
    """Categorised renderer: ``cats`` are (value, label, symbol layers xml); every other value draws ``fallback``."""
    cats = [*cats, ("", OTHER_LABEL, fallback)]  # value "" is QGIS's "all other values"
    categories = "".join(f'<category render="true" symbol="{i}" value={quoteattr(v)} label={quoteattr(lab)}/>'
                         for i, (v, lab, _) in enumerate(cats))
    symbols = "".join(_symbol(kind, str(i), xml) for i, (_, _, xml) in enumerate(cats))
    enable, clause = _order_by(order_by)
    return (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} symbollevels="0" forceraster="0" '
            f'{enable} referencescale="-1"><categories>{categories}</categories><symbols>{symbols}</symbols>'
            f"{clause}</renderer-v2>")


def _rules(kind: str, rules: Sequence[tuple[str, str, str]]) -> str:
    """Rule-based renderer: ``rules`` are (filter expression or ELSE, legend label, symbol layers xml)."""
    body = "".join(f'<rule key="r{i}" symbol="{i}" filter={quoteattr(f)} label={quoteattr(lab)}/>'
                   for i, (f, lab, _) in enumerate(rules))
    symbols = "".join(_symbol(kind, str(i), xml) for i, (_, _, xml) in enumerate(rules))
    return (f'<renderer-v2 type="RuleRenderer" symbollevels="0" forceraster="0" enableorderby="0" '
            f'referencescale="-1"><rules key="root">{body}</rules><symbols>{symbols}</symbols></renderer-v2>')


def _single(kind: str, xml: str) -> str:
    return (f'<renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" enableorderby="0" '
            f"referencescale=\"-1\"><symbols>{_symbol(kind, '0', xml)}</symbols></renderer-v2>")


def _dd_properties(**expressions: str) -> str:
    """Data-defined label properties (QgsPalLayerSettings.Property name -> expression)."""
    props = "".join(f'<Option type="Map" name={quoteattr(k)}><Option type="bool" name="active" value="true"/>'
                    f'<Option type="QString" name="expression" value={quoteattr(v)}/>'
                    '<Option type="int" name="type" value="3"/></Option>' for k, v in expressions.items())
    return ('<dd_properties><Option type="Map"><Option type="QString" name="name" value=""/>'
            + (f'<Option type="Map" name="properties">{props}</Option>' if props else '<Option name="properties"/>')
            + '<Option type="QString" name="type" value="collection"/></Option></dd_properties>')


def _labels(field: str, *, geometry: str, priority: int, placement: int, obstacle_type: int = _OBSTACLE_BOUNDARY,
            obstacle_factor: float = 1.0, size: float | None = None, colour: str | None = None,
            **data_defined: str) -> str:
    """Simple labeling of ``field`` with every setting QGIS writes (priority, placement, obstacle, halo)."""
    s = LABEL_STYLE
    text_style = _attrs(fieldName=field, isExpression=0, fontFamily=s["font"], namedStyle="Regular",
                        fontSize=size or s["size_pt"], fontSizeUnit="Point",
                        fontSizeMapUnitScale="3x:0,0,0,0,0,0", fontWeight=50, fontItalic=0, fontUnderline=0,
                        fontStrikeout=0, fontKerning=1, fontLetterSpacing=0, fontWordSpacing=0,
                        textColor=_rgba(str(colour or s["colour"])), textOpacity=1, multilineHeight=1,
                        capitalization=0, allowHtml=0, textOrientation="horizontal", blendMode=0,
                        useSubstitutions=0, legendString="Aa", previewBkgrdColor="255,255,255,255")
    buffer = _attrs(bufferDraw=1, bufferSize=s["buffer_mm"], bufferSizeUnits="MM",
                    bufferSizeMapUnitScale="3x:0,0,0,0,0,0", bufferColor=_rgba(str(s["buffer"])), bufferOpacity=1,
                    bufferNoFill=1, bufferJoinStyle=128, bufferBlendMode=0)
    text_format = _attrs(wrapChar="", autoWrapLength=0, useMaxLineLengthForAutoWrap=1, multilineAlign=3,
                         addDirectionSymbol=0, leftDirectionSymbol="<", rightDirectionSymbol=">",
                         reverseDirectionSymbol=0, placeDirectionSymbol=0, formatNumbers=0, decimals=3, plussign=0)
    place = _attrs(placement=placement, priority=priority, placementFlags=10,
                   polygonPlacementFlags=_INSIDE_OR_OUTSIDE_POLYGON, layerType=geometry, dist=1 if geometry ==
                   "PointGeometry" else 0, distUnits="MM", distMapUnitScale="3x:0,0,0,0,0,0", offsetType=0,
                   quadOffset=4, xOffset=0, yOffset=0, offsetUnits="MM", labelOffsetMapUnitScale="3x:0,0,0,0,0,0",
                   rotationAngle=0, rotationUnit="AngleDegrees", preserveRotation=1, centroidWhole=0,
                   centroidInside=1, fitInPolygonOnly=0, predefinedPositionOrder="TR,TL,BR,BL,R,L,TSR,BSR",
                   maxCurvedCharAngleIn=25, maxCurvedCharAngleOut=-25, repeatDistance=0, repeatDistanceUnits="MM",
                   repeatDistanceMapUnitScale="3x:0,0,0,0,0,0", overrunDistance=0, overrunDistanceUnit="MM",
                   overrunDistanceMapUnitScale="3x:0,0,0,0,0,0", lineAnchorPercent=0.5, lineAnchorType=0,
                   lineAnchorClipping=0, geometryGenerator="", geometryGeneratorEnabled=0,
                   geometryGeneratorType="PointGeometry")
    rendering = _attrs(drawLabels=1, obstacle=1, obstacleType=obstacle_type, obstacleFactor=obstacle_factor,
                       displayAll=0, upsidedownLabels=0, labelPerPart=0, mergeLines=0, minFeatureSize=0,
                       limitNumLabels=0, maxNumLabels=2000, scaleVisibility=0, scaleMin=0, scaleMax=0,
                       fontLimitPixelSize=0, fontMinPixelSize=0, fontMaxPixelSize=10000, zIndex=0,
                       unplacedVisibility=0)
    return (f'<labeling type="simple"><settings calloutType="simple"><text-style {text_style}><families/>'
            f'<text-buffer {buffer}/>{_dd_properties()}<substitutions/></text-style>'
            f'<text-format {text_format}/><placement {place}/><rendering {rendering}/>'
            f"{_dd_properties(**data_defined)}</settings></labeling>")


def _role_priority() -> str:
    """Label priority by role (``label_priority`` in the style table), 5 for any other role."""
    cases = " ".join(f"WHEN '{r}' THEN {s['label_priority']}" for r, s in ROLE_STYLE.items())
    return f'CASE "role" {cases} ELSE 5 END'


def _fields(fields: Sequence[str], renamed: Mapping[str, str]) -> str:
    """Field aliases (Chinese) of a layer whose fields are ``fields``; ``renamed`` maps stored to original names."""
    aliases = "".join(f"<alias field={quoteattr(f)} index=\"{i}\" "
                      f"name={quoteattr(FIELD_ALIASES.get(renamed.get(f, f), ''))}/>" for i, f in enumerate(fields))
    return f"<aliases>{aliases}</aliases>"


def legend_name(layer: str, *, official_redlines: bool = False) -> str:
    """The Chinese name a layer goes by in QGIS; illustrative red lines say so."""
    if layer == "redlines":
        return str(REDLINE_STYLE["label"]) if official_redlines else ILLUSTRATIVE_REDLINES
    return LAYER_NAMES.get(layer, layer)


def _renderer(layer: str, official_redlines: bool) -> str | None:
    """Symbology and labels of a layer, or None when it has no style."""
    roles = [(r, str(s["label"]), s) for r, s in ROLE_STYLE.items()]
    grey = "#969696"
    if layer == "elements":  # largest first, so cores and nodes are drawn over the zones they lie in
        return (_categorized("role", [(r, lab, _fill(s["stroke"], s["fill"], s["fill_opacity"], s["weight"], s["dash"]))
                                      for r, lab, s in roles], "fill", _fill(grey, grey, 0.3, 1.0), '"area_km2"')
                + _labels("name", geometry="PolygonGeometry", priority=5, placement=_HORIZONTAL,
                          Priority=_role_priority(), Show="\"role\" <> 'node'"))
    if layer == "axes":
        return _categorized("role", [(r, lab, _arrow(s["stroke"], s["weight"]) if r == "axis"
                                      else _line(s["stroke"], max(s["weight"], 3.0), s["dash"])) for r, lab, s in roles],
                            "line", _line(grey, 2.0))
    if layer == "nodes":
        shapes = {"star": ("star", 6.0), "big-star": ("star", 9.0), "circle": ("circle", 4.0), "none": ("circle", 3.0)}
        return (_categorized("role", [(r, lab, _marker(shapes[s["marker"]][0], s["fill"], s["stroke"],
                                                       shapes[s["marker"]][1])) for r, lab, s in roles],
                             "marker", _marker("circle", grey, "#ffffff", 3.0))
                + _labels("name", geometry="PointGeometry", priority=8, placement=_AROUND_POINT_ORDERED,
                          obstacle_type=_OBSTACLE_INTERIOR, Priority=_role_priority(), Show="\"role\" = 'node'"))
    if layer == "projects":
        return _categorized("category", [(c, OTHER_LABEL if c == "other" else c, _marker("circle", col, "#ffffff", 2.4))
                                         for c, col in CATEGORY_COLOURS.items()], "marker",
                            _marker("circle", CATEGORY_COLOURS["other"], "#ffffff", 2.4))
    if layer == "redlines":  # the legend says so when the red lines are the illustrative sample
        s = REDLINE_STYLE
        xml = _fill(str(s["stroke"]), str(s["fill"]), float(s["fill_opacity"]), float(s["weight"])) + _hatch(s)
        return _rules("fill", [("ELSE", legend_name(layer, official_redlines=official_redlines), xml)])
    if layer == "overlaps":
        s = OVERLAP_STYLE
        return _single("fill", _line(str(s["stroke"]), float(s["weight"]), str(s["dash"])))
    if layer == "boundary":
        s = BOUNDARY_STYLE
        return _single("fill", _line(str(s["stroke"]), float(s["weight"]), str(s["dash"])))
    if layer == "townships":
        s = TOWNSHIP_STYLE
        return (_single("fill", _line(str(s["stroke"]), float(s["weight"]), str(s["dash"])))
                + _labels("name", geometry="PolygonGeometry", priority=1, placement=_HORIZONTAL, obstacle_factor=0.2,
                          size=7.0, colour="#737373"))
    if layer == "places":
        s = PLACE_STYLE
        return (_single("marker", _marker("circle", str(s["fill"]), str(s["stroke"]), float(s["size_mm"])))
                + _labels("name", geometry="PointGeometry", priority=int(s["label_priority"]),
                          placement=_AROUND_POINT_ORDERED, obstacle_factor=0.2, size=6.5, colour="#737373"))
    if layer in ("features_lines", "features_polygons"):
        kind = "line" if layer == "features_lines" else "fill"
        cats = [(k, FEATURE_LABELS.get(k, OTHER_LABEL), _line(c, 2.0) if kind == "line" else _fill(c, c, 0.5, 0.8))
                for k, c in FEATURE_COLOURS.items() if k != "other"]
        other = FEATURE_COLOURS["other"]
        return _categorized("kind", cats, kind, _line(other, 2.0) if kind == "line" else _fill(other, other, 0.5, 0.8))
    return None


def layer_style(layer: str, fields: Sequence[str] = (), *, renamed: Mapping[str, str] | None = None,
                official_redlines: bool = False) -> tuple[str, bool] | None:
    """A layer's style elements (renderer, labeling, aliases) and whether it is labelled, or None.

    Parameters
    ----------
    layer
        The layer's file stem (``elements``, ``redlines``, ...).
    fields
        The layer's fields as stored (a GeoPackage's ``fid`` first), for their Chinese aliases.
    renamed
        Stored field name -> original name, where a format shortened them (Shapefile).
    official_redlines
        The red lines are official data; else their legend says they are illustrative.
    """
    body = _renderer(layer, official_redlines)
    if body is None:
        return None
    return f"{body}\n{_fields(fields, renamed or {})}", "<labeling" in body


def layer_qml(layer: str, fields: Sequence[str] = (), *, renamed: Mapping[str, str] | None = None,
              official_redlines: bool = False) -> str | None:
    """QML style file of a layer (see :func:`layer_style`), or None when it has none."""
    style = layer_style(layer, fields, renamed=renamed, official_redlines=official_redlines)
    if style is None:
        return None
    body, labelled = style
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology|Labeling|Fields" '
            f'labelsEnabled="{int(labelled)}">\n{body}\n</qgis>\n')
