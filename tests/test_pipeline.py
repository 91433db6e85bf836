"""The pipeline on a synthetic district: geometry rules, areas, determinism, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod
from shapely.geometry import shape

from spatial.cli import main

GEOD = Geod(ellps="GRS80")


def _build(root: Path, *extra: str):
    return CliRunner().invoke(main, ["build", "--data", str(root / "data"), "--seeds", str(root / "seeds"),
                                     "--layers", str(root / "layers"), "--maps", str(root / "maps"), *extra])


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def test_build_writes_layers_with_ids_and_geodesic_areas(synth: Path):
    res = _build(synth)
    assert res.exit_code == 0, res.output
    out = synth / "layers" / "999901"
    elements = {f["properties"]["id"]: f for f in _features(out / "elements.geojson")}
    assert sorted(elements) == [f"999901-layout-{e}" for e in ("core", "east", "river", "road", "south", "west")]
    for fid, f in elements.items():
        independent = abs(GEOD.geometry_area_perimeter(shape(f["geometry"]))[0]) / 1e6
        assert f["properties"]["area_km2"] == pytest.approx(independent, rel=1e-6, abs=1e-6), fid
        for key in ("structure", "role", "name", "members", "function", "seed", "offset", "basis", "precision_m"):
            assert key in f["properties"]
    assert elements["999901-layout-core"]["properties"]["members"] == "青石镇、白沙乡"
    axes = _features(out / "axes.geojson")
    assert sorted(f["properties"]["id"] for f in axes) == ["999901-layout-river", "999901-layout-road"]
    assert all(f["geometry"]["type"] == "MultiLineString" for f in axes)


def test_townships_partition_the_district_and_zones_do_not_overlap(synth: Path):
    assert _build(synth).exit_code == 0
    out = synth / "layers" / "999901"
    cells = [shape(f["geometry"]) for f in _features(out / "townships.geojson")]
    boundary = shape(_features(out / "boundary.geojson")[0]["geometry"])
    assert len(cells) == 4
    assert shapely.union_all(cells).symmetric_difference(boundary).area < 1e-8
    zones = {f["properties"]["id"]: shape(f["geometry"]) for f in _features(out / "elements.geojson")
             if f["properties"]["role"] == "zone"}
    names = sorted(zones)
    for i, a in enumerate(names):
        assert boundary.buffer(1e-7).covers(zones[a])
        for b in names[i + 1:]:
            assert zones[a].intersection(zones[b]).area < 1e-10, (a, b)


def test_second_build_is_byte_identical(synth: Path):
    folder = synth / "layers" / "999901"
    assert _build(synth).exit_code == 0
    first = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert _build(synth).exit_code == 0
    second = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert first == second and {"999901.qgz", "shp/elements.shp", "shp/elements.dbf", "elements.qml"} <= set(first)


@pytest.mark.parametrize(("edit", "message"), [
    (("members: [东岭镇]", "members: [东岭乡]"),
     "structure layout, element east: unknown member place '东岭乡'; fix: add '东岭乡' to data/gazetteer/999901.csv"),
    (("role: zone, name: 东区", "role: hub, name: 东区"),
     "structure layout, element east, field role: Input should be 'core', 'pole', 'axis', 'belt', 'zone', 'group', "
     "'corridor' or 'node' (got 'hub'); fix: use one of the allowed values"),
    (("cite: {offset: 33}", "cite: {offset: 34}"),
     "structure layout, element east: citation offset 34 lands on '区、', not '东区'; fix: '东区' stands at offset 33"),
    (("- {id: south, role: zone", "- {id: south, role: zone, term: 圈"),
     "structure layout: slogan '一核两带三区' names 3 '区' but 2 elements have term '区'"),
    (("slogan: 一核两带三区\n", "slogan: 一核两带三区\n    colour: red\n"),
     "structure layout, field colour: Extra inputs are not permitted"),
])
def test_bad_spec_gets_one_line_error_exit_2_and_nothing_written(synth: Path, edit, message):
    spec = synth / "data" / "plans" / "999901.yaml"
    text = spec.read_text(encoding="utf-8")
    assert edit[0] in text
    spec.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    res = _build(synth)
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert f"error: {spec}: {message}" in res.output
    assert not (synth / "layers").exists()


def test_malformed_yaml_names_the_line(synth: Path):
    spec = synth / "data" / "plans" / "999901.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("kind: overall", "kind: [overall"), encoding="utf-8")
    res = _build(synth)
    assert res.exit_code == 2
    assert f"error: {spec}: line " in res.output and "malformed YAML" in res.output


def test_failed_build_keeps_previous_layers(synth: Path):
    assert _build(synth).exit_code == 0
    before = (synth / "layers" / "999901" / "elements.geojson").read_bytes()
    gaz = synth / "data" / "gazetteer" / "999901.csv"
    gaz.write_text(gaz.read_text(encoding="utf-8").replace("115.15,26.00", "118.15,26.00"), encoding="utf-8")
    res = _build(synth)
    assert res.exit_code == 2
    assert "row 4 (东岭镇): (118.15000, 26.00000) lies outside the district" in res.output
    assert (synth / "layers" / "999901" / "elements.geojson").read_bytes() == before


def test_unknown_adcode(synth: Path):
    res = _build(synth, "123456")
    assert res.exit_code == 2
    assert "no plan spec for adcode 123456; fix: choose one of 999901" in res.output


def test_red_lines_are_measured_as_stored():
    """A patch keeps no area from before it was clipped, and is measured on its rounded, repaired shape."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from spatial.crs import ellipsoidal_area_m2
    from spatial.pipeline import as_stored

    noisy = shapely.box(115.0000004, 26.0000004, 115.0100004, 26.0100004)
    bowtie = shapely.Polygon([(115, 26), (115.01, 26.01), (115.01, 26), (115, 26.01)])
    stale = gpd.GeoDataFrame({"id": ["a", "b", "c"], "area_km2": [99.0, 99.0, 99.0]},
                             geometry=[noisy, bowtie, shapely.Polygon()], crs=4326)
    out = as_stored(stale)
    assert out["id"].tolist() == ["a", "b"] and set(out.geom_type) <= {"Polygon", "MultiPolygon"}
    coords = shapely.get_coordinates(out.geometry.values)
    assert np.array_equal(coords, np.round(coords, 6)) and out.geometry.is_valid.all()
    assert np.allclose(out["area_km2"], ellipsoidal_area_m2(out.geometry.values) / 1e6, rtol=0, atol=1e-12)
    assert abs(out["area_km2"].iloc[0] - ellipsoidal_area_m2([noisy])[0] / 1e6) < 1e-4  # rounding moves < 0.1 m
