"""Helpers for the map tests: a small synthetic district, and headless Chromium with CDN
requests served from the local npm packages and every other request blocked."""

from __future__ import annotations

import mimetypes
import os
import re
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from spatial import assets
from spatial.crs import ellipsoidal_area_m2
from spatial.layers import ELEMENT_COLUMNS, DistrictLayers, StructureInfo
from spatial.plans import PlanMeta

XSS = "<img src=x onerror=alert(1)>"
JS_BREAK = "`${alert(2)}`</script><script>alert(3)</script>"
X0, Y0 = 115.80, 28.60  # south-west corner of the synthetic district (near Nanchang)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def _gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def _element(sid: str, slogan: str, eid: str, role: str, name: str, geom, **extra) -> dict:
    row = {"id": f"360199-{sid}-{eid}", "adcode": "360199", "structure_id": sid, "structure": slogan,
           "structure_name": "总体空间布局" if sid == "layout" else "产业布局", "kind": "overall", "role": role,
           "term": {"core": "核", "belt": "带", "zone": "区", "axis": "轴", "pole": "极", "group": "组团",
                    "corridor": "廊", "node": "点"}[role],
           "name": name, "members": "甲镇、乙镇", "function": f"{name}的功能", "categories": "科创、商贸",
           "defined_in_text": True, "interpretation": None, "interpretation_zh": None, "seed": "999_test.txt",
           "offset": 100, "section": "第二章 第四节 空间布局", "draw": "landmarks", "basis": "test hull",
           "basis_zh": "测试凸包", "precision_m": 500.0, "approximate": True, "geometry": geom}
    row.update(extra)
    row["area_km2"] = float(ellipsoidal_area_m2([geom])[0] / 1e6)
    return row


