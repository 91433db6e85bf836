"""What GIS staff get, checked in QGIS 3.22 itself (system python3-qgis, headless, in a subprocess):
default styles that place labels, the district projects, red lines that say they are illustrative."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import pytest
import yaml
from click.testing import CliRunner

from spatial.cli import main
from spatial.crs import gk_zone_epsg
from spatial.qgis import STYLED_LAYERS

REPO = Path(__file__).resolve().parents[1]
ADCODES = ["360104", "360121", "360202", "360403", "360704"]
QGIS_PYTHON = "/usr/bin/python3"
SCRIPTS = Path(__file__).parent / "qgis"
#: The map a technician sees: a 1600 x 1200 pixel canvas at 96 dpi over the district.
CANVAS = (1600, 1200)


def run_qgis(script: str, *args: str) -> dict:
    """Run a script of tests/qgis/ with QGIS's Python; its last stdout line is JSON."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SPATIAL_LAYER_ORDER": ",".join(STYLED_LAYERS)}
    res = subprocess.run([QGIS_PYTHON, str(SCRIPTS / script), *args], capture_output=True, text=True, env=env,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, seeds: Path) -> Path:
    """The five districts built afresh (the embedded default) into a temporary layers folder."""
    out = tmp_path_factory.mktemp("build")
    res = CliRunner().invoke(main, ["build", "--data", str(REPO / "data"), "--seeds", str(seeds), "--quiet",
                                    "--layers", str(out / "layers"), "--maps", str(out / "maps")])
    assert res.exit_code == 0, res.output
    return out / "layers"


def _zone(folder: Path) -> int:
    boundary = gpd.read_file(folder / "boundary.geojson")
    return gk_zone_epsg(boundary.geometry.iloc[0].centroid.x)


@pytest.mark.parametrize("code", ADCODES)
def test_default_styles_place_labels_for_most_elements_without_overlap(built: Path, code: str):
    folder = built / code
    elements = gpd.read_file(folder / "elements.geojson").set_index("id")
    report = run_qgis("render_labels.py", str(folder / f"{code}.gpkg"), str(_zone(folder)), *map(str, CANVAS))
    placed = [lab for name in ("elements", "nodes") for lab in report["layers"].get(name, [])]
    for lab in placed:  # each label is its element's name
        assert lab["text"] == elements.loc[lab["id"], "name"], lab
    labelled = {lab["id"] for lab in placed}
    assert len(labelled) == len(placed)  # no element labelled twice (polygon and point)
    assert len(labelled) >= 0.4 * len(elements), (code, len(labelled), len(elements))
    assert report["overlaps"] == []
    assert len(report["layers"]["townships"]) >= 3  # context labels too, never over the elements'


def test_layers_have_one_multi_geometry_type_and_null_not_empty_text(built: Path):
    types: dict[str, set[str]] = {}
    for code in ADCODES:
        for name, _ in pyogrio.list_layers(built / code / f"{code}.gpkg"):
            if name == "layer_styles":
                continue
            gdf = pyogrio.read_dataframe(built / code / f"{code}.gpkg", layer=name)
            types.setdefault(name, set()).update(gdf.geom_type)
            declared = pyogrio.read_info(built / code / f"{code}.gpkg", layer=name)["geometry_type"]
            types[name].add(declared)
            for col in gdf.columns.drop("geometry"):
                assert not (gdf[col].astype(object) == "").any(), (code, name, col)
    assert types["elements"] == types["redlines"] == types["boundary"] == {"MultiPolygon"}
    assert types["axes"] == types["features_lines"] == {"MultiLineString"}
    assert types["nodes"] == types["places"] == types["projects"] == {"Point"}


def test_projects_carry_citation_and_share(built: Path, seeds: Path):
    for code in ADCODES:
        projects = gpd.read_file(built / code / "projects.geojson")
        seed = yaml.safe_load((REPO / "data" / "plans" / f"{code}.yaml").read_text(encoding="utf-8"))["plan"]["seed"]
        text = (seeds / seed).read_text(encoding="utf-8")
        assert (projects["seed"] == seed).all(), code
        assert projects["offset"].between(0, len(text) - 1).all(), code
        inside = projects["element_ids"].notna()
        assert inside.sum() > 0 and projects.loc[~inside, "share"].isna().all(), code
        for ids, share in zip(projects.loc[inside, "element_ids"], projects.loc[inside, "share"]):
            assert share.split(",") == ["1.000"] * len(ids.split(",")), (code, ids, share)
        table = pd.read_csv(built / code / "projects.csv", encoding="utf-8-sig")
        assert list(table.columns[:6]) == ["id", "name", "category", "origin", "seed", "offset"]


