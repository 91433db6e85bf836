"""`spatial build` with the user's official data: red lines, projects and township polygons in the
formats GIS staff hold them (Shapefile in a Gauss-Kruger zone with GBK attributes, GCJ-02 tables)."""

from __future__ import annotations

import json
from pathlib import Path

import fiona
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod, Transformer
from shapely.geometry import Polygon, box, mapping, shape

from spatial.cli import main
from spatial.crs import wgs84_to_gcj02

GEOD = Geod(ellps="GRS80")
TO_GK = Transformer.from_crs(4326, 4547, always_xy=True)


def _gk(poly: Polygon) -> Polygon:
    return shapely.transform(poly.segmentize(0.002), lambda c: shapely.get_coordinates(
        shapely.points(*TO_GK.transform(c[:, 0], c[:, 1]))))


def _shapefile(path: Path, schema_props: dict, rows: list[tuple[dict, Polygon]]) -> Path:
    """An official-style Shapefile: EPSG:4547, GBK attributes, no .cpg (as many exports are)."""
    schema = {"geometry": "Polygon", "properties": schema_props}
    with fiona.open(path, "w", driver="ESRI Shapefile", crs="EPSG:4547", schema=schema, encoding="gbk") as dst:
        for props, poly in rows:
            dst.write({"geometry": mapping(_gk(poly)), "properties": props})
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def _build(root: Path, *extra: str):
    return CliRunner().invoke(main, ["build", "--data", str(root / "data"), "--seeds", str(root / "seeds"),
                                     "--layers", str(root / "layers"), "--maps", str(root / "maps"), *extra])


def _geod(poly) -> float:
    return abs(GEOD.geometry_area_perimeter(poly)[0])


def test_official_redlines_in_gauss_kruger_with_gbk_names(synth: Path, tmp_path: Path):
    a = box(114.95, 25.95, 115.05, 26.03)           # straddles 青石镇/白沙乡/西山乡 cells
    b = box(115.12, 25.90, 115.16, 25.94)           # in the south-east
    overlap = box(115.13, 25.91, 115.15, 25.93)     # same type, overlapping b: dissolved, counted once
    shp = _shapefile(tmp_path / "hx.shp", {"名称": "str:40", "红线类型": "str:20"},
                     [({"名称": "清河水源涵养区", "红线类型": "水源涵养"}, a),
                      ({"名称": "南岭生物多样性保护区", "红线类型": "生物多样性维护"}, b),
                      ({"名称": "南岭重叠斑块", "红线类型": "生物多样性维护"}, overlap)])
    res = _build(synth, "--redlines", str(shp))
    assert res.exit_code == 0, res.output
    out = synth / "layers" / "999901"
    red = gpd.read_file(out / "redlines.geojson")
    assert sorted(red["name"]) == ["南岭生物多样性保护区、南岭重叠斑块", "清河水源涵养区"]  # dissolved
    assert set(red["official"]) == {True}
    elements = gpd.read_file(out / "elements.geojson").set_index("id")
    table = pd.read_csv(out / "elements.csv", encoding="utf-8-sig").set_index("id")
    # independent: clip the lon/lat shapes ourselves and measure geodesically
    district = shape(json.loads((out / "boundary.geojson").read_text(encoding="utf-8"))["features"][0]["geometry"])
    # the shapes as delivered: edges densified along the parallels and meridians (see _gk)
    reds = shapely.intersection(shapely.union_all([a.segmentize(0.002), b.segmentize(0.002)]), district)
    for fid, geom in elements.geometry.items():
        expected = _geod(shapely.intersection(geom, reds)) if geom.intersects(reds) else 0.0
        assert table.loc[fid, "redline_m2"] == pytest.approx(expected, rel=1e-5, abs=1.0), fid
    assert 0.15 < table.loc["999901-layout-core", "redline_share"] < 0.25
    notes = pd.read_excel(out / "999901.xlsx", sheet_name="notes")["note"].tolist()
    assert any("OFFICIAL" in n for n in notes)
    assert any("dissolved" in n for n in notes)
    html = (synth / "maps" / "999901.html").read_text(encoding="utf-8")
    assert "清河水源涵养区" in html and "生态保护红线为示意数据" not in html


def test_default_build_says_red_lines_are_illustrative(synth: Path):
    assert _build(synth).exit_code == 0
    html = (synth / "maps" / "999901.html").read_text(encoding="utf-8")
    assert "生态保护红线为示意数据" in html
    notes = pd.read_excel(synth / "layers" / "999901" / "999901.xlsx", sheet_name="notes")["note"].tolist()
    assert any("ILLUSTRATIVE" in n for n in notes)


