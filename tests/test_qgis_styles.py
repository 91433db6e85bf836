"""The QGIS styles as written (no QGIS needed): every setting QGIS reads, from the one style table."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from spatial._style import CATEGORY_COLOURS, FEATURE_COLOURS, ROLE_STYLE
from spatial.layers import ELEMENT_COLUMNS
from spatial.qgis import STYLED_LAYERS, layer_qml, legend_name


def _qml(layer: str, fields=(), **kw) -> ET.Element:
    return ET.fromstring(layer_qml(layer, fields, **kw).split("\n", 1)[1])


@pytest.mark.parametrize("layer", STYLED_LAYERS)
def test_every_category_list_ends_in_a_chinese_fallback(layer: str):
    root = _qml(layer)
    labels = [c.get("label") for c in root.iter("category")] + [r.get("label") for r in root.iter("rule")]
    assert "other" not in labels and all(lab for lab in labels)
    cats = list(root.iter("category"))
    if cats:
        assert (cats[-1].get("value"), cats[-1].get("label")) == ("", "其他")
        symbols = {s.get("name") for s in root.find("renderer-v2/symbols")}
        assert {c.get("symbol") for c in cats} == symbols


def test_element_labels_carry_priority_placement_obstacle_and_halo():
    root = _qml("elements", ["fid", *ELEMENT_COLUMNS])
    assert root.get("labelsEnabled") == "1"
    settings = root.find("labeling/settings")
    place, rendering = settings.find("placement"), settings.find("rendering")
    assert place.get("priority") == "5" and place.get("placement") == "4"  # horizontal, QGIS's default priority
    assert place.get("polygonPlacementFlags") == "3"  # inside or outside the polygon
    assert rendering.get("obstacle") == "1" and rendering.get("obstacleType") == "1"
    assert settings.find("text-style/text-buffer").get("bufferDraw") == "1"
    props = {o.get("name"): o for o in settings.find("dd_properties/Option/Option[@name='properties']")}
    priority = props["Priority"].find("Option[@name='expression']").get("value")
    for role, style in ROLE_STYLE.items():
        assert f"WHEN '{role}' THEN {style['label_priority']}" in priority
    assert "'node'" in props["Show"].find("Option[@name='expression']").get("value")
    order = root.find("renderer-v2/orderby/orderByClause")
    assert order.text == '"area_km2"' and order.get("asc") == "0"  # largest drawn first, under the small ones
    aliases = {a.get("field"): a.get("name") for a in root.iter("alias")}
    assert aliases["structure"] == "结构" and aliases["role"] == "角色" and aliases["area_km2"] == "面积（平方公里）"
    assert [a.get("index") for a in root.iter("alias")] == [str(i) for i in range(len(ELEMENT_COLUMNS) + 1)]


def test_renamed_fields_keep_their_aliases():
    root = _qml("elements", ["stru_id", "role"], renamed={"stru_id": "structure_id"})
    assert {a.get("field"): a.get("name") for a in root.iter("alias")} == {"stru_id": "结构编号", "role": "角色"}


def test_red_line_legend_says_whether_official():
    assert [r.get("label") for r in _qml("redlines").iter("rule")] == ["生态保护红线（示意，非官方）"]
    assert [r.get("label") for r in _qml("redlines", official_redlines=True).iter("rule")] == ["生态保护红线"]
    assert legend_name("redlines") == "生态保护红线（示意，非官方）"
    assert legend_name("redlines", official_redlines=True) == "生态保护红线"


def test_projects_and_features_use_the_shared_colours_with_chinese_labels():
    cats = list(_qml("projects").iter("category"))
    assert [c.get("value") for c in cats] == [*CATEGORY_COLOURS, ""]
    assert cats[list(CATEGORY_COLOURS).index("other")].get("label") == "其他"
    features = {c.get("value"): c.get("label") for c in _qml("features_lines").iter("category")}
    assert features["river"] == "河流" and features["road"] == "道路" and len(features) == len(FEATURE_COLOURS)
    places = _qml("places")
    assert places.find("renderer-v2").get("type") == "singleSymbol" and places.get("labelsEnabled") == "1"
