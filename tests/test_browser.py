"""Maps in real headless Chromium: they initialise, draw what the layers hold, open popups,
show hostile names as text, and an offline map makes no request at all."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from browser_util import XSS, Layout, chromium, make_layers, map_name, open_page, require_chromium, require_npm
from spatial.cli import main
from spatial.render import FREE_SHARE, NARROW_PX, render_district

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


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session's pages."""
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def district_maps(tmp_path_factory) -> dict[str, Path]:
    """The five districts' maps as `spatial build --offline` writes them: adcode -> html."""
    require_npm()
    out = tmp_path_factory.mktemp("build")
    result = CliRunner().invoke(main, ["build", "--offline", "--layers", str(out / "layers"), "--maps", str(out / "maps")])
    assert result.exit_code == 0, result.output
    maps = {p.stem: p for p in sorted((out / "maps").glob("36*.html"))}
    assert len(maps) == 5
    return maps


def test_real_districts_render(tmp_path, browser):
    """Every district the repository's data builds: under 2 MB offline, drawn without errors."""
    require_npm()
    from spatial import pipeline

    data = pipeline.DataDir.default(REPO / "data")
    for adcode in data.adcodes():
        layers = pipeline.build_district(pipeline.load_district(data, adcode))
        page = render_district(layers, offline=True)
        assert len(page.encode("utf-8")) < 2_000_000, adcode
        path = tmp_path / f"{adcode}.html"
        path.write_text(page, encoding="utf-8")
        first = layers.structures[0].id
        drawn = layers.elements[layers.elements["structure_id"] == first]
        with open_page(path, browser=browser) as (browser_page, log):
            assert log["errors"] == [] and log["served"] == [] and log["blocked"] == [], adcode
            assert _count(browser_page, "path.sp-element") == len(drawn), adcode
            assert _count(browser_page, "path.sp-township") == len(layers.townships), adcode


# --- layout on the screens planners use ----------------------------------------------------------

SIZES = [(1920, 1080), (1366, 768), (390, 844)]
PANEL_BUTTONS = ("说明", "图例", "图层")
MINIMAP_TOGGLE = ".leaflet-control-minimap-toggle-display"
TOOLTIPS_JS = """() => {
    const out = [];
    const walk = l => {
        const t = l.getTooltip && l.getTooltip();
        if (t && !t.options.permanent) { out.push(String(t.getContent())); }
        if (l.getLayers) { l.getLayers().forEach(walk); }
    };
    Object.keys(window).filter(k => /^(feature_group|marker_cluster)_/.test(k)).forEach(k => walk(window[k]));
    return out;
}"""
#: The uncovered point of a drawn feature with a popup (element, red line, overlap) nearest
#: the top of the map: its popup would open under the top corners' controls if it did not pan.
TOP_ELEMENT_JS = """() => {
    const hits = [];
    for (const el of document.querySelectorAll('path.sp-element, path.sp-redline, path.sp-overlap, .sp-element-marker')) {
        const r = el.getBoundingClientRect();
        for (let j = 1; j < 12; j++) { for (let i = 1; i < 12; i++) {
            const x = r.left + r.width * i / 12, y = r.top + r.height * j / 12;
            const hit = document.elementFromPoint(x, y);
            if (hit && (hit === el || el.contains(hit))) { hits.push([y, x]); j = i = 12; }
        } }
    }
    hits.sort((a, b) => a[0] - b[0]);
    return hits.length ? [hits[0][1], hits[0][0]] : null;
}"""
#: Points inside the open popup's box (corners inset 6 px, centre) where another element shows.
POPUP_JS = """() => {
    const r = document.querySelector('.leaflet-popup-content-wrapper').getBoundingClientRect();
    const pts = [[r.left + 6, r.top + 6], [r.right - 6, r.top + 6], [r.left + 6, r.bottom - 6],
                 [r.right - 6, r.bottom - 6], [(r.left + r.right) / 2, (r.top + r.bottom) / 2]];
    return {box: [r.left, r.top, r.right, r.bottom],
            covered: pts.filter(([x, y]) => { const h = document.elementFromPoint(x, y); return !h || !h.closest('.leaflet-popup'); })};
}"""