def test_user_projects_gcj02_table_with_bad_rows(synth: Path, tmp_path: Path):
    x, y = wgs84_to_gcj02([115.00, 115.15, 118.0], [26.00, 26.00, 26.00])
    csv = tmp_path / "projects.csv"
    csv.write_text(
        "编号,项目名称,类别,经度,纬度\n"
        f"U1,青石镇物流园,物流,{x[0]:.7f},{y[0]:.7f}\n"
        f"U2,<img src=x onerror=alert(1)>,工业,{x[1]:.7f},{y[1]:.7f}\n"
        f"U3,远方项目,工业,{x[2]:.7f},{y[2]:.7f}\n"
        "U4,缺坐标,工业,,26.0\n", encoding="gbk")
    res = _build(synth, "--projects", str(csv), "--projects-crs", "gcj02")
    assert res.exit_code == 0, res.output
    assert "row 4: point (118.000000, 26.000000) lies outside the district boundary" in res.output
    assert "row 5, 经度/纬度: coordinates missing" in res.output
    projects = gpd.read_file(synth / "layers" / "999901" / "projects.geojson").set_index("id")
    assert sorted(projects.index) == ["U1", "U2"]
    assert projects.loc["U1"].geometry.distance(shapely.Point(115.0, 26.0)) < 1e-7
    assert projects.loc["U1", "element_ids"] == "999901-layout-core,999901-layout-road"
    assert projects.loc["U2", "element_ids"] == "999901-layout-east"
    assert projects.loc["U2", "fit"] == "fits"


def test_user_projects_strict_stops_and_writes_nothing(synth: Path, tmp_path: Path):
    csv = tmp_path / "projects.csv"
    csv.write_text("id,name,category,lon,lat\nA,甲,工业,115.0,26.0\nB,乙,杂项,115.1,26.0\n", encoding="utf-8")
    res = _build(synth, "--projects", str(csv), "--projects-crs", "wgs84", "--strict")
    assert res.exit_code == 2
    assert "row 3, category: unknown category '杂项'" in res.output
    assert not (synth / "layers").exists() and not (synth / "maps").exists()


def test_official_township_polygons_replace_voronoi_cells(synth: Path, tmp_path: Path):
    cells = {"青石镇": box(114.95, 25.85, 115.03, 26.12), "白沙乡": box(115.03, 25.85, 115.10, 26.12),
             "东岭镇": box(115.10, 25.85, 115.2, 26.12), "西山乡": box(114.8, 25.85, 114.95, 26.12)}
    shp = _shapefile(tmp_path / "xz.shp", {"XZQMC": "str:20"}, [({"XZQMC": n}, g) for n, g in cells.items()])
    res = _build(synth, "--townships", str(shp))
    assert res.exit_code == 0, res.output
    out = synth / "layers" / "999901"
    towns = gpd.read_file(out / "townships.geojson").set_index("name")
    assert set(towns["approximate"]) == {False}
    assert towns.loc["白沙乡", "area_km2"] == pytest.approx(_geod(cells["白沙乡"]) / 1e6, rel=1e-4)
    core = gpd.read_file(out / "elements.geojson").set_index("id").loc["999901-layout-core"]
    assert core["area_km2"] == pytest.approx(_geod(box(114.95, 25.85, 115.10, 26.12)) / 1e6, rel=1e-4)
    assert "official township polygon" in core["basis"]


def test_township_file_missing_a_township_is_an_error(synth: Path, tmp_path: Path):
    shp = _shapefile(tmp_path / "xz.shp", {"XZQMC": "str:20"}, [({"XZQMC": "青石镇"}, box(114.95, 25.85, 115.03, 26.12))])
    res = _build(synth, "--townships", str(shp))
    assert res.exit_code == 2
    assert "no polygon for 东岭镇, 白沙乡, 西山乡" in res.output


def test_redlines_without_crs_suggest_the_zone(synth: Path, tmp_path: Path):
    shp = _shapefile(tmp_path / "hx.shp", {"名称": "str:40"}, [({"名称": "甲"}, box(114.95, 25.95, 115.05, 26.03))])
    shp.with_suffix(".prj").unlink()
    res = _build(synth, "--redlines", str(shp))
    assert res.exit_code == 2
    assert "declares no coordinate reference system" in res.output and "EPSG:4547" in res.output
    assert not (synth / "layers").exists()


def test_redline_verdict_weighs_location_precision():
    from spatial.pipeline import redline_verdict

    red = pd.DataFrame({"in_redline": [True, True, False, False, False],
                        "redline_depth_m": [800.0, 200.0, np.nan, np.nan, np.nan],
                        "redline_distance_m": [0.0, 0.0, 5000.0, 300.0, 300.0]})
    precision = pd.Series([500.0, 500.0, 3000.0, 3000.0, np.nan])
    assert list(redline_verdict(red, precision)) == ["inside", "uncertain", "outside", "uncertain", "outside"]


def test_depth_inside_a_red_line_is_the_distance_to_its_edge():
    from spatial.overlap import overlap_projects

    reds = gpd.GeoDataFrame({"id": ["r"]}, geometry=[box(114.99, 25.99, 115.01, 26.01).segmentize(0.001)], crs=4326)
    pts = gpd.GeoDataFrame({"id": ["in", "out"]}, geometry=[shapely.Point(115.0, 26.0), shapely.Point(115.03, 26.0)],
                           crs=4326)
    table = overlap_projects(pts, reds).set_index("id")
    to_east = GEOD.inv(115.0, 26.0, 115.01, 26.0)[2]        # nearest edge: the meridian 0.01° east
    assert table.loc["in", "redline_depth_m"] == pytest.approx(to_east, rel=1e-3)
    assert np.isnan(table.loc["out", "redline_depth_m"])
    assert table.loc["out", "redline_distance_m"] == pytest.approx(GEOD.inv(115.01, 26.0, 115.03, 26.0)[2], rel=1e-3)