def make_layers(*, projects: bool = True, redlines: bool = True, official: bool = False,
                extra_project_names: tuple[str, ...] = ()) -> DistrictLayers:
    """A 20 x 15 km district with two structures (8 elements), 4 townships, a river and a lake,
    projects (one named like an XSS attack), two red-line patches and their overlaps."""
    x1, y1 = X0 + 0.2, Y0 + 0.135
    xm, ym = X0 + 0.1, Y0 + 0.0675
    boundary = _gdf([{"id": "360199", "name": "测试区", "geometry": box(X0, Y0, x1, y1)}])
    quads = [box(X0, Y0, xm, ym), box(xm, Y0, x1, ym), box(X0, ym, xm, y1), box(xm, ym, x1, y1)]
    towns = _gdf([{"id": n, "name": n, "basis": "泰森多边形", "precision_m": 3000.0, "approximate": True,
                   "area_km2": 1.0, "geometry": g} for n, g in zip(["甲镇", "乙镇", "丙镇", "丁街道"], quads)])
    river = LineString([(X0, Y0 + 0.03), (x1, Y0 + 0.05)])
    lake = Point(X0 + 0.15, Y0 + 0.11).buffer(0.008)
    features = _gdf([
        {"id": "river", "name": "抚河", "kind": "river", "geometry": river},
        {"id": "lake", "name": "象湖", "kind": "lake", "geometry": lake},
    ])
    core = Point(xm, ym).buffer(0.012)
    axis1 = LineString([(X0 + 0.01, ym), (x1 - 0.01, ym)])
    axis2 = LineString([(xm, Y0 + 0.01), (xm, y1 - 0.01)])
    rows = [
        _element("layout", "一核一带三区", "core", "core", "洪都新城核心区", core),
        _element("layout", "一核一带三区", "belt", "belt", "抚河生态带", river.buffer(0.01)),
        _element("layout", "一核一带三区", "zone-1", "zone", "西部片区", box(X0, Y0, X0 + 0.07, y1)),
        _element("layout", "一核一带三区", "zone-2", "zone", "中部片区", box(X0 + 0.07, Y0, X0 + 0.14, y1)),
        _element("layout", "一核一带三区", "zone-3", "zone", "东部片区", box(X0 + 0.14, Y0, x1, y1)),
        _element("industry", "两轴一极", "axis-ew", "axis", "东西发展轴", axis1.buffer(0.004)),
        _element("industry", "两轴一极", "axis-ns", "axis", "南北发展轴", axis2.buffer(0.004)),
        _element("industry", "两轴一极", "pole", "pole", f"科创增长极{XSS}", Point(X0 + 0.16, Y0 + 0.03).buffer(0.01)),
    ]
    elements = _gdf(rows)[ELEMENT_COLUMNS + ["geometry"]]
    axes = elements[elements["role"] == "axis"].copy()
    axes = axes.set_geometry([axis1, axis2])
    nodes = elements[elements["role"].isin(["core", "pole"])].copy()
    nodes = nodes.set_geometry([Point(xm, ym), Point(X0 + 0.16, Y0 + 0.03)])
    structures = [StructureInfo("layout", "一核一带三区", "总体空间布局", "overall", True, None, 10),
                  StructureInfo("industry", "两轴一极", "产业布局", "industrial", True, None, 50)]
    layers = DistrictLayers(
        plan=PlanMeta(adcode="360199", district="测试区", city="南昌市", province="江西省", title="测试区十四五规划纲要",
                      period="2021-2025", seed="999_test.txt"), structures=structures, boundary=boundary, townships=towns,
        places=_gdf([{"id": "甲镇", "name": "甲镇", "geometry": Point(X0 + 0.05, Y0 + 0.03)}]),
        features=features, elements=elements.reset_index(drop=True), axes=axes.reset_index(drop=True),
        nodes=nodes.reset_index(drop=True))
    if projects:
        names = ["洪都航空科创园", XSS, JS_BREAK, "抚河湿地公园", *extra_project_names]
        cats = ["科创", "商贸", "other", "生态"] + ["工业"] * len(extra_project_names)
        pts = [Point(xm + 0.002, ym + 0.001), Point(X0 + 0.03, Y0 + 0.1), Point(X0 + 0.18, Y0 + 0.12),
               Point(X0 + 0.05, Y0 + 0.031)] + [Point(X0 + 0.01 + 0.0001 * i, Y0 + 0.01) for i in range(len(extra_project_names))]
        eids = ["360199-layout-core,360199-layout-zone-2", "360199-layout-zone-1", "360199-layout-zone-3",
                "360199-layout-belt,360199-layout-zone-1"] + ["360199-layout-zone-1"] * len(extra_project_names)
        layers.projects = _gdf([{"id": f"360199-p{i + 1:03d}", "name": n, "category": c, "anchor": "",
                                 "precision_m": 300.0, "offset": 200 + i, "element_ids": e, "geometry": g}
                                for i, (n, c, e, g) in enumerate(zip(names, cats, eids, pts))])
    if redlines:
        patches = [Point(X0 + 0.05, Y0 + 0.035).buffer(0.012), lake.buffer(0.004)]
        layers.redlines = _gdf([{"id": f"r{i}", "name": n, "official": official, "geometry": g}
                                for i, (n, g) in enumerate(zip(["抚河湿地红线", "象湖红线"], patches))])
        layers.redlines_official = official
        layers.redlines_source = "测试样例"
        over = []
        for _, el in layers.elements.iterrows():
            for _, rl in layers.redlines.iterrows():
                inter = shapely.intersection(el.geometry, rl.geometry)
                if el["role"] in ("zone", "belt") and inter.area > 0:
                    over.append({"element_id": el["id"], "redline_id": rl["id"], "geometry": inter})
        layers.overlaps = _gdf(over)
        layers.element_stats = pd.DataFrame({
            "id": layers.elements["id"], "redline_km2": 1.25, "redline_share": 0.125})
    return layers


# --- headless Chromium ---------------------------------------------------------------------------

def chromium_path() -> str | None:
    """The Chromium to drive: $CHROMIUM or /usr/bin/chromium, if it exists."""
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return path if Path(path).exists() else None


def require_chromium() -> str:
    """Chromium's path; fails under CI (env CI set) and skips locally when it is missing."""
    path = chromium_path()
    if path is None:
        message = "Chromium not found at $CHROMIUM or /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_npm() -> Path:
    """The repository's node_modules; fails under CI and skips locally when `npm ci` has not run."""
    node_modules = assets.default_node_modules()
    if not (node_modules / "leaflet" / "package.json").exists():
        message = "node_modules missing: run `npm ci` in the repository root"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return node_modules


def cdn_file(url: str, node_modules: Path) -> Path | None:
    """The local npm file a CDN URL (any of :data:`spatial.assets.CDNS`) stands for, if any."""
    for template in assets.CDNS.values():
        pattern = re.escape(template).replace(r"\{package\}", "(?P<package>.+?)").replace(
            r"\{version\}", r"(?P<version>[0-9][^/]*)").replace(r"\{path\}", "(?P<path>.+)")
        match = re.fullmatch(pattern, url)
        if match and assets.NPM_VERSIONS.get(match["package"]) == match["version"]:
            target = node_modules / match["package"] / match["path"]
            return target if target.exists() else None
    return None


