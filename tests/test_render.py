"""Map rendering without a browser: escaping, palette, GCJ-02 shift, tokens, offline, size."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from browser_util import XSS, make_layers, require_npm
from spatial import _style as st
from spatial import assets
from spatial.crs import wgs84_to_gcj02
from spatial.errors import InputError
from spatial.render import IndexEntry, display_tolerance, render_district, render_index

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = assets.default_node_modules()


@pytest.fixture
def needs_npm() -> Path:
    return require_npm()


@pytest.fixture(scope="module")
def html() -> str:
    return render_district(make_layers())


def _spec_blocks(page: str) -> list[dict]:
    """The data of every planning layer in the page (the JSON the vector template receives)."""
    return [json.loads(m) for m in re.findall(r"var spec = (\{.*?\});\n", page)]


def _features(page: str) -> list[dict]:
    return [f for b in _spec_blocks(page) for f in b["data"]["features"]]


def test_hostile_names_never_reach_html_unescaped(html):
    assert XSS not in html
    assert "<img" not in html.replace("<img src=", "")  # no img tag at all
    assert "alert(3)</script>" not in html and "</script><script>alert" not in html
    # the names are there, escaped inside JSON strings
    popups = [f["properties"].get("popup", "") for f in _features(html)]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in p for p in popups)
    assert any("&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in p for p in popups)
    # the search records and tree labels carry them as text only
    records = json.loads(re.search(r"var records = (\[.*?\]);\n", html).group(1))
    assert f"项目 · {XSS}" in [r["title"] for r in records]
    tree_label = json.dumps("科创增长极&lt;img").replace("&", "\\u0026")[1:-1]
    assert tree_label in html  # the layer tree's label (HTML) is escaped, then JSON-encoded


def test_palette_applied(html):
    feats = _features(html)
    by_class = {}
    for f in feats:
        style = f["properties"].get("style") or {}
        by_class.setdefault(style.get("className", ""), []).append(style)
    core = by_class["sp-element sp-role-core"][0]
    assert (core["color"], core["fillColor"]) == (st.ROLE_STYLE["core"]["stroke"], st.ROLE_STYLE["core"]["fill"])
    zones = sorted(s["fillColor"] for s in by_class["sp-element sp-role-zone"])
    assert zones == sorted(st.ZONE_TINTS[:3])
    red = by_class["sp-redline"][0]
    assert red["hatch"] is True and red["color"] == st.REDLINE_STYLE["stroke"]
    assert all(s["color"] == st.OVERLAP_STYLE["stroke"] for s in by_class["sp-overlap"])
    axis_lines = [f for f in feats if (f["properties"].get("style") or {}).get("className") == "sp-element-line sp-role-axis"]
    assert len(axis_lines) == 2 and all(f["properties"]["arrows"]["text"].strip() == "►" for f in axis_lines)
    stars = [f["properties"]["marker"] for f in feats
             if f["properties"].get("marker", {}).get("className", "").startswith("sp-element-marker")]
    assert sorted((m["size"], m["color"]) for m in stars) == [(28, st.ROLE_STYLE["core"]["stroke"]),
                                                               (40, st.ROLE_STYLE["pole"]["stroke"])]
    dots = {f["properties"]["name"]: f["properties"]["marker"]["color"] for f in feats
            if f["properties"].get("marker", {}).get("className") == "sp-project"}
    assert dots["洪都航空科创园"] == st.CATEGORY_COLOURS["科创"] and dots[XSS] == st.CATEGORY_COLOURS["商贸"]


def test_popup_content(html):
    popup = next(f["properties"]["popup"] for f in _features(html) if f["properties"].get("key") == "360199-layout-core")
    for text in ("洪都新城核心区", "一核一带三区", "核心（核）", "洪都新城核心区的功能", "甲镇、乙镇",
                 "1.25 km²（占 12.5%）", "项目（1）", "洪都航空科创园", "测试凸包（精度约 500 米，近似）",
                 "《测试区十四五规划纲要》第二章 第四节 空间布局", "生态保护红线为示意数据"):
        assert text in popup, text
    assert "999_test.txt" not in popup and "test hull" not in popup  # file names and English stay in the layers
    official = render_district(make_layers(official=True))
    assert "生态保护红线为示意数据" not in official


def test_gcj02_shift_for_amap():
    layers = make_layers()
    plain = render_district(layers)
    amap = render_district(layers, basemap="amap")
    assert "autonavi.com" in amap and "autonavi.com" not in plain

    def core_point(page):
        f = next(f for f in _features(page) if f["properties"].get("key") == "360199-layout-core"
                 and f["geometry"]["type"] == "Point")
        return f["geometry"]["coordinates"]

    x, y = 115.90, 28.6675  # the synthetic core's node
    assert core_point(plain) == pytest.approx([x, y], abs=1e-5)
    gx, gy = wgs84_to_gcj02(x, y)
    assert core_point(amap) == pytest.approx([float(gx), float(gy)], abs=1.1e-5)
    assert abs(float(gx) - x) > 1e-3  # the shift is hundreds of metres, not rounding
    # every geometry moved, including the context and the red lines
    assert all(np.allclose(a["geometry"]["coordinates"], b["geometry"]["coordinates"]) is False
               for a, b in zip(_features(plain), _features(amap)) if a["geometry"]["type"] == "Point")


def test_tianditu_token_only_in_the_map_built_with_it():
    layers = make_layers()
    asking = render_district(layers, basemap="tianditu")  # no token: the page asks for the key
    assert asking.count("tk={tk}") == 3 and "localStorage" in asking and "location.hash" in asking
    token = "abc123secret"
    page = render_district(layers, basemap="tianditu", tianditu_token=token)
    assert page.count(f"tk={token}") == 3 and "vec_w" in page  # vector + labels, and the minimap and "cva_w" in page
    for basemap in ("none", "osm", "imagery", "amap"):
        assert token not in render_district(layers, basemap=basemap, tianditu_token=token)


def test_basemap_and_cdn_errors():
    layers = make_layers()
    with pytest.raises(InputError, match="unknown basemap"):
        render_district(layers, basemap="google")
    with pytest.raises(InputError, match="XYZ template"):
        render_district(layers, basemap="custom", tile_url="http://tiles.local/tile.png")
    with pytest.raises(InputError, match="--basemap custom"):
        render_district(layers, basemap="osm", tile_url="http://tiles.local/{z}/{x}/{y}.png")
    with pytest.raises(InputError, match="unknown CDN"):
        render_district(layers, cdn="cdnjs")
    custom = render_district(layers, basemap="custom", tile_url="http://tiles.local/{z}/{x}/{y}.png")
    assert "http://tiles.local/{z}/{x}/{y}.png" in custom


def test_cdn_choice_rewrites_every_asset_url(html):
    srcs = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', html)
    assert srcs and all(s.startswith("https://cdn.jsdelivr.net/npm/") for s in srcs)
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js" in srcs
    # nothing of folium's defaults that we do not load from npm (jQuery, bootstrap, awesome markers)
    assert not re.search(r"jquery|bootstrap|awesome|cdnjs|github\.io", html, re.IGNORECASE)
    mirror = render_district(make_layers(), cdn="npmmirror")
    msrcs = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', mirror)
    assert len(msrcs) == len(srcs) and all(s.startswith("https://registry.npmmirror.com/") for s in msrcs)
    intranet = render_district(make_layers(), cdn="http://npm.intranet/{package}/{version}/{path}")
    assert '<script src="http://npm.intranet/leaflet/1.9.4/dist/leaflet.js"></script>' in intranet


def test_offline_is_one_file_without_external_requests(needs_npm):
    page = render_district(make_layers(), offline=True)
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"<link[^>]*stylesheet", page)
    styles = "".join(re.findall(r"<style>(.*?)</style>", page, re.DOTALL))
    assert "leaflet-search" in styles and not re.search(r"url\((?!['\"]?(data:|#))", styles)  # images inlined
    assert "leaflet@1.9.4/dist/leaflet.js" in page  # the inlined file's label
    assert 'url("data:image/png;base64,' in page


def test_offline_without_packages_names_the_fix(tmp_path):
    partial = tmp_path / "node_modules"
    if (NODE_MODULES / "leaflet").exists():
        shutil.copytree(NODE_MODULES / "leaflet", partial / "leaflet")
    with pytest.raises(InputError) as err:
        render_district(make_layers(), offline=True, assets_dir=partial)
    message = str(err.value)
    assert "npm ci" in message and "leaflet.markercluster@1.5.3 is not installed" in message
    assert "leaflet-search@2.9.7 is not installed" in message


def test_size_bound_and_simplification(needs_npm):
    many = tuple(f"项目{i}" for i in range(300))
    layers = make_layers(extra_project_names=many)
    # a detailed boundary: 20,000 vertices on the district's outline
    t = np.linspace(0, 2 * np.pi, 20000)
    from shapely.geometry import Polygon
    ring = Polygon(np.column_stack([115.9 + 0.1 * np.cos(t) + 1e-5 * np.sin(900 * t),
                                    28.6675 + 0.0675 * np.sin(t)]))
    layers.boundary = layers.boundary.set_geometry([ring])
    page = render_district(layers, offline=True)
    assert len(page.encode("utf-8")) < 2_000_000
    boundary = [f for f in _features(page) if (f["properties"].get("style") or {}).get("className") == "sp-boundary"]
    coords = boundary[0]["geometry"]["coordinates"]
    assert 50 < len(coords) < 2000  # simplified for display
    assert all(round(c, 5) == c for xy in coords for c in xy)  # 5 decimals
    assert display_tolerance((115.8, 28.6, 116.0, 28.735)) == pytest.approx(
        360 / (256 * 2 ** 13) * np.cos(np.radians(28.6675)) / 3)


def test_same_input_same_bytes(html):
    assert render_district(make_layers()) == html


def test_npm_versions_match_package_json():
    pinned = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    assert pinned == dict(assets.NPM_VERSIONS)
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for package, version in pinned.items():
        assert lock["packages"][f"node_modules/{package}"]["version"] == version


def test_pinned_asset_hashes_match_node_modules_and_a_changed_file_is_refused(needs_npm, tmp_path):
    assert assets.hash_manifest(needs_npm) == assets.HASHES_FILE.read_text(encoding="utf-8"), "run `make asset-hashes`"
    copied = assets.vendor(needs_npm, tmp_path / "ok")
    assert len(copied) == len(assets.asset_files(needs_npm)) + len(assets.NPM_VERSIONS)
    assert render_district(make_layers(), offline=True, assets_dir=tmp_path / "ok") == \
        render_district(make_layers(), offline=True, assets_dir=needs_npm)
    tampered = tmp_path / "node_modules"
    shutil.copytree(needs_npm, tampered, symlinks=True)
    target = tampered / "leaflet" / "dist" / "leaflet.js"
    target.write_bytes(target.read_bytes() + b"//")
    with pytest.raises(InputError, match=r"leaflet\.js: map assets: sha256 [0-9a-f]{64} is not the pinned"):
        assets.vendor(tampered, tmp_path / "bad")


def test_index_page_escapes_and_links():
    entry = IndexEntry("360199", "测试区", "南昌市", "江西省", "测试区十四五规划纲要", "2021-2025",
                       (("一核一带三区", "总体空间布局"), ("两轴一极", "产业布局")))
    hostile = IndexEntry("360198", XSS, "市", "省", "标题", "2021-2025", ((XSS, "名"),))
    page = render_index([entry, hostile])
    assert '<a href="360199.html">测试区</a>' in page and '<a href="360198.html">' in page
    assert "一核一带三区" in page and "两轴一极" in page and "测试区十四五规划纲要（2021-2025）" in page
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.index("360198") < page.index("360199")
