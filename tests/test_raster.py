"""Rasters the tests make, whose exact answers follow from geometry: zonal, projects, slope, rasterize."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from pyproj import Geod
from rasterio.transform import from_origin

from spatial.cli import main
from spatial.crs import ellipsoidal_area_m2
from spatial.errors import InputError
from spatial.raster import grid, zonal
from spatial.raster.grid import open_raster
from spatial.raster.zonal import zonal_categorical, zonal_continuous
from test_qgis import qgis_python  # noqa: F401  (the fixture: system Python with QGIS)

SYSTEM_PYTHON = "/usr/bin/python3"
QGIS_ZONAL = Path(__file__).parent / "qgis" / "zonal_statistics.py"

# Projected grid: CGCS2000 GK CM 114°E, 30 m cells, 400 x 400 (12 km), near the central meridian.
GK_ORIGIN = (494_000.0, 3_170_000.0)
GK_RES = 30.0
# Geographic grid: 0.0003° cells (about 30 m) over 青云谱区's latitude.
LL_ORIGIN = (115.85, 28.66)
LL_RES = 0.0003
SIZE = 400
NODATA = 255
# Class regions, in cells (row0, row1, col0, col1): class 1 left, 2 right-top, 3 right-bottom,
# a nodata block in the middle; band 2 is the same map with classes 10/20 swapped by halves.
REGIONS = {1: (0, 400, 0, 170), 2: (0, 230, 170, 400), 3: (230, 400, 170, 400)}
HOLE = (150, 200, 140, 210)


def _class_bands() -> np.ndarray:
    band1 = np.zeros((SIZE, SIZE), np.uint8)
    for cls, (r0, r1, c0, c1) in REGIONS.items():
        band1[r0:r1, c0:c1] = cls
    band1[HOLE[0]:HOLE[1], HOLE[2]:HOLE[3]] = NODATA
    band2 = np.where(np.arange(SIZE)[:, None] < 200, 10, 20).repeat(SIZE, axis=1).astype(np.uint8)
    band2[HOLE[0]:HOLE[1], HOLE[2]:HOLE[3]] = NODATA
    return np.stack([band1, band2])


def _write(path: Path, data: np.ndarray, crs: str, transform, nodata=None) -> Path:
    data = data if data.ndim == 3 else data[None]
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                       dtype=data.dtype, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(data)
    return path


def _cell_box(transform, r0: int, r1: int, c0: int, c1: int) -> shapely.Polygon:
    x0, y0 = transform * (c0, r0)
    x1, y1 = transform * (c1, r1)
    return shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


@pytest.fixture(scope="module")
def rasters(tmp_path_factory) -> dict:
    """Categorical rasters (2 bands, nodata) in EPSG:4547 and EPSG:4326, and their transforms."""
    d = tmp_path_factory.mktemp("rasters")
    gk = from_origin(*GK_ORIGIN, GK_RES, GK_RES)
    ll = from_origin(*LL_ORIGIN, LL_RES, LL_RES)
    return {"gk": _write(d / "landcover_4547.tif", _class_bands(), "EPSG:4547", gk, NODATA), "gk_t": gk,
            "ll": _write(d / "landcover_4326.tif", _class_bands(), "EPSG:4326", ll, NODATA), "ll_t": ll, "dir": d}


def _elements(transform, crs: str, out_crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """Three irregular polygons across the class boundaries and the hole, drawn in ``crs``, returned in ``out_crs``."""
    (x0, y0), (x1, y1) = transform * (0, 0), transform * (SIZE, SIZE)
    w, h = x1 - x0, y1 - y0

    def at(fx: float, fy: float) -> tuple[float, float]:
        return x0 + fx * w, y0 + fy * h

    geoms = [shapely.Point(at(0.43, 0.45)).buffer(0.21 * abs(w), quad_segs=64),
             shapely.Polygon([at(0.05, 0.1), at(0.9, 0.3), at(0.6, 0.93), at(0.2, 0.7)]),
             shapely.Polygon([at(0.5, 0.55), at(0.97, 0.52), at(0.8, 0.98)])]
    if crs == "EPSG:4547":
        geoms = [shapely.segmentize(g, 50.0) for g in geoms]
    else:
        geoms = [shapely.segmentize(g, 0.0005) for g in geoms]
    return gpd.GeoDataFrame({"id": ["round", "quad", "tri"], "role": ["core", "zone", "belt"]},
                            geometry=geoms, crs=crs).to_crs(out_crs)


def _vector_class_areas(elements: gpd.GeoDataFrame, transform, crs: str, regions: dict) -> dict:
    """(id, class) -> m², from polygons alone: each class region minus the hole, intersected, measured."""
    hole = _cell_box(transform, *HOLE)
    elements = elements.to_crs(4326)
    out = {}
    for cls, cells in regions.items():
        region = gpd.GeoSeries([_cell_box(transform, *cells).difference(hole)], crs=crs)
        region = region.segmentize(50.0 if crs == "EPSG:4547" else 0.0005).to_crs(4326).iloc[0]
        for fid, geom in zip(elements["id"], elements.geometry):
            piece = shapely.intersection(geom, region)
            if not piece.is_empty:
                out[(fid, cls)] = float(ellipsoidal_area_m2([piece])[0])
    return out


@pytest.mark.parametrize("which,crs,given", [("gk", "EPSG:4547", "EPSG:4326"), ("ll", "EPSG:4326", "EPSG:4547")])
def test_class_areas_equal_the_vector_computation(rasters, which, crs, given):
    """Elements given in another CRS than the raster's: EPSG:4326 over EPSG:4547 and the other way round."""
    transform = rasters[f"{which}_t"]
    elements = _elements(transform, crs, given)
    with open_raster(rasters[which]) as ds:
        table = zonal_categorical(ds, elements, class_names={1: "耕地", 2: "林地", 3: "建设用地"})
    exact = _vector_class_areas(elements, transform, crs, REGIONS)
    got = {(r.id, r["class"]): r.area_m2 for _, r in table.iterrows()}
    assert set(got) == set(exact)
    for key, m2 in exact.items():
        assert got[key] == pytest.approx(m2, rel=1e-5), key  # the brief asks for 0.5 %; about 3e-7 here
    assert set(table["class_name"]) == {"耕地", "林地", "建设用地"}
    assert table.groupby("id")["share"].sum().to_numpy() == pytest.approx(1.0)
    assert (table["area_km2"] * 1e6).to_numpy() == pytest.approx(table["area_m2"].to_numpy())
    assert (table["area_mu"] * 2000 / 3).to_numpy() == pytest.approx(table["area_m2"].to_numpy())