@contextmanager
def open_page(html_path: Path, *, node_modules: Path | None = None, viewport=(1280, 900), browser=None,
              touch: bool = False):
    """Yield (page, log): the map loaded with CDN URLs served locally, all else blocked.

    ``log`` has ``errors`` (console errors and page errors), ``dialogs``, ``blocked`` (URLs
    refused) and ``served`` (CDN URLs answered from node_modules). ``browser`` reuses a
    running Chromium (see :func:`chromium`); ``touch`` opens the page as a phone would
    (touch events, mobile viewport).
    """
    if browser is None:
        with chromium() as own:
            with open_page(html_path, node_modules=node_modules, viewport=viewport, browser=own, touch=touch) as out:
                yield out
        return
    node_modules = node_modules or assets.default_node_modules()
    log = {"errors": [], "dialogs": [], "blocked": [], "served": []}

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:", "blob:")):
            return r.continue_()
        local = cdn_file(url, node_modules)
        if local is None:
            log["blocked"].append(url)
            return r.abort()
        log["served"].append(url)
        ctype = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
        return r.fulfill(status=200, body=local.read_bytes(), headers={"Content-Type": ctype,
                                                                        "Access-Control-Allow-Origin": "*"})

    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  has_touch=touch, is_mobile=touch)
    try:
        page = context.new_page()
        page.on("console", lambda msg: log["errors"].append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: log["errors"].append(str(exc)))

        def on_dialog(d):
            log["dialogs"].append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)
        page.route("**/*", route)
        page.goto(html_path.resolve().as_uri())
        page.wait_for_load_state("load")
        page.wait_for_function("() => Object.keys(window).some(k => k.startsWith('map_') && window[k] instanceof L.Map)")
        page.wait_for_timeout(400)
        yield page, log
    finally:
        context.close()


def map_name(page) -> str:
    """The global name of the page's Leaflet map (folium's ``map_<id>``)."""
    return page.evaluate("() => Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map)")


# --- layout measurements ---------------------------------------------------------------------------

#: Boxes (left, top, right, bottom; CSS px) of the map, of every shown control in its corners,
#: and whether the element at the centre of each control and of each button in it is that
#: control or button (or inside it).
LAYOUT_JS = """() => {
    const map = document.querySelector('.leaflet-container');
    const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    const shown = el => { const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
    const reach = el => { const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
        return !!hit && el.contains(hit); };
    const name = el => el.className.split(' ').filter(c => c && c !== 'leaflet-control' && c !== 'leaflet-bar'
        && c !== 'sp-panel')[0] || el.tagName;
    const controls = [...map.querySelectorAll('.leaflet-control-container .leaflet-control')].filter(shown);
    const buttons = controls.flatMap(c => [...c.querySelectorAll('a, button')].filter(shown)
        .map(b => ({control: name(c), name: (b.title || b.textContent || name(b)).trim(), box: box(b), reachable: reach(b)})));
    return {map: box(map), controls: controls.map(c => ({name: name(c), box: box(c), reachable: reach(c)})),
            buttons: buttons};
}"""


def _rect(b):
    return shapely.box(*b)


class Layout:
    """The measured layout of a map page (see :data:`LAYOUT_JS`)."""

    def __init__(self, page):
        self.raw = page.evaluate(LAYOUT_JS)
        self.controls = self.raw["controls"]

    def overlaps(self) -> list[tuple[str, str, float]]:
        """Pairs of controls whose boxes share more than 0.5 px², with that area."""
        out = []
        for i, a in enumerate(self.controls):
            for b in self.controls[i + 1:]:
                area = _rect(a["box"]).intersection(_rect(b["box"])).area
                if area > 0.5:
                    out.append((a["name"], b["name"], round(area, 1)))
        return out

    def free_share(self) -> float:
        """Share of the map's area outside every control's box."""
        m = _rect(self.raw["map"])
        covered = shapely.union_all([_rect(c["box"]) for c in self.controls]).intersection(m).area
        return 1 - covered / m.area

    def unreachable(self) -> list[str]:
        """Controls and buttons whose centre shows another element (covered, or outside the window)."""
        return ([c["name"] for c in self.controls if not c["reachable"]]
                + [f'{b["control"]}: {b["name"]}' for b in self.raw["buttons"] if not b["reachable"]])

    def names(self) -> list[str]:
        return [c["name"] for c in self.controls]


@contextmanager
def chromium():
    """One headless Chromium (Playwright) for many pages; yields the browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