def test_tables_load_typed_with_their_csvt(built: Path):
    for code in ADCODES:
        for name in ("elements", "projects"):
            info = pyogrio.read_info(built / code / f"{name}.csv")
            dtypes = dict(zip(info["fields"], info["dtypes"]))
            header = (built / code / f"{name}.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
            assert list(info["fields"]) == header
            assert dtypes["id"] == "object"
            if name == "elements":
                assert dtypes["area_km2"] == dtypes["redline_share"] == "float64"
                assert dtypes["projects"] == dtypes["patches"] == "int32"
            else:
                assert dtypes["offset"] == "int32" and dtypes["lon"] == "float64"
                assert dtypes["in_redline"] == "bool"
            table = pyogrio.read_dataframe(built / code / f"{name}.csv")
            csv = pd.read_csv(built / code / f"{name}.csv", encoding="utf-8-sig")
            assert table["area_km2" if name == "elements" else "lon"].tolist() == \
                csv["area_km2" if name == "elements" else "lon"].tolist()


def test_qgis_shows_chinese_titles_aliases_and_illustrative_red_lines(built: Path):
    report = run_qgis("open_gpkg.py", str(built / "360704" / "360704.gpkg"))["layers"]
    red = report["redlines"]
    assert red["title"] == "赣县区 · 生态保护红线（示意，非官方）"
    assert "示意" in red["abstract"] and "非官方" in red["abstract"] and "EPSG:4490" in red["abstract"]
    assert red["legend"] == ["生态保护红线（示意，非官方）"]
    elements = report["elements"]
    assert elements["title"] == "赣县区 · 空间结构要素" and "002_f001dce688a3cc86.txt" in elements["abstract"]
    assert {k: elements["aliases"][k] for k in ("id", "name", "structure", "role", "area_km2")} == {
        "id": "编号", "name": "名称", "structure": "结构", "role": "角色", "area_km2": "面积（平方公里）"}
    assert elements["legend"][-1] == "其他" and "other" not in sum((r["legend"] for r in report.values()), [])
    assert report["projects"]["legend"][-2:] == ["其他", "其他"]  # the value `other` and every unknown value
    assert report["places"]["renderer"] == "singleSymbol" and report["places"]["labels"]
    assert all(info["title"].startswith("赣县区 · ") for info in report.values())
    overlaps = report["overlaps"]
    assert "示意" in overlaps["abstract"] and overlaps["aliases"]["area_m2"] == "面积（平方米）"


def test_shapefiles_and_geojson_open_in_qgis_with_styles_and_whole_characters(built: Path):
    folders = [str(built / code / sub) for code in ADCODES for sub in ("shp", ".")]
    report = run_qgis("open_files.py", *folders)
    for code in ADCODES:
        gpkg = built / code / f"{code}.gpkg"
        layers = [name for name, _ in pyogrio.list_layers(gpkg) if name != "layer_styles"]
        for name in layers:
            shp = report[str(built / code / "shp" / f"{name}.shp")]
            geojson = report[str(built / code / "." / f"{name}.geojson")]
            assert shp["valid"] and shp["crs"] == "EPSG:4490" and geojson["crs"] == "EPSG:4326", (code, name)
            assert shp["replacement_chars"] == [] and shp["longest_text"] <= 254, (code, name)
            assert shp["count"] == geojson["count"] == pyogrio.read_info(gpkg, layer=name)["features"]
            assert all(len(f) <= 10 for f in shp["fields"])
            assert shp["renderer"] == geojson["renderer"] != "singleSymbol" or name in (
                "boundary", "townships", "places", "overlaps"), (code, name)
        assert report[str(built / code / "shp" / "elements.shp")]["aliases"]["stru_id"] == "结构编号"
        assert report[str(built / code / "shp" / "elements.shp")]["labels"]
    # text longer than a DBF holds is cut at a character, the GeoPackage keeps it whole
    full = pyogrio.read_dataframe(built / "360704" / "360704.gpkg", layer="projects").set_index("id")["fit_reason"]
    cut = pyogrio.read_dataframe(built / "360704" / "shp" / "projects.shp").set_index("id")["fit_reason"]
    long = full[full.str.encode("utf-8").str.len() > 254]
    assert len(long) >= 10
    for pid, text in long.items():
        assert text.startswith(cut[pid]) and 251 <= len(cut[pid].encode("utf-8")) <= 254, pid


def _ppm(path: Path) -> np.ndarray:
    """A binary PPM (pdftoppm's output) as an array of RGB pixels."""
    raw = path.read_bytes()
    magic, width, height, depth, pixels = raw.split(maxsplit=4)
    assert magic == b"P6" and depth == b"255"
    return np.frombuffer(pixels, dtype=np.uint8).reshape(int(height), int(width), 3)


@pytest.mark.parametrize("code", ADCODES)
def test_qgis_project_opens_ready_and_prints_an_a3_pdf(built: Path, code: str, tmp_path: Path):
    # moved away from the build folder with its GeoPackage: the paths are relative
    for name in (f"{code}.qgz", f"{code}.gpkg"):
        shutil.copy(built / code / name, tmp_path / name)
    with zipfile.ZipFile(tmp_path / f"{code}.qgz") as zf:
        qgs = zf.read(f"{code}.qgs").decode("utf-8")
    assert f"./{code}.gpkg|layername=" in qgs and "/tmp" not in qgs
    report = run_qgis("open_project.py", str(tmp_path / f"{code}.qgz"), str(tmp_path / "map.pdf"))
    assert report["read"] and report["relative"]
    assert report["crs"] == f"EPSG:{_zone(built / code)}" and report["crs"] in ("EPSG:4547", "EPSG:4548")
    layers = report["layers"]
    assert all(lay["valid"] and lay["crs"] == "EPSG:4490" for lay in layers), [lay["name"] for lay in layers]
    assert all(str(tmp_path) in lay["source"] for lay in layers)
    names = [lay["name"] for lay in layers]
    assert names[:2] == ["行政区界", "生态保护红线（示意，非官方）"] and names[-4:] == ["地名", "河流道路", "水体绿地", "乡镇（街道）"]
    # one group per structure with elements; only the headline structure is on; features per group as in the data
    elements = gpd.read_file(built / code / "elements.geojson")
    plan = yaml.safe_load((REPO / "data" / "plans" / f"{code}.yaml").read_text(encoding="utf-8"))
    lead = next((s for s in plan["structures"] if s["kind"] == "overall"), plan["structures"][0])
    grouped = [lay for lay in layers if lay["group"]]
    assert {lay["group"] for lay in grouped} == {f"{s['slogan']}（{s['name']}）" for s in plan["structures"]
                                                 if s["id"] in set(elements["structure_id"])}
    for lay in grouped:
        sid = lay["subset"].split("'")[1]
        assert lay["visible"] == (sid == lead["id"]), lay["name"]
        if lay["name"] == "空间结构要素":
            assert lay["count"] == (elements["structure_id"] == sid).sum()
            assert lay["aliases"]["area_km2"] == "面积（平方公里）" and lay["aliases"]["structure"] == "结构"
    red = layers[1]
    assert red["visible"] and "示意" in red["title"]
    assert report["page_mm"] == [420.0, 297.0] and report["map_crs"] == report["crs"]
    assert report["legend"]["layers"] == ["行政区界", "生态保护红线（示意，非官方）", *[
        lay["name"] for lay in grouped if lay["visible"]], "规划项目"]
    assert report["scalebars"] == ["公里"] and report["pictures"][0].endswith("north_arrow.svg")
    assert any(text.startswith(plan["plan"]["district"]) and lead["slogan"] in text for text in report["labels"])
    assert any("示意" in text and "非官方" in text for text in report["labels"])
    assert any(plan["plan"]["seed"] in text for text in report["labels"])
    assert report["pdf"] == 0  # QgsLayoutExporter.Success
    info = subprocess.run(["pdfinfo", str(tmp_path / "map.pdf")], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info and "1191 x 842 pts (A3)" in info
    subprocess.run(["pdftoppm", "-r", "20", str(tmp_path / "map.pdf"), str(tmp_path / "page")], check=True)
    pixels = _ppm(next(tmp_path.glob("page*.ppm")))
    assert pixels.shape[:2] == (234, 331)  # A3 landscape at 20 dpi
    inked, dark = (pixels < 230).any(axis=2), pixels.min(axis=2) < 100
    assert inked.mean() > 0.05 and dark.mean() < 0.2  # a drawn map, not a blank or black page
    assert dark[:12].mean() > 0.01  # the title across the top
    colour = pixels.max(axis=2).astype(int) - pixels.min(axis=2) > 40
    assert colour.mean() > 0.003  # the planning colours (zones, cores, green red lines, projects), not grey only


def test_official_red_lines_are_named_as_such(synth: Path, tmp_path: Path):
    red = gpd.GeoDataFrame({"名称": ["清河水源涵养区"], "红线类型": ["水源涵养"]},
                           geometry=[shapely.box(114.95, 25.95, 115.05, 26.03)], crs=4326)
    red.to_file(tmp_path / "hx.geojson", driver="GeoJSON")
    res = CliRunner().invoke(main, ["build", "--data", str(synth / "data"), "--seeds", str(synth / "seeds"),
                                    "--layers", str(synth / "layers"), "--maps", str(synth / "maps"),
                                    "--redlines", str(tmp_path / "hx.geojson")])
    assert res.exit_code == 0, res.output
    out = synth / "layers" / "999901"
    gpkg = run_qgis("open_gpkg.py", str(out / "999901.gpkg"))["layers"]["redlines"]
    assert gpkg["legend"] == ["生态保护红线"] and gpkg["title"] == "测试区 · 生态保护红线"
    assert "示意" not in gpkg["abstract"] and "hx.geojson" in gpkg["abstract"]
    project = run_qgis("open_project.py", str(out / "999901.qgz"), str(tmp_path / "map.pdf"))
    assert [lay["name"] for lay in project["layers"][:2]] == ["行政区界", "生态保护红线"]
    assert project["legend"]["layers"][:2] == ["行政区界", "生态保护红线"]
    assert not any("非官方" in text for text in project["labels"]) and project["pdf"] == 0