def test_class_areas_are_much_closer_than_the_cell_centre_rule(rasters):
    """Total class area of each element vs its measured area less the hole: exact weighting within 1e-4."""
    transform = rasters["gk_t"]
    elements = _elements(transform, "EPSG:4547")
    with open_raster(rasters["gk"]) as ds:
        table = zonal_categorical(ds, elements)
    hole = gpd.GeoSeries([_cell_box(transform, *HOLE)], crs=4547).segmentize(50.0).to_crs(4326).iloc[0]
    expected = ellipsoidal_area_m2(elements.geometry.difference(hole).to_numpy())
    totals = table.groupby("id")["area_m2"].sum()
    for fid, m2 in zip(elements["id"], expected):
        assert totals[fid] == pytest.approx(m2, rel=1e-4), fid


def test_second_band_and_nodata(rasters):
    elements = _elements(rasters["gk_t"], "EPSG:4547")
    with open_raster(rasters["gk"], band=2) as ds:
        table = zonal_categorical(ds, elements, band=2)
    exact = _vector_class_areas(elements, rasters["gk_t"], "EPSG:4547", {10: (0, 200, 0, 400), 20: (200, 400, 0, 400)})
    got = {(r.id, r["class"]): r.area_m2 for _, r in table.iterrows()}
    assert set(got) == set(exact) and NODATA not in set(table["class"])
    for key, m2 in exact.items():
        assert got[key] == pytest.approx(m2, rel=5e-4), key


