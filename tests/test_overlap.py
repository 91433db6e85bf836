"""Overlap engine and ``spatial overlap``: areas against independent computations, official-format files."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import fiona
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod, Transformer
from shapely.geometry import Point, Polygon, box, mapping

from spatial import overlap
from spatial.cli import main
from spatial.crs import ellipsoidal_area_m2
from spatial.overlap import overlap_elements, overlap_projects
from spatial.redlines import prepare_redlines

GEOD = Geod(ellps="GRS80")


def geod_box(x0, y0, x1, y1, *, steps=50) -> float:
    """Geodesic area of a lon/lat box, from its own densified coordinates (independent of the package)."""
    xs = np.r_[np.linspace(x0, x1, steps), np.full(steps, x1), np.linspace(x1, x0, steps), np.full(steps, x0)]
    ys = np.r_[np.full(steps, y0), np.linspace(y0, y1, steps), np.full(steps, y1), np.linspace(y1, y0, steps)]
    return abs(GEOD.polygon_area_perimeter(xs, ys)[0])


def dense_box(x0, y0, x1, y1, *, steps=50) -> Polygon:
    xs = np.r_[np.linspace(x0, x1, steps), np.full(steps, x1), np.linspace(x1, x0, steps), np.full(steps, x0)]
    ys = np.r_[np.full(steps, y0), np.linspace(y0, y1, steps), np.full(steps, y1), np.linspace(y1, y0, steps)]
    return Polygon(np.column_stack([xs, ys]))


def layer(ids, geoms, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ids, **cols}, geometry=list(geoms), crs=4326)


def test_ellipsoidal_area_matches_geodesic_area_of_a_square():
    square = dense_box(115.0, 26.0, 115.1, 26.1)
    ours = ellipsoidal_area_m2([square])[0]
    assert ours == pytest.approx(geod_box(115.0, 26.0, 115.1, 26.1), rel=1e-6)
    assert 1.0e8 < ours < 1.2e8  # ~ 10 km x 11 km


def test_patch_inside_element_counts_its_own_area_in_all_units():
    elements = layer(["e1"], [dense_box(115.0, 26.0, 115.1, 26.1)], name=["核心区"])
    reds, _ = prepare_redlines(layer(["r1"], [dense_box(115.02, 26.02, 115.04, 26.05)]), source="t", official=True)
    table, overlaps = overlap_elements(elements, reds)
    row = table.iloc[0]
    expected = geod_box(115.02, 26.02, 115.04, 26.05)
    assert row["redline_m2"] == pytest.approx(expected, rel=1e-6)
    assert row["area_m2"] == pytest.approx(geod_box(115.0, 26.0, 115.1, 26.1), rel=1e-6)
    assert row["redline_share"] == pytest.approx(expected / row["area_m2"], rel=1e-9)
    assert row["patches"] == 1 and row["name"] == "核心区"
    assert row["redline_ha"] == pytest.approx(expected / 1e4, rel=1e-9)
    assert row["redline_mu"] == pytest.approx(expected * 3 / 2000, rel=1e-9)
    assert row["redline_km2"] == pytest.approx(expected / 1e6, rel=1e-9)
    assert list(overlaps["id"]) == ["e1--r1"]


def test_patch_straddling_two_elements_is_split_between_them():
    elements = layer(["west", "east"], [dense_box(115.0, 26.0, 115.05, 26.1), dense_box(115.05, 26.0, 115.1, 26.1)])
    reds, _ = prepare_redlines(layer(["r1"], [dense_box(115.03, 26.02, 115.08, 26.04)]), source="t", official=True)
    table, overlaps = overlap_elements(elements, reds)
    by_id = table.set_index("id")
    assert by_id.loc["west", "redline_m2"] == pytest.approx(geod_box(115.03, 26.02, 115.05, 26.04), rel=1e-6)
    assert by_id.loc["east", "redline_m2"] == pytest.approx(geod_box(115.05, 26.02, 115.08, 26.04), rel=1e-6)
    assert list(overlaps["id"]) == ["east--r1", "west--r1"]
    assert overlaps["area_m2"].sum() == pytest.approx(geod_box(115.03, 26.02, 115.08, 26.04), rel=1e-6)


def test_overlapping_patches_are_counted_once():
    elements = layer(["e1"], [dense_box(115.0, 26.0, 115.1, 26.1)])
    raw = layer(["a", "b"], [dense_box(115.01, 26.01, 115.03, 26.02), dense_box(115.02, 26.01, 115.04, 26.02)])
    reds, report = prepare_redlines(raw, source="t", official=True)
    table, _ = overlap_elements(elements, reds)
    assert report.overlap_pairs == 1 and len(reds) == 1
    assert table.loc[0, "redline_m2"] == pytest.approx(geod_box(115.01, 26.01, 115.04, 26.02), rel=1e-6)
    assert table.loc[0, "patches"] == 1


def test_element_with_a_hole_excludes_the_red_line_in_the_hole():
    outer = dense_box(115.0, 26.0, 115.1, 26.1)
    hole = dense_box(115.04, 26.04, 115.06, 26.06)
    element = Polygon(outer.exterior.coords, [hole.exterior.coords])
    reds, _ = prepare_redlines(layer(["r1"], [dense_box(115.03, 26.03, 115.05, 26.05)]), source="t", official=True)
    table, _ = overlap_elements(layer(["e1"], [element]), reds)
    expected = geod_box(115.03, 26.03, 115.05, 26.05) - geod_box(115.04, 26.04, 115.05, 26.05)
    assert table.loc[0, "redline_m2"] == pytest.approx(expected, rel=1e-6)
    assert table.loc[0, "area_m2"] == pytest.approx(
        geod_box(115.0, 26.0, 115.1, 26.1) - geod_box(115.04, 26.04, 115.06, 26.06), rel=1e-6)


def test_multipart_red_line_and_types_give_per_type_columns():
    elements = layer(["e1", "e2"], [dense_box(115.0, 26.0, 115.1, 26.1), dense_box(116.0, 26.0, 116.1, 26.1)])
    multi = dense_box(115.01, 26.01, 115.02, 26.02).union(dense_box(115.05, 26.05, 115.06, 26.06))
    raw = layer(["r1", "r2"], [multi, dense_box(115.07, 26.07, 115.08, 26.08)], 红线类型=["水源涵养", "水土保持"])
    reds, _ = prepare_redlines(raw, source="t", official=True)
    table, overlaps = overlap_elements(elements, reds)
    e1 = table.set_index("id").loc["e1"]
    assert e1["patches"] == 2
    assert e1["redline_m2_水源涵养"] == pytest.approx(
        geod_box(115.01, 26.01, 115.02, 26.02) + geod_box(115.05, 26.05, 115.06, 26.06), rel=1e-6)
    assert e1["redline_m2_水土保持"] == pytest.approx(geod_box(115.07, 26.07, 115.08, 26.08), rel=1e-6)
    assert table.set_index("id").loc["e2", "redline_m2"] == 0
    assert len(overlaps) == 2 and set(overlaps.geom_type) == {"Polygon", "MultiPolygon"}  # e1--r1 has two parts


def test_projects_inside_outside_and_parcels():
    reds, _ = prepare_redlines(layer(["r1", "r2"], [dense_box(115.0, 26.0, 115.02, 26.02),
                                                    dense_box(115.1, 26.0, 115.12, 26.02)]),
                               source="t", official=True)
    projects = layer(["in", "out", "parcel", "none"],
                     [Point(115.01, 26.01), Point(115.05, 26.01), dense_box(115.01, 26.005, 115.03, 26.015), None])
    table = overlap_projects(projects, reds, buffer_m=3500).set_index("id")
    assert table.loc["in", "in_redline"] and table.loc["in", "redline_distance_m"] == 0
    assert table.loc["in", "nearest_redline_id"] == "r1"
    assert not table.loc["out", "in_redline"]
    # independent: both projected to the Gauss-Kruger zone (CM 114°E, EPSG:4547) and measured planarly
    gk = gpd.GeoSeries([Point(115.05, 26.01), dense_box(115.0, 26.0, 115.02, 26.02)], crs=4326).to_crs(4547)
    assert table.loc["out", "redline_distance_m"] == pytest.approx(gk.iloc[0].distance(gk.iloc[1]), abs=0.05)
    assert table.loc["out", "within_buffer"] and table.loc["out", "nearest_redline_id"] == "r1"
    assert table.loc["parcel", "redline_share"] == pytest.approx(
        geod_box(115.01, 26.005, 115.02, 26.015) / geod_box(115.01, 26.005, 115.03, 26.015), rel=1e-6)
    assert table.loc["parcel", "in_redline"]
    assert pd.isna(table.loc["none", "in_redline"]) and np.isnan(table.loc["none", "redline_distance_m"])


# --- the command, on official-format files -------------------------------------------------

TO_GK = Transformer.from_crs(4326, 4547, always_xy=True)


def gk_box(x0, y0, x1, y1) -> Polygon:
    """A lon/lat box drawn in EPSG:4547 metres (densified so that both agree)."""
    ring = np.asarray(dense_box(x0, y0, x1, y1).exterior.coords)
    return Polygon(np.column_stack(TO_GK.transform(ring[:, 0], ring[:, 1])))


def write_gbk_shapefile(path, *, rings=None) -> None:
    schema = {"geometry": "Polygon", "properties": {"名称": "str:40", "红线类型": "str:40"}}
    rows = rings or [(gk_box(115.01, 26.01, 115.03, 26.03), "贡江湿地", "水源涵养"),
                     (gk_box(115.06, 26.06, 115.07, 26.07), "峰山森林", "生物多样性维护")]
    with fiona.open(path, "w", driver="ESRI Shapefile", crs="EPSG:4547", schema=schema, encoding="gbk") as dst:
        for geom, name, kind in rows:
            dst.write({"geometry": mapping(geom), "properties": {"名称": name, "红线类型": kind}})
    path.with_suffix(".cpg").unlink(missing_ok=True)


@pytest.fixture()
def elements_file(tmp_path):
    path = tmp_path / "elements.geojson"
    layer(["360704-layout-core", "360704-layout-zone"],
          [dense_box(115.0, 26.0, 115.05, 26.1), dense_box(115.05, 26.0, 115.1, 26.1)],
          name=["一核", "生态区"]).to_file(path)
    return path


def run(*args):
    return CliRunner().invoke(main, ["overlap", *map(str, args)])


def test_cli_gbk_shapefile_in_gauss_kruger(tmp_path, elements_file):
    shp = tmp_path / "hx" / "红线.shp"
    shp.parent.mkdir()
    write_gbk_shapefile(shp)
    assert not shp.with_suffix(".cpg").exists()
    assert "贡江湿地".encode("gbk") in shp.with_suffix(".dbf").read_bytes()
    projects = tmp_path / "projects.geojson"
    layer(["p1", "p2"], [Point(115.02, 26.02), Point(115.08, 26.02)], name=["湿地公园", "物流园"]).to_file(projects)
    out = tmp_path / "out"
    result = run("--elements", elements_file, "--redlines", shp, "--projects", projects, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["elements.csv", "elements.csvt", "overlap.xlsx",
                                                      "overlaps.gpkg", "projects.csv", "projects.csvt"]
    raw = (out / "elements.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(out / "elements.csv", encoding="utf-8-sig").set_index("id")
    assert {"area_m2", "redline_m2", "redline_share", "redline_m2_水源涵养"} <= set(table.columns)
    assert table.loc["360704-layout-core", "redline_m2"] == pytest.approx(geod_box(115.01, 26.01, 115.03, 26.03),
                                                                        rel=1e-5)
    assert table.loc["360704-layout-zone", "redline_m2_生物多样性维护"] == pytest.approx(
        geod_box(115.06, 26.06, 115.07, 26.07), rel=1e-5)
    assert table.loc["360704-layout-core", "name"] == "一核"
    overlaps = gpd.read_file(out / "overlaps.gpkg", layer="overlaps")
    assert set(overlaps["redline_type"]) == {"水源涵养", "生物多样性维护"}
    assert set(overlaps.geom_type) == {"MultiPolygon"} and overlaps.crs.to_epsg() == 4326
    projects_out = pd.read_csv(out / "projects.csv", encoding="utf-8-sig").set_index("id")
    assert bool(projects_out.loc["p1", "in_redline"]) and projects_out.loc["p1", "redline_distance_m"] == 0
    assert projects_out.loc["p2", "redline_distance_m"] > 1000 and projects_out.loc["p1", "name"] == "湿地公园"
    sheets = pd.read_excel(out / "overlap.xlsx", sheet_name=None)
    assert list(sheets) == ["elements", "projects", "notes"]
    notes = " ".join(sheets["notes"]["note"].astype(str))
    assert "ellipsoidal (geodesic) on CGCS2000/GRS80" in notes and "EPSG:4547" in notes
    assert "official red lines" in notes and "utf-8-sig" in notes and "红线类型" in notes
    assert len(overlaps) == 2


def test_cli_zipped_shapefile(tmp_path, elements_file):
    shp = tmp_path / "hx" / "hx.shp"
    shp.parent.mkdir()
    write_gbk_shapefile(shp)
    archive = tmp_path / "hx.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp.parent.iterdir():
            zf.write(part, part.name)
    out = tmp_path / "out"
    result = run("--elements", elements_file, "--redlines", archive, "--out", out)
    assert result.exit_code == 0, result.output
    sheets = pd.read_excel(out / "overlap.xlsx", sheet_name=None)
    assert sheets["elements"]["patches"].tolist() == [1, 1]


def test_cli_geopackage_layers(tmp_path, elements_file):
    gpkg = tmp_path / "redlines.gpkg"
    layer(["a"], [dense_box(115.01, 26.01, 115.02, 26.02)]).to_file(gpkg, layer="hx2023")
    layer(["b"], [dense_box(115.06, 26.01, 115.07, 26.02)]).to_file(gpkg, layer="hx2024")
    out = tmp_path / "out"
    result = run("--elements", elements_file, "--redlines", gpkg, "--out", out)
    assert result.exit_code == 2
    assert "hx2023" in result.output and "hx2024" in result.output and "--layer" in result.output
    assert not out.exists()
    result = run("--elements", elements_file, "--redlines", gpkg, "--layer", "hx2024", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "elements.csv", encoding="utf-8-sig").set_index("id")
    assert table.loc["360704-layout-core", "redline_m2"] == 0
    assert table.loc["360704-layout-zone", "redline_m2"] == pytest.approx(geod_box(115.06, 26.01, 115.07, 26.02),
                                                                        rel=1e-6)


def test_cli_self_intersecting_polygon_is_repaired_and_reported(tmp_path, elements_file):
    bowtie = Polygon([(115.01, 26.01), (115.03, 26.03), (115.03, 26.01), (115.01, 26.03)])
    path = tmp_path / "bowtie.geojson"
    layer(["bow"], [bowtie]).to_file(path)
    out = tmp_path / "out"
    result = run("--elements", elements_file, "--redlines", path, "--out", out)
    assert result.exit_code == 0, result.output
    notes = pd.read_excel(out / "overlap.xlsx", sheet_name="notes")["note"].str.cat(sep=" ")
    assert "1 invalid polygon(s)" in notes and "make_valid" in notes
    table = pd.read_csv(out / "elements.csv", encoding="utf-8-sig")
    assert table["redline_m2"].sum() == pytest.approx(
        abs(GEOD.polygon_area_perimeter([115.01, 115.02, 115.01], [26.01, 26.02, 26.03])[0])
        + abs(GEOD.polygon_area_perimeter([115.03, 115.02, 115.03], [26.01, 26.02, 26.03])[0]), rel=1e-6)


def _bad_inputs(tmp_path):
    no_crs = tmp_path / "nocrs" / "hx.shp"
    no_crs.parent.mkdir()
    write_gbk_shapefile(no_crs)
    no_crs.with_suffix(".prj").unlink()
    wrong = tmp_path / "wrong" / "hx.shp"
    wrong.parent.mkdir()
    schema = {"geometry": "Polygon", "properties": {"名称": "str:40"}}
    with fiona.open(wrong, "w", driver="ESRI Shapefile", crs="EPSG:4547", schema=schema, encoding="gbk") as dst:
        dst.write({"geometry": mapping(box(115.01, 26.01, 115.02, 26.02)), "properties": {"名称": "贡江"}})
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.gpkg"
    corrupt.write_bytes(b"this is not a geopackage at all" * 10)
    points = tmp_path / "points.geojson"
    layer(["p"], [Point(115.01, 26.01)]).to_file(points)
    no_features = tmp_path / "nofeatures.geojson"
    no_features.write_text('{"type":"FeatureCollection","features":[]}', encoding="utf-8")
    return {
        "no CRS": (no_crs, ["declares no coordinate reference system", "EPSG:4547", "--crs"]),
        "wrong CRS": (wrong, ["EPSG:4547", "outside China", "degrees", "EPSG:4490"]),
        "empty file": (empty, ["empty"]),
        "corrupt file": (corrupt, ["not a readable vector file"]),
        "point layer": (points, ["Point", "polygon"]),
        "no features": (no_features, ["no features"]),
    }


@pytest.mark.parametrize("case", ["no CRS", "wrong CRS", "empty file", "corrupt file", "point layer",
                                  "no features"])
def test_cli_bad_red_lines_give_a_clear_message_and_write_nothing(tmp_path, elements_file, case):
    path, words = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out"
    result = run("--elements", elements_file, "--redlines", path, "--out", out)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in result.output and len(errors) == 1, result.output
    assert result.stdout == ""  # progress and errors go to stderr, paths written to stdout
    for word in words:
        assert word in result.output
    assert not out.exists() or not any(out.iterdir())


def test_cli_missing_id_field_lists_the_fields(tmp_path):
    elements = tmp_path / "el.geojson"
    gpd.GeoDataFrame({"编号": ["a"], "name": ["x"]}, geometry=[dense_box(115.0, 26.0, 115.1, 26.1)],
                     crs=4326).to_file(elements)
    reds = tmp_path / "r.geojson"
    layer(["r"], [dense_box(115.01, 26.01, 115.02, 26.02)]).to_file(reds)
    out = tmp_path / "out"
    result = run("--elements", elements, "--redlines", reds, "--out", out)
    assert result.exit_code == 2
    assert "no such id field" in result.output and "编号" in result.output and "--id-field" in result.output
    assert not out.exists()
    result = run("--elements", elements, "--redlines", reds, "--id-field", "编号", "--out", out)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out / "elements.csv", encoding="utf-8-sig")["id"].tolist() == ["a"]


def _winding_case(seed: int = 3):
    """Disjoint winding bands (random walks buffered), some with holes, some multi-part, and Voronoi elements."""
    rng = np.random.default_rng(seed)
    bands, taken = [], shapely.box(115.05, 26.05, 115.08, 26.08)  # a big patch that holds a small element
    for _ in range(60):
        steps = rng.normal(0, 0.004, (400, 2)).cumsum(axis=0) + rng.uniform([115.0, 26.0], [115.2, 26.2])
        band = shapely.LineString(steps).buffer(rng.uniform(0.0008, 0.002), quad_segs=4)
        if rng.random() < 0.4:
            band = band.difference(shapely.Point(band.representative_point()).buffer(0.0005))
        if not band.intersects(taken):  # disjoint, as prepared red lines are
            bands.append(band)
            taken = taken.union(band)
    patches = [shapely.box(115.05, 26.05, 115.08, 26.08), shapely.union_all(bands[:2]), *bands[2:]]  # one multi-part
    cells = shapely.voronoi_polygons(shapely.MultiPoint(rng.uniform([115.0, 26.0], [115.25, 26.25], (9, 2))),
                                     extend_to=shapely.box(114.9, 25.9, 115.4, 26.4))
    frame = shapely.box(114.98, 25.98, 115.3, 26.3)
    elements = [shapely.segmentize(c.intersection(frame), 0.01) for c in shapely.get_parts(cells)]
    elements.append(shapely.box(115.06, 26.06, 115.065, 26.065))  # wholly inside the big patch
    types = ["水源涵养", "水土保持"] * len(patches)
    return (layer([f"e{i}" for i in range(len(elements))], elements),
            layer([f"r{i:02d}" for i in range(len(patches))], patches, type=types[:len(patches)]))


def test_engine_matches_plain_intersection_on_winding_patches():
    """Every element's red-line area equals the sum of plain shapely intersections with every patch
    (an independent route: no boundary pieces, no containment shortcuts), whatever the shapes."""
    elements, raw = _winding_case()
    reds, report = prepare_redlines(raw, source="t", official=True)
    assert report.overlap_pairs == 0 and report.cross_type_pairs == 0  # disjoint by construction
    table, overlaps = overlap_elements(elements, reds)
    e = elements.geometry.to_numpy()
    r = reds.geometry.to_numpy()
    plain = np.array([ellipsoidal_area_m2(shapely.intersection(g, r)).sum() for g in e])
    assert (plain > 0).sum() >= 8
    np.testing.assert_allclose(table["redline_m2"].to_numpy(), plain, rtol=1e-9, atol=1e-6)
    small = table.set_index("id").loc["e9"]
    assert small["redline_m2"] == pytest.approx(small["area_m2"], rel=1e-12)  # element inside a patch
    assert small["redline_share"] == pytest.approx(1.0, rel=1e-12)
    assert overlaps["area_m2"].sum() == pytest.approx(plain.sum(), rel=1e-9)


def test_prepared_geometries_are_one_thread_at_a_time(monkeypatch):
    """The command locates projects while the elements are intersected, on the same red-line objects:
    every prepare and its questions happen under the lock, and the answers are those of one thread."""
    elements, raw = _winding_case()
    reds, _ = prepare_redlines(raw, source="t", official=True)
    rng = np.random.default_rng(5)
    projects = layer([f"p{i:03d}" for i in range(600)],
                     shapely.points(rng.uniform(114.95, 115.35, 600), rng.uniform(25.95, 26.35, 600)))
    alone = overlap_projects(projects, reds, buffer_m=300, epsg=4547), overlap_elements(elements, reds)[0]

    class Owned:  # the lock, and which thread holds it
        def __init__(self) -> None:
            self.lock, self.owner = threading.Lock(), None

        def __enter__(self) -> None:
            self.lock.acquire()
            self.owner = threading.get_ident()

        def __exit__(self, *exc) -> None:
            self.owner = None
            self.lock.release()

    lock, held, prepare = Owned(), [], shapely.prepare
    monkeypatch.setattr(overlap, "PREPARED", lock)
    monkeypatch.setattr(shapely, "prepare", lambda g: (held.append(lock.owner == threading.get_ident()), prepare(g)))
    with ThreadPoolExecutor(1) as pool:
        intersected = pool.submit(overlap_elements, elements, reds)
        located = overlap_projects(projects, reds, buffer_m=300, epsg=4547)
        together = located, intersected.result()[0]
    assert len(held) == 5 and all(held)  # each by the thread holding the lock (contacts; inside_pairs)
    pd.testing.assert_frame_equal(together[0], alone[0])
    pd.testing.assert_frame_equal(together[1], alone[1])


def test_project_distances_and_depths_match_brute_force_in_the_zone():
    """Distances, nearest ids and depths against a brute-force measure of every patch in EPSG:4547."""
    elements, raw = _winding_case()
    reds, _ = prepare_redlines(raw, source="t", official=True)
    rng = np.random.default_rng(5)
    pts = shapely.points(rng.uniform(114.95, 115.35, 600), rng.uniform(25.95, 26.35, 600))
    projects = layer([f"p{i:03d}" for i in range(len(pts))], pts)
    table = overlap_projects(projects, reds, buffer_m=300, epsg=4547).set_index("id")
    gk = reds.to_crs(4547)
    gpts = gpd.GeoSeries(pts, crs=4326).to_crs(4547).to_numpy()
    for i, p in enumerate(gpts):
        d = shapely.distance(p, gk.geometry.to_numpy())
        row = table.loc[f"p{i:03d}"]
        assert row["redline_distance_m"] == pytest.approx(d.min(), abs=1e-6)
        if d.min() > 0:
            assert row["nearest_redline_id"] == gk["id"].iloc[int(np.argmin(d))]
            assert not row["in_redline"] and np.isnan(row["redline_depth_m"])
        else:
            holder = int(np.argmin(d))
            assert row["nearest_redline_id"] == gk["id"].iloc[holder] and row["in_redline"]
            depth = shapely.distance(p, gk.geometry.iloc[holder].boundary)
            assert row["redline_depth_m"] == pytest.approx(depth, abs=1e-6)
    assert 20 < int(table["in_redline"].sum()) < 580


def _spatial(*args, cwd):
    """``spatial`` as users run it: a process of its own."""
    exe = Path(sys.executable).with_name("spatial")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_cli_workers_give_the_single_process_tables_and_progress_goes_to_stderr(tmp_path):
    """``--workers 2`` (a real LocalCluster of two processes) writes the same tables as one process."""
    elements, raw = _winding_case()
    elements.to_file(tmp_path / "el.geojson")
    raw.to_file(tmp_path / "red.gpkg")
    rng = np.random.default_rng(9)
    layer([f"p{i}" for i in range(300)], shapely.points(rng.uniform(115.0, 115.3, 300), rng.uniform(26.0, 26.3, 300))
          ).to_file(tmp_path / "pr.gpkg")
    common = ["overlap", "--elements", "el.geojson", "--redlines", "red.gpkg", "--projects", "pr.gpkg",
              "--buffer-m", "200"]
    one = _spatial(*common, "--out", "one", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert one.stdout.split() == [str(Path("one") / n) for n in
                                  ("elements.csv", "projects.csv", "overlap.xlsx", "overlaps.gpkg", "elements.csvt",
                                   "projects.csvt")]
    assert "intersecting elements with red lines:" in one.stderr and "Traceback" not in one.stderr
    two = _spatial(*common, "--workers", "2", "--quiet", "--out", "two", cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    assert two.stderr == ""  # --quiet
    for name in ("elements.csv", "projects.csv"):
        a = pd.read_csv(tmp_path / "one" / name, encoding="utf-8-sig")
        b = pd.read_csv(tmp_path / "two" / name, encoding="utf-8-sig")
        pd.testing.assert_frame_equal(a, b, rtol=1e-9)
    assert (pd.read_csv(tmp_path / "one" / "elements.csv")["redline_m2"] > 0).sum() >= 8


def test_cli_unreachable_scheduler_is_one_clear_error(tmp_path, elements_file):
    reds = tmp_path / "r.geojson"
    layer(["r"], [dense_box(115.01, 26.01, 115.02, 26.02)]).to_file(reds)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _spatial("overlap", "--elements", elements_file, "--redlines", reds, "--scheduler",
                      f"tcp://127.0.0.1:{port}", "--out", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and f"127.0.0.1:{port}" in errors[0] and "dask scheduler" in errors[0]
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_a_red_line_area_column_from_the_user_is_not_trusted():
    """The engine measures every patch itself: a layer's own ``area_km2`` (any units, stale) changes nothing."""
    elements = layer(["e1"], [dense_box(115.0, 26.0, 115.1, 26.1)])
    reds = layer(["r1"], [dense_box(115.02, 26.02, 115.04, 26.05)], area_km2=[123456.0])
    table, _ = overlap_elements(elements, reds)
    assert table.loc[0, "redline_m2"] == pytest.approx(geod_box(115.02, 26.02, 115.04, 26.05), rel=1e-6)
