"""Red lines read near the elements and projects only (spatial.nearby): the same tables as reading them all."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from province import inputs, overlap_run
from shapely.geometry import box

from spatial.nearby import lonlat_boxes, select_redlines
from spatial.overlap import lonlat


@pytest.mark.parametrize(("epsg", "with_ids"), [(4490, True), (4547, True), (4490, False)])
def test_reading_only_what_can_matter_gives_the_same_tables(tmp_path, epsg, with_ids):
    elements, red, projects = inputs(tmp_path, np.random.default_rng(3), epsg=epsg, with_ids=with_ids)
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