def test_bounded_windows_give_the_same_answer(rasters, monkeypatch):
    """A raster read about 2,500 cells at a time (over 60 windows) gives the same areas."""
    elements = _elements(rasters["ll_t"], "EPSG:4326")
    with open_raster(rasters["ll"]) as ds:
        whole = zonal_categorical(ds, elements)
    seen = []
    read = grid.CellAreas.read_window

    def spy(self, x0, y0, nx, ny):
        seen.append(nx * ny)
        return read(self, x0, y0, nx, ny)

    monkeypatch.setattr(zonal, "WINDOW_CELLS", 2_500)
    monkeypatch.setattr(grid.CellAreas, "read_window", spy)
    with open_raster(rasters["ll"]) as ds:
        windowed = zonal_categorical(ds, elements)
    assert len(seen) > 60 and max(seen) <= 1.25 * 2_500  # exactextract cuts windows of about that size
    pd.testing.assert_frame_equal(windowed, whole, rtol=1e-9)


def test_cell_areas_on_the_ellipsoid_equal_geodesic_rectangles(rasters):
    with open_raster(rasters["ll"]) as ds:
        areas = grid.row_areas_m2(ds, np.array([0, 199, 399]))
    geod = Geod(ellps="GRS80")
    for row, got in zip([0, 199, 399], areas):
        lat0 = LL_ORIGIN[1] - row * LL_RES
        # a band of one cell's height 1° wide: geodesic edges along parallels bend by < 1e-9 of its area
        lons = np.linspace(0, 1, 2001)
        ring_lon = np.r_[lons, lons[::-1]]
        ring_lat = np.r_[np.full(len(lons), lat0), np.full(len(lons), lat0 - LL_RES)]
        band = abs(geod.polygon_area_perimeter(ring_lon, ring_lat)[0])
        assert got == pytest.approx(band * LL_RES, rel=1e-7)


def _linear_dem(path: Path, crs: str, transform, nodata_block: tuple | None = None) -> Path:
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    x, y = transform * (cols + 0.5, rows + 0.5)
    z = 50.0 + 0.02 * (x - x[0, 0]) + 0.01 * (y - y[-1, 0])
    if nodata_block:
        r0, r1, c0, c1 = nodata_block
        z[r0:r1, c0:c1] = -9999.0
    return _write(path, z.astype("float64"), crs, transform, -9999.0)


def _plane(x, y, transform):
    x0, _ = transform * (0.5, 0.5)
    _, y0 = transform * (0.5, SIZE - 0.5)
    return 50.0 + 0.02 * (x - x0) + 0.01 * (y - y0)


def test_linear_dem_mean_is_its_value_at_the_centroid(rasters):
    transform = rasters["gk_t"]
    dem = _linear_dem(rasters["dir"] / "dem_4547.tif", "EPSG:4547", transform)
    elements = _elements(transform, "EPSG:4547")
    with open_raster(dem) as ds:
        table = zonal_continuous(ds, elements).set_index("id")
    local = elements.to_crs(4547)
    for fid, geom in zip(local["id"], local.geometry):
        c = geom.centroid
        assert table.loc[fid, "mean"] == pytest.approx(_plane(c.x, c.y, transform), abs=0.01), fid
        assert table.loc[fid, "count"] == pytest.approx(geom.area / GK_RES ** 2, rel=1e-4)
        assert table.loc[fid, "min"] < table.loc[fid, "p10"] < table.loc[fid, "p50"] < table.loc[fid, "p90"]
        assert table.loc[fid, "p90"] < table.loc[fid, "max"]


def test_continuous_statistics_leave_nodata_out(rasters):
    transform = rasters["gk_t"]
    dem = _linear_dem(rasters["dir"] / "dem_hole.tif", "EPSG:4547", transform, HOLE)
    elements = _elements(transform, "EPSG:4547")
    with open_raster(dem) as ds:
        table = zonal_continuous(ds, elements).set_index("id")
    hole = _cell_box(transform, *HOLE)
    round_ = elements.to_crs(4547).set_index("id").geometry["round"]
    rest = round_.difference(hole)
    assert table.loc["round", "count"] == pytest.approx(rest.area / GK_RES ** 2, rel=1e-4)
    assert table.loc["round", "min"] > 0
    assert table.loc["round", "mean"] == pytest.approx(_plane(rest.centroid.x, rest.centroid.y, transform), abs=0.01)


