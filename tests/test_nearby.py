"""Red lines read near the elements and projects only (spatial.nearby): the same tables as reading them all."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import Point, box

from spatial.cli import main
from spatial.nearby import lonlat_boxes, select_redlines
from spatial.overlap import lonlat

AOI = (114.40, 25.90, 114.60, 26.10)  # the county: elements and most projects


def _province(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Red lines over 114-116°E, 25-27°N: a grid of small patches and the awkward cases at the county's edge."""
    rows = []
    for i, x in enumerate(np.arange(114.0, 116.0, 0.05)):
        for j, y in enumerate(np.arange(25.0, 27.0, 0.05)):
            s = rng.uniform(0.005, 0.02)
            rows.append((f"g{i:02d}-{j:02d}", "水源涵养" if (i + j) % 2 else "水土保持", box(x, y, x + s, y + s)))
    # same type, overlapping, across the county's edge; the member far outside comes first: its id names the merge
    rows.insert(0, ("edge-far", "生物多样性维护", box(114.62, 26.00, 114.90, 26.02)))
    rows.append(("edge-near", "生物多样性维护", box(114.58, 26.005, 114.70, 26.015)))
    # a cross-type overlap just outside the county, and a long thin patch reaching in from far away
    rows.append(("cross-a", "水源涵养", box(114.30, 25.80, 114.36, 25.86)))
    rows.append(("cross-b", "水土保持", box(114.33, 25.83, 114.39, 25.89)))
    rows.append(("river", "水源涵养", box(115.50, 26.051, 115.9, 26.052).union(box(114.55, 26.051, 115.5, 26.0515))))
    ids, types, shapes = zip(*rows)
    return gpd.GeoDataFrame({"id": ids, "type": types}, geometry=list(shapes), crs=4490)


def _inputs(tmp_path, rng: np.random.Generator, *, epsg: int, with_ids: bool):
    red = _province(rng)
    if not with_ids:
        red = red.drop(columns="id")
    red_path = tmp_path / f"red-{epsg}-{with_ids}.gpkg"
    pyogrio.write_dataframe(red.to_crs(epsg), red_path, promote_to_multi=True)
    x0, y0, x1, y1 = AOI
    elements = gpd.GeoDataFrame({"id": ["e1", "e2", "e3"]}, geometry=[
        box(x0, y0, (x0 + x1) / 2, y1), box((x0 + x1) / 2, y0, x1, (y0 + y1) / 2),
        box((x0 + x1) / 2, (y0 + y1) / 2, x1, y1)], crs=4326)
    points = [Point(p) for p in rng.uniform((x0, y0), (x1, y1), size=(300, 2))]
    points += [Point(114.47, 26.3), Point(113.5, 26.0)]  # far from the county; the second west of all red lines
    parcels = [box(x, y, x + 0.004, y + 0.003) for x, y in rng.uniform((x0, y0), (x1, y1), size=(30, 2))]
    projects = gpd.GeoDataFrame({"id": [f"p{i}" for i in range(len(points) + len(parcels))]},
                                geometry=points + parcels, crs=4326)
    elements.to_file(tmp_path / "elements.geojson")
    projects.to_file(tmp_path / "projects.gpkg")
    return tmp_path / "elements.geojson", red_path, tmp_path / "projects.gpkg"


def _overlap(elements, red, projects, out, *extra):
    result = CliRunner().invoke(main, ["overlap", "--elements", str(elements), "--redlines", str(red), "--projects",
                                       str(projects), "--buffer-m", "500", "--out", str(out), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize(("epsg", "with_ids"), [(4490, True), (4547, True), (4490, False)])
def test_reading_only_what_can_matter_gives_the_same_tables(tmp_path, epsg, with_ids):
    elements, red, projects = _inputs(tmp_path, np.random.default_rng(3), epsg=epsg, with_ids=with_ids)
    near = _overlap(elements, red, projects, tmp_path / "near")
    whole = _overlap(elements, red, projects, tmp_path / "whole", "--all-redlines")
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
    elements, red, projects = _inputs(tmp_path, np.random.default_rng(4), epsg=4490, with_ids=True)
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
