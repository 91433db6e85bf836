"""Maps in real headless Chromium: they initialise, draw what the layers hold, open popups,
show hostile names as text, and an offline map makes no request at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_util import XSS, make_layers, map_name, open_page, require_chromium, require_npm
from spatial.render import render_district

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    require_chromium()
    require_npm()
    out = tmp_path_factory.mktemp("maps")
    layers = make_layers()
    paths = {"cdn": out / "cdn.html", "offline": out / "offline.html", "npmmirror": out / "mirror.html"}
    paths["cdn"].write_text(render_district(layers), encoding="utf-8")
    paths["offline"].write_text(render_district(layers, offline=True), encoding="utf-8")
    paths["npmmirror"].write_text(render_district(layers, cdn="npmmirror"), encoding="utf-8")
    return paths


def _count(page, selector: str) -> int:
    return page.locator(selector).count()


def _cluster_size(page) -> int:
    return page.evaluate("""() => {
        const k = Object.keys(window).find(k => k.startsWith('marker_cluster_'));
        return window[k].getLayers().length; }""")


@pytest.mark.parametrize("which", ["cdn", "offline", "npmmirror"])
def test_map_initialises_and_draws_the_layers(built, which):
    layers = make_layers()
    with open_page(built[which]) as (page, log):
        assert map_name(page)
        assert log["errors"] == [] and log["dialogs"] == [] and log["blocked"] == []
        if which == "offline":
            assert log["served"] == []  # nothing fetched at all
        else:
            assert len(log["served"]) >= 19  # every script/stylesheet and their images came from the CDN route
        first = layers.elements[layers.elements["structure_id"] == "layout"]
        assert _count(page, "path.sp-element") == len(first) == 5  # only the overall structure is on at start
        assert _count(page, ".sp-element-marker.sp-role-core") == 1
        assert _count(page, "path.sp-redline") == len(layers.redlines) == 2
        assert _count(page, "path.sp-overlap") == len(layers.overlaps)
        assert _cluster_size(page) == len(layers.projects) == 4
        assert _count(page, "pattern") >= 1  # the red-line hatch is an SVG pattern
        hatched = page.evaluate("() => document.querySelector('path.sp-redline').getAttribute('fill')")
        assert hatched.startswith("url(#")
        assert _count(page, ".sp-title h1") == 1 and "一核一带三区" in page.inner_text(".sp-title")
        assert "生态保护红线" in page.inner_text(".sp-legend")
        for control in (".leaflet-control-search", ".leaflet-control-measure", ".leaflet-control-minimap",
                        ".leaflet-control-layers", ".leaflet-control-zoom-fullscreen"):
            assert _count(page, control) == 1, control


def test_structure_toggle_draws_arrowed_axes(built):
    with open_page(built["offline"]) as (page, log):
        assert _count(page, "path.sp-role-axis") == 0
        label = page.locator(".leaflet-layerstree-header-name", has_text="两轴一极").first
        label.locator("xpath=..").locator("input[type=checkbox]").first.check()
        page.wait_for_timeout(300)
        assert _count(page, "path.sp-element-line.sp-role-axis") == 2
        assert _count(page, ".sp-element-marker.sp-role-pole") == 1
        assert page.evaluate("() => [...document.querySelectorAll('textPath')].filter(t => t.textContent.includes('►')).length") == 2
        assert log["errors"] == []


def test_popup_opens_on_click_with_the_plan_facts(built):
    with open_page(built["cdn"]) as (page, log):
        page.locator("path.sp-role-core").first.click(force=True)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        text = popup.inner_text()
        for fact in ("洪都新城核心区", "核心（核）", "甲镇、乙镇", "1.25 km²（占 12.5%）", "洪都航空科创园",
                     "《测试区十四五规划纲要》第二章 第四节 空间布局", "生态保护红线为示意数据"):
            assert fact in text, fact
        assert log["errors"] == []


def test_hostile_project_name_shows_as_text(built):
    with open_page(built["cdn"]) as (page, log):
        name = map_name(page)
        page.evaluate(f"""() => new Promise(done => {{
            const hit = window['{name}'].spatialIndex['360199-p002'];
            hit.group.zoomToShowLayer(hit.layer, () => {{ hit.layer.openPopup(); done(); }});
        }})""")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert XSS in popup.inner_text()
        assert popup.locator("img").count() == 0
        # search by name: the tip is text too, and choosing it opens the project's popup
        page.locator(".leaflet-control-search .search-button").click()
        page.locator(".leaflet-control-search input").press_sequentially("onerror", delay=30)
        page.locator(".search-tip").first.wait_for()
        tips = sorted(page.locator(".search-tip").all_inner_texts())
        assert tips == [f"增长极 · 科创增长极{XSS}", f"项目 · {XSS}"]
        assert page.locator(".search-tooltip img").count() == 0
        page.evaluate("() => document.querySelector('.leaflet-popup-close-button').click()")
        page.locator(".search-tip", has_text="项目").click()
        page.locator(".leaflet-popup-content").wait_for()
        assert "类别" in page.inner_text(".leaflet-popup-content") and XSS in page.inner_text(".leaflet-popup-content")
        page.wait_for_timeout(300)
        assert page.locator("img[src='x']").count() == 0
        assert log["dialogs"] == [] and log["errors"] == []


def test_real_districts_render(tmp_path):
    """Every district the repository's data builds: under 2 MB offline, drawn without errors."""
    require_npm()
    pipeline = pytest.importorskip("spatial.pipeline")
    data = pipeline.DataDir.default(REPO / "data")
    adcodes = data.adcodes() if (REPO / "data" / "plans").is_dir() else []
    if not adcodes:
        pytest.skip("no data/plans/*.yaml")
    for adcode in adcodes:
        layers = pipeline.build_district(pipeline.load_district(data, adcode))
        page = render_district(layers, offline=True)
        assert len(page.encode("utf-8")) < 2_000_000, adcode
        path = tmp_path / f"{adcode}.html"
        path.write_text(page, encoding="utf-8")
        first = layers.structures[0].id
        drawn = layers.elements[layers.elements["structure_id"] == first]
        with open_page(path) as (browser_page, log):
            assert log["errors"] == [] and log["served"] == [] and log["blocked"] == [], adcode
            assert _count(browser_page, "path.sp-element") == len(drawn), adcode
            assert _count(browser_page, "path.sp-township") == len(layers.townships), adcode