@pytest.fixture(scope="module")
def screens(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screens")


def _size_id(size) -> str:
    return f"{size[0]}x{size[1]}"


def _press(page, locator, touch: bool) -> None:
    (locator.tap if touch else locator.click)()
    page.wait_for_timeout(120)


def _usable(page, size, what: str) -> Layout:
    """The layout, asserted: no two controls overlap, each is reachable, enough map is free."""
    lay = Layout(page)
    free = FREE_SHARE[1 if size[0] < NARROW_PX else 0]
    assert lay.overlaps() == [], (what, lay.overlaps())
    assert lay.unreachable() == [], (what, lay.unreachable())
    assert lay.free_share() >= free, (what, round(lay.free_share(), 3))
    return lay


def _settled_point(page) -> tuple[float, float]:
    """:data:`TOP_ELEMENT_JS`, once the map has stopped moving and clustering (same point twice)."""
    last = None
    for _ in range(10):
        page.wait_for_function(f"() => !window['{map_name(page)}']._animatingZoom")
        page.wait_for_timeout(250)
        point = page.evaluate(TOP_ELEMENT_JS)
        if point is not None and point == last:
            return tuple(point)
        last = point
    raise AssertionError(f"no steady clickable feature: {last}")


def _open_panels(page) -> list[str]:
    names = [t.inner_text().strip(" ▾▴") for t in page.locator(".sp-toggle").all()
             if t.get_attribute("aria-expanded") == "true"]
    if not page.evaluate(f"() => window['{map_name(page)}'].spMiniMap._minimized"):
        names.append("鹰眼")
    return names


@pytest.mark.parametrize("size", SIZES, ids=_size_id)
def test_panels_fold_and_never_cover_each_other(district_maps, browser, screens, size):
    """At each size and for each district: panels start open (folded below NARROW_PX), every
    panel folds and unfolds by its button, and in every state the controls do not overlap, each
    control and button is reachable at its centre, and the free share holds."""
    narrow = size[0] < NARROW_PX
    for adcode, path in district_maps.items():
        with open_page(path, browser=browser, viewport=size, touch=narrow) as (page, log):
            _usable(page, size, f"{adcode} at start")
            assert sorted(_open_panels(page)) == ([] if narrow else sorted([*PANEL_BUTTONS, "鹰眼"])), adcode
            page.screenshot(path=str(screens / f"{adcode}-{_size_id(size)}.png"))
            buttons = {label: page.locator(".sp-toggle", has_text=label) for label in PANEL_BUTTONS}
            buttons["鹰眼"] = page.locator(MINIMAP_TOGGLE)
            for label, button in buttons.items():
                _press(page, button, narrow)
                if narrow:  # one panel at a time
                    assert _open_panels(page) == [label], (adcode, label)
                else:
                    assert label not in _open_panels(page), (adcode, label)
                _usable(page, size, f"{adcode} after pressing {label}")
                if narrow:
                    page.screenshot(path=str(screens / f"{adcode}-{_size_id(size)}-{label}.png"))
                _press(page, button, narrow)
                assert (label in _open_panels(page)) is (not narrow), (adcode, label)
                _usable(page, size, f"{adcode} after pressing {label} twice")
            assert log["errors"] == [], adcode


@pytest.mark.parametrize("size", SIZES, ids=_size_id)
def test_popup_opens_above_the_panels_in_free_view(district_maps, browser, screens, size):
    """Clicking (tapping on a phone) the element nearest the top opens its popup where no
    control is: every probed point of the popup shows the popup, and its box meets no control."""
    narrow = size[0] < NARROW_PX
    for adcode, path in district_maps.items():
        with open_page(path, browser=browser, viewport=size, touch=narrow) as (page, log):
            x, y = _settled_point(page)
            if narrow:
                page.touchscreen.tap(x, y)
            else:
                page.mouse.move(x, y)
                tip = page.locator(".leaflet-tooltip.sp-tip")
                tip.wait_for()
                assert tip.evaluate("t => t.parentNode.classList.contains('leaflet-spTooltip-pane')"), adcode
                page.mouse.click(x, y)
            page.locator(".leaflet-popup-content").wait_for()
            page.wait_for_timeout(500)  # the pan into free view
            popup = page.evaluate(POPUP_JS)
            assert popup["covered"] == [], (adcode, popup)
            lay = _usable(page, size, f"{adcode} with a popup")
            m = lay.raw["map"]
            box = popup["box"]
            assert m[0] <= box[0] and m[1] <= box[1] and box[2] <= m[2] and box[3] <= m[3], (adcode, box)
            for c in lay.controls:
                b = c["box"]
                apart = box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1]
                assert apart, (adcode, c["name"], b, box)
            page.screenshot(path=str(screens / f"{adcode}-{_size_id(size)}-popup.png"))
            assert log["errors"] == [], adcode


