"""QGIS layer styles (QML) in the same planning-diagram palette as the web maps."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from ._style import (BOUNDARY_STYLE, CATEGORY_COLOURS, FEATURE_COLOURS, OVERLAP_STYLE, REDLINE_STYLE, ROLE_STYLE,
                     TOWNSHIP_STYLE)

_HEAD = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.22.0\" styleCategories=\"Symbology|Labeling\">\n"


def _rgba(hex_colour: str, alpha: float = 1.0) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _props(**kv: object) -> str:
    return "".join(f"<prop k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in kv.items())


def _dash(dash: str) -> dict[str, object]:
    if not dash:
        return {"use_custom_dash": 0}
    return {"use_custom_dash": 1, "customdash": ";".join(dash.split()), "customdash_unit": "Pixel"}


def _fill(stroke: str, fill: str, opacity: float, weight: float, dash: str = "") -> str:
    style = "dash" if dash else "solid"
    return ('<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            + _props(color=_rgba(fill, opacity), outline_color=_rgba(stroke), outline_width=weight * 0.26,
                     outline_width_unit="MM", outline_style=style, style="solid", joinstyle="round")
            + "</layer>")


def _line(colour: str, weight: float, dash: str = "") -> str:
    return ('<layer class="SimpleLine" enabled="1" locked="0" pass="0">'
            + _props(line_color=_rgba(colour), line_width=weight * 0.26, line_width_unit="MM", line_style="solid",
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


def _hatch(style: dict) -> str:
    return ('<layer class="LinePatternFill" enabled="1" locked="0" pass="0">'
            + _props(angle=style["hatch_angle"], distance=style["hatch_space"] * 0.3, distance_unit="MM",
                     line_width=0.3, line_width_unit="MM", color=_rgba(style["hatch"]))
            + '<symbol type="line" name="@0@1" alpha="1" clip_to_extent="1" force_rhr="0">'
            + _line(style["hatch"], 1.0) + "</symbol></layer>")


def _symbol(kind: str, name: str, layers: str) -> str:
    return f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">{layers}</symbol>'


def _categorized(field: str, cats: list[tuple[str, str, str]], kind: str) -> str:
    """Categorised renderer: ``cats`` are (value, label, symbol layers xml)."""
    categories = "".join(f'<category render="true" symbol="{i}" value={quoteattr(v)} label={quoteattr(lab)}/>'
                         for i, (v, lab, _) in enumerate(cats))
    symbols = "".join(_symbol(kind, str(i), xml) for i, (_, _, xml) in enumerate(cats))
    return (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} symbollevels="0" forceraster="0" '
            f'enableorderby="0"><categories>{categories}</categories><symbols>{symbols}</symbols></renderer-v2>')


def _single(kind: str, xml: str) -> str:
    return (f'<renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" enableorderby="0">'
            f"<symbols>{_symbol(kind, '0', xml)}</symbols></renderer-v2>")


def _labels(field: str) -> str:
    return ('<labeling type="simple"><settings calloutType="simple"><text-style fieldName='
            f'{quoteattr(field)} fontSize="9" fontFamily="Noto Sans CJK SC" textColor="50,50,50,255" isExpression="0">'
            '<text-buffer bufferDraw="1" bufferSize="0.8" bufferColor="255,255,255,255"/></text-style>'
            '<placement placement="1"/><rendering scaleVisibility="0"/></settings></labeling>')


def layer_qml(layer: str) -> str | None:
    """QML style for a layer written by :mod:`spatial.io.gpkg`, or None when it has none."""
    roles = [(r, s["label"], s) for r, s in ROLE_STYLE.items()]
    if layer == "elements":
        body = _categorized("role", [(r, lab, _fill(s["stroke"], s["fill"], s["fill_opacity"], s["weight"], s["dash"]))
                                     for r, lab, s in roles], "fill") + _labels("name")
    elif layer == "axes":
        body = _categorized("role", [(r, lab, _arrow(s["stroke"], s["weight"]) if r == "axis"
                                      else _line(s["stroke"], max(s["weight"], 3.0), s["dash"])) for r, lab, s in roles],
                            "line")
    elif layer == "nodes":
        shapes = {"star": ("star", 6.0), "big-star": ("star", 9.0), "circle": ("circle", 4.0), "none": ("circle", 3.0)}
        body = _categorized("role", [(r, lab, _marker(shapes[s["marker"]][0], s["fill"], s["stroke"], shapes[s["marker"]][1]))
                                     for r, lab, s in roles], "marker") + _labels("name")
    elif layer == "projects":
        body = _categorized("category", [(c, c, _marker("circle", col, "#ffffff", 3.0))
                                         for c, col in CATEGORY_COLOURS.items()], "marker")
    elif layer == "redlines":
        s = REDLINE_STYLE
        body = _single("fill", _fill(s["stroke"], s["fill"], s["fill_opacity"], s["weight"]) + _hatch(dict(s)))
    elif layer == "overlaps":
        s = OVERLAP_STYLE
        body = _single("fill", _fill(s["stroke"], s["stroke"], 0.0, s["weight"], s["dash"]))
    elif layer == "boundary":
        body = _single("fill", _fill(BOUNDARY_STYLE["stroke"], "#ffffff", 0.0, BOUNDARY_STYLE["weight"],
                                     BOUNDARY_STYLE["dash"]))
    elif layer == "townships":
        body = _single("fill", _fill(TOWNSHIP_STYLE["stroke"], "#ffffff", 0.0, TOWNSHIP_STYLE["weight"],
                                     TOWNSHIP_STYLE["dash"])) + _labels("name")
    elif layer in ("features_lines", "features_polygons"):
        kind = "line" if layer == "features_lines" else "fill"
        cats = [(k, k, _line(c, 2.0) if kind == "line" else _fill(c, c, 0.5, 0.8)) for k, c in FEATURE_COLOURS.items()]
        body = _categorized("kind", cats, kind)
    else:
        return None
    return _HEAD + body + "\n</qgis>\n"