def test_element_outside_the_raster_has_empty_statistics(rasters):
    far = gpd.GeoDataFrame({"id": ["far"]}, geometry=[shapely.box(100.0, 20.0, 100.01, 20.01)], crs=4326)
    with open_raster(rasters["gk"]) as ds:
        assert zonal_categorical(ds, far).empty
        cont = zonal_continuous(ds, far)
    assert cont["id"].tolist() == ["far"] and cont["mean"].isna().all() and cont["count"].tolist() == [0]


def _points(xy: list[tuple[float, float]], crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [f"p{i}" for i in range(len(xy))]},
                            geometry=gpd.points_from_xy(*zip(*xy)), crs=crs).to_crs(4326)


def test_zonal_cli_writes_class_areas_and_flags_projects(rasters, tmp_path):
    transform = rasters["gk_t"]
    elements = _elements(transform, "EPSG:4547")
    elements.to_file(tmp_path / "elements.geojson")
    cell = lambda r, c: transform * (c + 0.5, r + 0.5)  # noqa: E731
    _points([cell(10, 10), cell(10, 300), cell(300, 300), cell(175, 175), (GK_ORIGIN[0] - 500, GK_ORIGIN[1])],
            "EPSG:4547").to_file(tmp_path / "projects.geojson")
    (tmp_path / "classes.csv").write_text("class,name\n1,耕地\n2,林地\n3,建设用地\n", encoding="gbk")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["zonal", "--raster", str(rasters["gk"]), "--elements",
                                    str(tmp_path / "elements.geojson"), "--categorical", "--classes",
                                    str(tmp_path / "classes.csv"), "--projects", str(tmp_path / "projects.geojson"),
                                    "--flag", "class in 1,2", "--flag", "class>2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.split() == [str(out / "zonal.csv"), str(out / "projects.csv")]
    table = pd.read_csv(out / "zonal.csv", encoding="utf-8-sig")
    assert table.columns.tolist() == ["id", "class", "class_name", "area_m2", "area_km2", "area_mu", "share"]
    exact = _vector_class_areas(elements, transform, "EPSG:4547", REGIONS)
    assert table.set_index(["id", "class"])["area_m2"].sum() == pytest.approx(sum(exact.values()), rel=1e-4)
    proj = pd.read_csv(out / "projects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert proj["id"].tolist() == ["p0", "p1", "p2", "p3", "p4"]
    assert proj["class"].tolist() == ["1", "2", "3", "", ""]  # p3 on the hole, p4 off the raster
    assert proj["class_name"].tolist() == ["耕地", "林地", "建设用地", "", ""]
    assert proj["class in 1,2"].tolist() == ["True", "True", "False", "", ""]
    assert proj["class>2"].tolist() == ["False", "False", "True", "", ""]


def test_zonal_cli_continuous_with_slope_flag(rasters, tmp_path):
    transform = rasters["gk_t"]
    _elements(transform, "EPSG:4547").to_file(tmp_path / "elements.geojson")
    dem = _linear_dem(tmp_path / "dem.tif", "EPSG:4547", transform)
    _points([transform * (5.5, 5.5), transform * (395.5, 395.5)], "EPSG:4547").to_file(tmp_path / "p.geojson")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["zonal", "--raster", str(dem), "--elements", str(tmp_path / "elements.geojson"),
                                    "--projects", str(tmp_path / "p.geojson"), "--name", "elevation",
                                    "--flag", "elevation>100", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out / "zonal.csv", encoding="utf-8-sig").columns.tolist() == zonal.CONTINUOUS_COLUMNS
    proj = pd.read_csv(out / "projects.csv", encoding="utf-8-sig")
    x, y = transform * (np.array([5.5, 395.5]), np.array([5.5, 395.5]))
    assert proj["elevation"].to_numpy() == pytest.approx(_plane(x, y, transform), abs=1e-6)
    assert proj["elevation>100"].tolist() == [bool(v > 100) for v in _plane(x, y, transform)]


@pytest.mark.parametrize("args,message", [
    (["--band", "3"], "no band 3; the raster has 2; fix: pass --band 1 to 2"),
    (["--flag", "value ~ 3"], "'value ~ 3' is not NAME OP NUMBER or NAME in N,N; fix: write --flag like"),
    (["--flag", "value>abc"], "'value>abc': 'abc' is not a number"),
    (["--flag", "slope>25"], "names 'slope', which is not a value here"),
])
def test_zonal_cli_errors_are_one_line_and_exit_2(rasters, tmp_path, args, message):
    _elements(rasters["gk_t"], "EPSG:4547").to_file(tmp_path / "e.geojson")
    _points([(GK_ORIGIN[0] + 100, GK_ORIGIN[1] - 100)], "EPSG:4547").to_file(tmp_path / "p.geojson")
    res = CliRunner().invoke(main, ["zonal", "--raster", str(rasters["gk"]), "--elements", str(tmp_path / "e.geojson"),
                                    "--projects", str(tmp_path / "p.geojson"), "--out", str(tmp_path / "out"), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()


def test_raster_without_crs_and_bad_class_table(rasters, tmp_path):
    bare = _write(tmp_path / "bare.tif", np.ones((10, 10), np.uint8), None, from_origin(0, 10, 1, 1))
    _elements(rasters["gk_t"], "EPSG:4547").to_file(tmp_path / "e.geojson")
    res = CliRunner().invoke(main, ["zonal", "--raster", str(bare), "--elements", str(tmp_path / "e.geojson"),
                                    "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert f"{bare}: CRS: the raster declares no coordinate reference system; fix:" in res.output
    (tmp_path / "c.csv").write_text("code,label\n1,x\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["zonal", "--raster", str(rasters["gk"]), "--elements", str(tmp_path / "e.geojson"),
                                    "--categorical", "--classes", str(tmp_path / "c.csv"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "no column(s) class, name; fix: give --classes a table with columns class,name" in res.output


def test_slope_of_a_plane_in_metres_and_in_degrees(rasters, tmp_path):
    transform = rasters["gk_t"]
    dem = _linear_dem(tmp_path / "dem.tif", "EPSG:4547", transform)
    out = tmp_path / "slope.tif"
    res = CliRunner().invoke(main, ["slope", "--dem", str(dem), "--out", str(out)])
    assert res.exit_code == 0, res.output
    with rasterio.open(out) as s:
        assert (s.crs, s.transform, s.shape) == (rasterio.open(dem).crs, transform, (SIZE, SIZE))
        assert s.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        got = s.read(1)[1:-1, 1:-1]
    assert got == pytest.approx(np.degrees(np.arctan(np.hypot(0.02, 0.01))), abs=1e-4)
    # In degrees: z rises 0.1 m per metre northwards (geodesic distance on GRS80 from the bottom edge).
    ll = rasters["ll_t"]
    lat = LL_ORIGIN[1] - (np.arange(SIZE) + 0.5) * LL_RES
    north = Geod(ellps="GRS80").inv(np.full(SIZE, 115.9), np.full(SIZE, lat[-1]), np.full(SIZE, 115.9), lat)[2]
    z = np.repeat((0.1 * north)[:, None], SIZE, axis=1)
    dem_ll = _write(tmp_path / "dem_ll.tif", z, "EPSG:4326", ll)
    res = CliRunner().invoke(main, ["slope", "--dem", str(dem_ll), "--out", str(tmp_path / "s_ll.tif")])
    assert res.exit_code == 0, res.output
    with rasterio.open(tmp_path / "s_ll.tif") as s:
        assert s.read(1)[1:-1, 1:-1] == pytest.approx(np.degrees(np.arctan(0.1)), abs=1e-3)


def test_rasterize_on_the_template_grid_exactly(rasters, tmp_path):
    odd = rasterio.Affine(25.0, 0.0, 494_010.5, 0.0, -25.0, 3_169_990.25)
    template = _write(tmp_path / "landuse.tif", np.ones((333, 401), np.uint8), "EPSG:4547", odd)
    elements = _elements(rasters["gk_t"], "EPSG:4547")
    elements.to_file(tmp_path / "e.geojson")
    red = gpd.GeoDataFrame({"id": ["r1"]}, geometry=[shapely.box(*(odd * (50, 100)), *(odd * (100, 50)))],
                           crs=4547).to_crs(4326)
    red.to_file(tmp_path / "red.geojson")
    out = tmp_path / "model" / "layout.tif"
    res = CliRunner().invoke(main, ["rasterize", "--elements", str(tmp_path / "e.geojson"), "--redlines",
                                    str(tmp_path / "red.geojson"), "--template", str(template), "--out", str(out)])
    assert res.exit_code == 0, res.output
    with rasterio.open(template) as t, rasterio.open(out) as r:
        assert (r.crs, r.transform, r.width, r.height) == (t.crs, t.transform, t.width, t.height)
        assert r.compression.value == "DEFLATE" and r.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        codes = r.read(1)
        assert r.colormap(1)[2][:3] == (227, 26, 28)  # core's fill, #e31a1c
    lookup = pd.read_csv(out.with_suffix(".csv"), encoding="utf-8-sig")
    assert lookup[["code", "value", "label"]].values.tolist() == [[1, "belt", "发展带"], [2, "core", "核心"],
                                                                 [3, "zone", "功能片区"]]
    assert lookup["cells"].tolist() == [int((codes == c).sum()) for c in (1, 2, 3)]
    # Each cell carries the smallest element covering its centre.
    local = elements.to_crs(4547)
    rows, cols = np.mgrid[0:333, 0:401]
    x, y = odd * (cols.ravel() + 0.5, rows.ravel() + 0.5)
    pts = shapely.points(x, y)
    expected = np.zeros(len(pts), np.uint16)
    for geom, role in sorted(zip(local.geometry, local["role"]), key=lambda p: -p[0].area):
        expected[shapely.contains_xy(geom, x, y)] = {"belt": 1, "core": 2, "zone": 3}[role]
    assert (codes.ravel() != expected).sum() <= 0.001 * len(pts)  # edges through centres, after reprojection
    with rasterio.open(out.with_name("layout_restriction.tif")) as r:
        restriction = r.read(1)
        assert r.transform == odd
    assert set(np.unique(restriction)) == {0, 1}
    assert (restriction[50:100, 50:100] == 0).all() and (restriction == 0).sum() == 2500
    rat = json.loads(subprocess.run([SYSTEM_PYTHON, "-c", RAT_READER, str(out)], capture_output=True, text=True,
                                    check=True).stdout)
    assert rat == [[1, "发展带", int((codes == 1).sum())], [2, "核心", int((codes == 2).sum())],
                   [3, "功能片区", int((codes == 3).sum())]]
    assert 'paletteEntry value="2" color="#e31a1c" label="核心"' in out.with_suffix(".qml").read_text(encoding="utf-8")


#: Debian's GDAL (the system Python's osgeo) reads the raster attribute table: an independent reader.
RAT_READER = """
import json, sys
from osgeo import gdal
ds = gdal.Open(sys.argv[1])  # kept: the band and table die with it
rat = ds.GetRasterBand(1).GetDefaultRAT()
cols = {rat.GetNameOfCol(i): i for i in range(rat.GetColumnCount())}
print(json.dumps([[rat.GetValueAsInt(r, cols["Value"]), rat.GetValueAsString(r, cols["Name"]),
                   rat.GetValueAsInt(r, cols["Count"])] for r in range(rat.GetRowCount())]))
"""


def test_rasterize_rejects_a_missing_field(rasters, tmp_path):
    elements = _elements(rasters["gk_t"], "EPSG:4547").drop(columns="role")
    elements.to_file(tmp_path / "e.geojson")
    res = CliRunner().invoke(main, ["rasterize", "--elements", str(tmp_path / "e.geojson"), "--template",
                                    str(rasters["gk"]), "--out", str(tmp_path / "o.tif")])
    assert res.exit_code == 2
    assert "field role: no such field; fix: pass --field with one of: id" in res.output
    assert not (tmp_path / "o.tif").exists()


def _qgis_zonal(python: str, raster: Path, polygons: Path, *extra: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([python, str(QGIS_ZONAL), str(raster), str(polygons), *extra], capture_output=True,
                         text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_qgis_zonal_statistics_agree_and_the_centre_rule_is_further_off(rasters, tmp_path, qgis_python):
    """QGIS 3.22's Zonal statistics and Zonal histogram (cell-centre rule) on the same rasters and polygons (EPSG:4326)."""
    transform = rasters["gk_t"]
    elements = _elements(transform, "EPSG:4547")
    elements.to_file(tmp_path / "e.geojson")
    dem = _linear_dem(tmp_path / "dem.tif", "EPSG:4547", transform)
    qgis = _qgis_zonal(qgis_python, dem, tmp_path / "e.geojson")
    with open_raster(dem) as ds:
        ours = zonal_continuous(ds, elements).set_index("id")
    local = elements.to_crs(4547).set_index("id").geometry
    for fid, q in qgis.items():
        exact = _plane(local[fid].centroid.x, local[fid].centroid.y, transform)
        assert ours.loc[fid, "mean"] == pytest.approx(q["mean"], abs=0.05), fid
        assert abs(ours.loc[fid, "mean"] - exact) <= max(abs(q["mean"] - exact), 0.005), fid
        assert ours.loc[fid, "count"] == pytest.approx(q["count"], rel=0.01), fid
        assert ours.loc[fid, "min"] <= q["min"] and ours.loc[fid, "max"] >= q["max"]
    lc = _write(tmp_path / "lc.tif", _class_bands()[:1], "EPSG:4547", transform, NODATA)
    qgis = _qgis_zonal(qgis_python, lc, tmp_path / "e.geojson", "--histogram")
    with open_raster(lc) as ds:
        table = zonal_categorical(ds, elements)
    exact = _vector_class_areas(elements, transform, "EPSG:4547", REGIONS)
    ours = {(r.id, r["class"]): r.area_m2 for _, r in table.iterrows()}
    centre = {(fid, int(c)): n * GK_RES ** 2 for fid, q in qgis.items() for c, n in q["hist"].items()
              if c != "NODATA" and n}
    assert set(centre) == set(ours) == set(exact)
    for key, m2 in exact.items():
        assert centre[key] == pytest.approx(ours[key], rel=0.02), key
    err_ours = sum(abs(ours[k] - m2) for k, m2 in exact.items())
    err_centre = sum(abs(centre[k] - m2) for k, m2 in exact.items())
    assert err_ours < err_centre / 10


def test_build_adds_land_cover_shares_and_project_slope(synth: Path, tmp_path: Path):
    """Land cover in EPSG:4326 (class 1 west of 115°E, 2 east, a nodata strip), a plane DEM in EPSG:4547."""
    ll = from_origin(114.7, 26.2, 0.001, 0.001)
    cols = np.arange(600)
    lc = np.where(114.7 + (cols + 0.5) * 0.001 < 115.0, 1, 2).astype(np.uint8)[None, :].repeat(450, axis=0)
    lc[:, 449:451] = NODATA  # 115.149-115.151°E
    landcover = _write(tmp_path / "lc.tif", lc, "EPSG:4326", ll, NODATA)
    (tmp_path / "classes.csv").write_text("class,name\n1,耕地\n2,林地\n", encoding="utf-8")
    gk = from_origin(570_000, 2_900_000, 100, 100)
    rows, cols = np.mgrid[0:600, 0:600]
    x, y = gk * (cols + 0.5, rows + 0.5)
    dem = _write(tmp_path / "dem.tif", (100 + 0.3 * (x - 570_000) + 0.4 * (y - 2_840_000)).astype("float32"),
                 "EPSG:4547", gk)
    (tmp_path / "p.csv").write_text("id,name,category,lon,lat\nA,甲,工业,115.0,26.0\nB,乙,工业,115.1,25.95\n",
                                    encoding="utf-8")
    res = CliRunner().invoke(main, ["build", "--data", str(synth / "data"), "--seeds", str(synth / "seeds"),
                                    "--layers", str(synth / "layers"), "--maps", str(synth / "maps"),
                                    "--projects", str(tmp_path / "p.csv"), "--projects-crs", "wgs84",
                                    "--raster", str(landcover), "--classes", str(tmp_path / "classes.csv"),
                                    "--dem", str(dem)])
    assert res.exit_code == 0, res.output
    out = synth / "layers" / "999901"
    elements = gpd.read_file(out / "elements.geojson").set_index("id")
    stats = pd.read_csv(out / "elements.csv", encoding="utf-8-sig").set_index("id")
    west = shapely.box(114.7, 25.75, 115.0, 26.2)
    strip = shapely.box(115.149, 25.75, 115.151, 26.2)
    for fid, geom in elements.geometry.items():
        valid = geom.difference(strip)
        share_west = ellipsoidal_area_m2([valid.intersection(west)])[0] / ellipsoidal_area_m2([valid])[0]
        assert stats.loc[fid, "landcover_1_share"] == pytest.approx(share_west, abs=1e-4), fid
        assert stats.loc[fid, "landcover_1_share"] + stats.loc[fid, "landcover_2_share"] == pytest.approx(1, abs=1e-6)
    long = pd.read_csv(out / "landcover.csv", encoding="utf-8-sig")
    assert long.columns.tolist() == ["id", "class", "class_name", "colour", "area_km2", "share"]
    assert set(long["class_name"]) == {"耕地", "林地"}
    projects = pd.read_csv(out / "projects.csv", encoding="utf-8-sig").set_index("id")
    assert projects["slope_deg"].to_numpy() == pytest.approx(np.degrees(np.arctan(0.5)), abs=1e-3)
    pts = gpd.GeoSeries(gpd.points_from_xy([115.0, 115.1], [26.0, 25.95]), crs=4326).to_crs(4547)
    r, c = rasterio.transform.rowcol(gk, pts.x, pts.y)
    cx, cy = gk * (np.asarray(c) + 0.5, np.asarray(r) + 0.5)  # the centre of the cell each project is in
    assert projects["elevation_m"].to_numpy() == pytest.approx(100 + 0.3 * (cx - 570_000) + 0.4 * (cy - 2_840_000))
    html = (synth / "maps" / "999901.html").read_text(encoding="utf-8")
    assert "土地覆盖" in html and "耕地" in html and "坡度" in html


def test_elements_that_cannot_be_reprojected_are_an_input_error(rasters):
    """Metres labelled as degrees (a wrong .prj): no finite place in the raster's CRS."""
    wrong = gpd.GeoDataFrame({"id": ["gk-as-degrees"]}, geometry=[shapely.box(494_100, 3_169_000, 495_000, 3_169_900)],
                             crs=4326)
    with open_raster(rasters["gk"]) as ds, pytest.raises(InputError) as err:
        zonal_categorical(ds, wrong)
    assert str(err.value) == ("--elements: element gk-as-degrees: cannot be placed in the raster's CRS (EPSG:4547); "
                              "fix: check the elements' CRS, or give --raster a raster that covers them")


def test_flag_without_projects_and_the_python_api(rasters, tmp_path):
    import spatial

    _elements(rasters["gk_t"], "EPSG:4547").to_file(tmp_path / "e.geojson")
    res = CliRunner().invoke(main, ["zonal", "--raster", str(rasters["gk"]), "--elements", str(tmp_path / "e.geojson"),
                                    "--flag", "value>1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert res.output == "error: --flag: given without --projects; fix: add --projects FILE, the sites the flags are about\n"
    with spatial.open_raster(rasters["gk"]) as ds:
        table = spatial.zonal_categorical(ds, gpd.read_file(tmp_path / "e.geojson"))
    assert sorted(set(table["id"])) == ["quad", "round", "tri"]