def test_pinch_zooms_on_a_phone(district_maps, browser):
    """Two fingers moving apart zoom the map in (Leaflet's touch zoom, real touch events)."""
    path = district_maps["360704"]
    with open_page(path, browser=browser, viewport=(390, 844), touch=True) as (page, log):
        name = map_name(page)
        before = page.evaluate(f"() => window['{name}'].getZoom()")
        cdp = page.context.new_cdp_session(page)

        def touch(kind, points):
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
                {"x": px, "y": py, "id": i} for i, (px, py) in enumerate(points)]})

        touch("touchStart", [(175, 420), (215, 420)])
        for k in range(1, 13):
            touch("touchMove", [(175 - 10 * k, 420 - 10 * k), (215 + 10 * k, 420 + 10 * k)])
            page.wait_for_timeout(16)
        touch("touchEnd", [])
        page.wait_for_timeout(600)
        assert page.evaluate(f"() => window['{name}'].getZoom()") >= before + 1
        assert log["errors"] == []


def test_legend_and_tooltips_speak_chinese(built, district_maps, browser):
    """The category `other` shows as 其他 (the data keeps `other`); no Latin word in any legend,
    hover tooltip or control tip of the five districts."""
    layers = make_layers()
    assert "other" in set(layers.projects["category"])
    with open_page(built["offline"], browser=browser) as (page, log):
        legend = page.inner_text(".sp-legend")
        assert "其他" in legend and "other" not in legend
        assert any("（其他）" in t for t in page.evaluate(TOOLTIPS_JS))
    for adcode, path in district_maps.items():
        # proper names from the data (a project called "PCR…") may be Latin; all else may not
        names = set()
        for f in (path.parent.parent / "layers" / adcode).glob("*.geojson"):
            names |= {str(feat["properties"]["name"]) for feat in json.loads(f.read_text(encoding="utf-8"))["features"]
                      if feat["properties"].get("name")}
        with open_page(path, browser=browser) as (page, log):
            tips = page.evaluate("() => [...document.querySelectorAll('.leaflet-control-container [title]')].map(e => e.title)")
            assert len(tips) >= 8 and [t for t in tips if re.search(r"[A-Za-z]{2,}", t.replace("Leaflet", ""))] == [], adcode
            scale = page.locator(".leaflet-control-scale-line").all_inner_texts()
            assert len(scale) == 1 and re.fullmatch(r"\d+ k?m", scale[0]), (adcode, scale)  # metric only, no miles
            texts = [page.inner_text(".sp-legend"), *page.evaluate(TOOLTIPS_JS)]
            assert len(texts) > 50, adcode
            latin = set()
            for text in texts:
                text = html.unescape(re.sub(r"<[^>]+>", " ", text))
                for name in sorted(names, key=len, reverse=True):
                    text = text.replace(name, " ")
                latin |= set(re.findall(r"[A-Za-z]{2,}", text))
            assert latin == set(), adcode


