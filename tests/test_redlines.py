"""Red lines: cleaning official layers, and the illustrative sample built from plan features."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon, box

from spatial.errors import InputError
from spatial.redlines import load_redlines, prepare_redlines, sample_redlines

GEOD = Geod(ellps="GRS80")


def geod_area(poly: Polygon) -> float:
    x, y = poly.exterior.coords.xy
    return abs(GEOD.polygon_area_perimeter(list(x), list(y))[0])


def test_reprojects_from_gauss_kruger_and_keeps_fields():
    lonlat = box(115.01, 26.01, 115.02, 26.02).segmentize(0.0005)
    gk = gpd.GeoDataFrame({"名称": ["贡江湿地"], "红线类型": ["水源涵养"]}, geometry=[lonlat], crs=4326).to_crs(4547)
    reds, report = prepare_redlines(gk, source="hx.shp", official=True)
    assert reds.crs.to_epsg() == 4326
    assert list(reds.columns) == ["id", "name", "type", "official", "source", "basis", "area_km2", "geometry"]
    row = reds.iloc[0]
    assert (row["id"], row["name"], row["type"], row["official"]) == ("rl-00001", "贡江湿地", "水源涵养", True)
    assert row["area_km2"] * 1e6 == pytest.approx(geod_area(lonlat), rel=1e-6)
    assert report.type_field == "红线类型" and report.crs.startswith("EPSG:4547")
    assert any("EPSG:4547" in n for n in report.notes) and any("official data" in n for n in report.notes)


def test_repairs_invalid_and_drops_empty_geometries():
    bowtie = Polygon([(115.0, 26.0), (115.02, 26.02), (115.02, 26.0), (115.0, 26.02)])
    gdf = gpd.GeoDataFrame({"id": ["bow", "gone", "ok"]},
                           geometry=[bowtie, Polygon(), box(115.1, 26.0, 115.11, 26.01)], crs=4326)
    reds, report = prepare_redlines(gdf, source="t", official=False)
    assert (report.repaired, report.dropped_empty) == (1, 1)
    assert list(reds["id"]) == ["bow", "ok"]
    assert reds.is_valid.all() and set(reds.geom_type) <= {"Polygon", "MultiPolygon"}
    halves = geod_area(Polygon([(115.0, 26.0), (115.01, 26.01), (115.0, 26.02)])) + \
        geod_area(Polygon([(115.02, 26.0), (115.01, 26.01), (115.02, 26.02)]))
    assert reds.iloc[0]["area_km2"] * 1e6 == pytest.approx(halves, rel=1e-6)
    assert any("1 invalid polygon(s)" in n for n in report.notes)
    assert any("ILLUSTRATIVE" in n for n in report.notes)


def test_overlaps_of_the_same_type_are_dissolved_and_measured():
    a, b, c = box(115.0, 26.0, 115.02, 26.01), box(115.01, 26.0, 115.03, 26.01), box(115.5, 26.0, 115.51, 26.01)
    gdf = gpd.GeoDataFrame({"id": ["a", "b", "c"], "类型": ["水源涵养"] * 3}, geometry=[a, b, c], crs=4326)
    reds, report = prepare_redlines(gdf, source="t", official=True)
    assert report.overlap_pairs == 1 and (report.merged_from, report.merged_into) == (2, 1)
    assert report.overlap_m2 == pytest.approx(geod_area(box(115.01, 26.0, 115.02, 26.01)), rel=1e-6)
    assert list(reds["id"]) == ["a", "c"]
    assert reds.iloc[0]["area_km2"] * 1e6 == pytest.approx(geod_area(box(115.0, 26.0, 115.03, 26.01)), rel=1e-6)
    assert "dissolved" in reds.iloc[0]["basis"]


def test_overlaps_between_types_go_to_the_first_type():
    gdf = gpd.GeoDataFrame({"id": ["x", "y"], "hxlx": ["水土保持", "水源涵养"]},
                           geometry=[box(115.0, 26.0, 115.02, 26.01), box(115.01, 26.0, 115.03, 26.01)], crs=4326)
    reds, report = prepare_redlines(gdf, source="t", official=True)
    assert report.type_field == "hxlx" and report.cross_type_pairs == 1
    assert reds.geometry.iloc[0].intersection(reds.geometry.iloc[1]).area == pytest.approx(0, abs=1e-12)
    kept = reds.set_index("type")["area_km2"] * 1e6
    first, second = sorted(["水土保持", "水源涵养"])
    assert kept[first] == pytest.approx(geod_area(gdf.geometry[gdf["hxlx"] == first].iloc[0]), rel=1e-6)
    assert kept[first] + kept[second] == pytest.approx(geod_area(box(115.0, 26.0, 115.03, 26.01)), rel=1e-6)


def test_unknown_type_field_lists_the_fields():
    gdf = gpd.GeoDataFrame({"名称": ["a"]}, geometry=[box(115.0, 26.0, 115.01, 26.01)], crs=4326)
    with pytest.raises(InputError) as err:
        prepare_redlines(gdf, source="hx.shp", official=True, type_field="TYPE")
    assert "hx.shp" in str(err.value) and "名称" in str(err.value)


def test_layer_without_polygons_left_is_an_input_error():
    gdf = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Polygon()], crs=4326)
    with pytest.raises(InputError, match="no red-line polygon"):
        prepare_redlines(gdf, source="t", official=True)


def test_sample_red_lines_from_ecological_features():
    boundary = gpd.GeoDataFrame(geometry=[box(115.0, 26.0, 115.1, 26.1)], crs=4326)
    features = gpd.GeoDataFrame({
        "id": ["gongjiang", "lake", "road", "spring"],
        "name": ["贡江", "章湖", "赣州大道", "泉"],
        "kind": ["river", "lake", "road", "water-source"],
        "ecological": [True, True, False, True],
        "width_m": [300.0, None, 40.0, None],
    }, geometry=[LineString([(114.9, 26.05), (115.2, 26.05)]), box(115.05, 26.08, 115.15, 26.09),
                 LineString([(115.0, 26.02), (115.1, 26.02)]), Point(115.01, 26.01)], crs=4326)
    reds = sample_redlines(features, boundary, adcode="360704")
    assert list(reds["id"]) == ["360704-rl-gongjiang", "360704-rl-lake"]
    assert not reds["official"].any()
    assert reds.iloc[0]["basis"] == "illustrative: built from 贡江 named in the plan; not the official red line"
    assert reds.geometry.within(box(115.0, 26.0, 115.1, 26.1).buffer(1e-9)).all()
    # the river band: 300 m wide across the 0.1° district; the lake: its part inside the district
    river_km = GEOD.line_length([115.0, 115.1], [26.05, 26.05]) / 1000
    assert reds.iloc[0]["area_km2"] == pytest.approx(river_km * 0.3, rel=0.01)
    assert reds.iloc[1]["area_km2"] * 1e6 == pytest.approx(
        geod_area(box(115.05, 26.08, 115.1, 26.09).segmentize(0.001)), rel=1e-6)


def test_load_redlines_marks_a_layer_written_as_illustrative(tmp_path):
    path = tmp_path / "redlines.geojson"
    gpd.GeoDataFrame({"id": ["a"], "official": [False]}, geometry=[box(115.0, 26.0, 115.01, 26.01)],
                     crs=4326).to_file(path)
    reds, report = load_redlines(path)
    assert not report.official and not reds["official"].any()
    assert np.isclose(reds["area_km2"].iloc[0] * 1e6, geod_area(box(115.0, 26.0, 115.01, 26.01)), rtol=1e-6)
