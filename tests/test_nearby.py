"""Red lines read near the elements and projects only (spatial.nearby): the same tables as reading them all."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from province import inputs, overlap_run
from shapely.geometry import box

from spatial.nearby import _gpkg_bounds, lonlat_boxes, select_redlines
from spatial.overlap import lonlat


@pytest.mark.parametrize(("epsg", "with_ids", "shapefile"),
                         [(4490, True, False), (4547, True, False), (4490, False, False), (4547, True, True)])
def test_reading_only_what_can_matter_gives_the_same_tables(tmp_path, epsg, with_ids, shapefile):
    elements, red, projects = inputs(tmp_path, np.random.default_rng(3), epsg=epsg, with_ids=with_ids,
                                     shapefile=shapefile)
    near = overlap_run(elements, red, projects, tmp_path / "near")
    whole = overlap_run(elements, red, projects, tmp_path / "whole", "--all-redlines")
    for name in ("elements.csv", "projects.csv"):
        assert (near / name).read_bytes() == (whole / name).read_bytes(), name
    a = pyogrio.read_dataframe(near / "overlaps.gpkg", layer="overlaps")
    b = pyogrio.read_dataframe(whole / "overlaps.gpkg", layer="overlaps")
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, 0).all()
    # the cases the test is for did happen: the far member named the merge, the far point found its red line
    table = pd.read_csv(near / "projects.csv")
    assert table.loc[table["id"] == "p301", "redline_distance_m"].item() > 45_000
    if with_ids:
        assert "edge-far" in set(a["redline_id"]) and "edge-near" not in set(a["redline_id"])
    notes = pd.read_excel(near / "overlap.xlsx", sheet_name="notes")
    read = notes["note"].str.extract(r"Read (\d+) of the layer's (\d+) features").dropna().astype(int)
    assert len(read) == 1 and read.iloc[0, 0] < read.iloc[0, 1] / 10, read
    assert read.iloc[0, 1] == 1605
    # the whole layer's types, decoded as GBK from a Shapefile without .cpg too
    types = "Red-line type taken from field 'type': 水土保持、水源涵养、生物多样性维护."
    assert types in set(notes["note"])


def test_selection_is_none_when_every_feature_is_needed(tmp_path):
    elements, red, projects = inputs(tmp_path, np.random.default_rng(4), epsg=4490, with_ids=True)
    everywhere = gpd.GeoDataFrame(geometry=[box(113.9, 24.9, 116.1, 27.1)], crs=4326)
    assert select_redlines(red, layer=None, crs=None, option="", targets=lonlat(everywhere),
                           projects=np.empty(0, dtype=object), epsg=4547) is None
    some = select_redlines(red, layer=None, crs=None, option="", targets=lonlat(gpd.read_file(elements)),
                           projects=np.empty(0, dtype=object), epsg=4547)
    assert some is not None and 0 < len(some.fids) < 100 and len(some.attributes) == 1605


def test_projected_boxes_hold_the_reprojected_shapes():
    rng = np.random.default_rng(5)
    x, y = rng.uniform(380_000, 620_000, 200), rng.uniform(2_800_000, 3_000_000, 200)
    w, h = rng.uniform(10, 80_000, 200), rng.uniform(10, 80_000, 200)
    bounds = np.column_stack([x, y, x + w, y + h])
    shapes = gpd.GeoSeries(shapely.segmentize(shapely.box(*bounds.T), 100.0), crs=4547).to_crs(4326)
    boxes = lonlat_boxes(bounds, gpd.GeoSeries(crs=4547).crs)
    inner = shapely.bounds(shapes.values)
    assert (boxes[:, :2] <= inner[:, :2]).all() and (boxes[:, 2:] >= inner[:, 2:]).all()


def test_geopackage_boxes_are_read_bounds_answer(tmp_path):
    """Boxes from the blobs' headers (SQL) equal GDAL's from the shapes, with missing and empty shapes,
    gaps in the feature ids and an odd layer name; other formats are left to read_bounds."""
    rng = np.random.default_rng(6)
    shapes = list(shapely.buffer(shapely.points(rng.uniform(114, 116, (50, 2))), rng.uniform(0.001, 0.1, 50)))
    shapes[0], shapes[7] = None, shapely.Polygon()
    frame = gpd.GeoDataFrame({"id": [f"r{i}" for i in range(50)]}, geometry=shapes, crs=4490)
    path = tmp_path / "red.gpkg"
    pyogrio.write_dataframe(frame, path, layer='红线 "a"')
    with sqlite3.connect(path) as db:
        db.execute('DELETE FROM "红线 ""a""" WHERE id IN (\'r3\', \'r4\')')
    info = pyogrio.read_info(path, layer='红线 "a"')
    fids, bounds = _gpkg_bounds(str(path), info)
    want_fids, want = pyogrio.read_bounds(path, layer='红线 "a"')
    assert np.array_equal(fids, want_fids) and len(fids) == 48
    has_box = ~np.isnan(want).any(axis=0) & (want[2] > want[0])  # (read_bounds: zeros for an empty shape)
    assert np.array_equal(bounds[:, has_box], want[:, has_box]) and np.isnan(bounds[:, ~has_box]).all()
    assert has_box.sum() == 46
    pyogrio.write_dataframe(frame, tmp_path / "red.geojson")
    assert _gpkg_bounds(str(tmp_path / "red.geojson"), pyogrio.read_info(tmp_path / "red.geojson")) is None