def test_layout_follows_a_resized_window(district_maps, browser):
    """A laptop window made phone-narrow folds its panels; made wide again, the panels opened
    there still fit."""
    path = district_maps["360704"]
    with open_page(path, browser=browser, viewport=(1366, 768)) as (page, log):
        assert len(_open_panels(page)) == 4
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        assert _open_panels(page) == []
        _usable(page, (390, 844), "narrowed")
        page.set_viewport_size({"width": 1366, "height": 600})
        page.wait_for_timeout(300)
        for label in PANEL_BUTTONS:
            _press(page, page.locator(".sp-toggle", has_text=label), False)
        assert sorted(_open_panels(page)) == sorted(PANEL_BUTTONS)
        _usable(page, (1366, 600), "widened, shorter, panels reopened")
        page.set_viewport_size({"width": 640, "height": 360})  # a phone held sideways
        page.wait_for_timeout(300)
        assert _open_panels(page) == []
        for label in PANEL_BUTTONS:
            _press(page, page.locator(".sp-toggle", has_text=label), False)
            # the left side's tools leave no 48 px for the title or legend: they fold back (known limit)
            assert _open_panels(page) == ([label] if label == "图层" else []), label
            _usable(page, (640, 360), f"sideways phone, {label} pressed")
        assert log["errors"] == []


def test_tools_that_unfold_keep_the_layout(district_maps, browser):
    """The measure tool (unfolds on hover) and the search box (on click) push the panels of
    their side aside instead of covering them (1366x768, every panel open)."""
    path = district_maps["360704"]
    with open_page(path, browser=browser, viewport=(1366, 768)) as (page, log):
        before = {c["name"]: c["box"] for c in Layout(page).controls}
        page.hover(".leaflet-control-measure")
        page.wait_for_timeout(300)
        lay = _usable(page, (1366, 768), "measure tool unfolded")
        grown = {c["name"]: c["box"] for c in lay.controls}
        assert grown["leaflet-control-measure"][3] - grown["leaflet-control-measure"][1] > \
            before["leaflet-control-measure"][3] - before["leaflet-control-measure"][1] + 30
        page.mouse.move(683, 400)
        page.locator(".leaflet-control-search .search-button").click()
        page.wait_for_timeout(300)
        _usable(page, (1366, 768), "search box open")
        assert log["errors"] == []


def test_popup_moves_with_the_map(built, browser):
    """The popup pane above the panels follows the map: after a pan and a zoom the popup's tip
    still points at its place."""
    with open_page(built["offline"], browser=browser, viewport=(1366, 768)) as (page, log):
        name = map_name(page)
        page.locator("path.sp-role-core").first.click(force=True)
        page.locator(".leaflet-popup-content").wait_for()
        page.wait_for_timeout(500)
        offset_js = f"""() => {{
            const m = window['{name}'], p = document.querySelector('.leaflet-popup-tip-container').getBoundingClientRect();
            const c = m.getContainer().getBoundingClientRect();
            let popup; m.eachLayer(l => {{ if (l instanceof L.Popup) popup = l; }});
            const a = m.latLngToContainerPoint(popup.getLatLng());
            return [Math.round(p.left + p.width / 2 - c.left - a.x), Math.round(p.bottom - c.top - a.y)];
        }}"""
        start = page.evaluate(offset_js)
        assert abs(start[0]) <= 1 and abs(start[1]) < 15, start  # the tip points at its place
        page.evaluate(f"() => window['{name}'].panBy([150, 60], {{animate: false}})")
        page.wait_for_timeout(100)
        assert page.evaluate(offset_js) == start
        page.evaluate(f"() => window['{name}'].setZoom(window['{name}'].getZoom() + 1)")
        page.wait_for_timeout(700)
        assert page.evaluate(offset_js) == start
        assert log["errors"] == []
