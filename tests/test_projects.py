"""Projects: locating the plans' projects, reading users' files, the join with the elements."""

from __future__ import annotations

import math
import zipfile

import fiona
import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer

from spatial.crs import gcj02_to_bd09, wgs84_to_gcj02
from spatial.errors import InputError
from spatial.io.report import write_csv, write_xlsx
from spatial.io.tables import read_table
from spatial.projects import join_projects, locate_projects, project_table, read_user_projects

ADCODE = "360000"
SRC = "data/projects/360000.csv"


# --- independent reference formulas (published WGS84 -> GCJ-02 -> BD-09 forward transform) ---
def ref_wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    t_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    t_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    t_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    t_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    t_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    t_lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    t_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    t_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    d_lat = (t_lat * 180.0) / ((a * (1 - ee)) / (magic * sq) * math.pi)
    d_lon = (t_lon * 180.0) / (a / sq * math.cos(rad) * math.pi)
    return lon + d_lon, lat + d_lat


def ref_gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    x_pi = math.pi * 3000.0 / 180.0
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * x_pi)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * x_pi)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def places() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "name": ["梅林镇", "赣州港", "洪都老厂区"],
        "aliases": ["梅林|梅林街道", "", ""],
        "level": ["township", "place", "place"],
        "kind": ["town", "port", "industrial"],
        "precision_m": [3000.0, 300.0, 500.0],
    }, geometry=[shapely.Point(115.01, 26.01), shapely.Point(115.04, 26.04), shapely.Point(115.02, 26.03)], crs=4326)


@pytest.fixture
def features() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": ["gongjiang", "tongtianyan"], "name": ["贡江", "通天岩"], "kind": ["river", "scenic"],
        "precision_m": [200.0, 100.0],
    }, geometry=[shapely.LineString([(115.0, 26.0), (115.02, 26.0), (115.02, 26.04)]),
                 shapely.Polygon([(115.05, 26.05), (115.07, 26.05), (115.07, 26.06), (115.05, 26.06)])], crs=4326)


def project_rows(*rows: tuple) -> pd.DataFrame:
    cols = ["id", "name", "category", "anchor", "lon", "lat", "crs", "precision_m", "offset"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols).fillna("")


@pytest.fixture
def elements() -> gpd.GeoDataFrame:
    """A: industrial zone; B: ecological belt of another structure overlapping A's west edge."""
    return gpd.GeoDataFrame({
        "id": ["360000-layout-zone-a", "360000-eco-belt-b"],
        "name": ["工业片区", "生态绿带"],
        "structure_id": ["layout", "eco"],
        "role": ["zone", "belt"],
        "categories": ["工业、物流", "生态、文旅"],
    }, geometry=[shapely.box(115.00, 26.00, 115.05, 26.05), shapely.box(114.96, 26.01, 115.02, 26.03)], crs=4326)


@pytest.fixture
def boundary() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["示例区"]}, geometry=[shapely.box(114.90, 25.95, 115.15, 26.10)], crs=4326)


# --- locate_projects --------------------------------------------------------------------------
def test_locate_by_anchor_alias_feature_and_coordinates(places, features):
    glon, glat = ref_wgs84_to_gcj02(115.03, 26.02)
    rows = project_rows(
        ("360000-p001", "梅林物流园", "物流", "梅林镇", "", "", "", "", "10"),
        ("360000-p002", "梅林安置房", "住房更新", "梅林街道", "", "", "", "5000", "20"),
        ("360000-p003", "贡江治理", "水利", "feature:gongjiang", "", "", "", "", "30"),
        ("360000-p004", "通天岩景区", "文旅", "feature:tongtianyan", "", "", "", "50", "40"),
        ("360000-p005", "某医院", "医疗", "", f"{glon:.8f}", f"{glat:.8f}", "gcj02", "100", "50"),
    )
    out = locate_projects(rows, places=places, features=features, adcode=ADCODE, source=SRC)
    assert list(out["id"]) == [f"360000-p00{i}" for i in range(1, 6)]
    by = out.set_index("id")
    # same anchor (name and alias): same point, distinct ids
    assert by.geometry["360000-p001"].equals(shapely.Point(115.01, 26.01))
    assert by.geometry["360000-p002"].equals(shapely.Point(115.01, 26.01))
    assert by.loc["360000-p001", "precision_m"] == 3000.0          # anchor's
    assert by.loc["360000-p002", "precision_m"] == 5000.0          # row's, larger
    assert by.loc["360000-p002", "basis"] == "gazetteer 梅林镇"
    # line: the middle along its length (0.02 + 0.04 long -> 0.03 from the start)
    mid = by.geometry["360000-p003"]
    assert mid.x == pytest.approx(115.02) and mid.y == pytest.approx(26.01)
    assert by.loc["360000-p003", "precision_m"] == 200.0
    assert shapely.Polygon([(115.05, 26.05), (115.07, 26.05), (115.07, 26.06), (115.05, 26.06)]).contains(
        by.geometry["360000-p004"])
    assert by.loc["360000-p004", "precision_m"] == 100.0
    pt = by.geometry["360000-p005"]
    assert abs(pt.x - 115.03) < 1e-7 and abs(pt.y - 26.02) < 1e-7
    assert by.loc["360000-p005", "basis"] == "coordinates (gcj02)"
    assert set(out["origin"]) == {"plan"} and out.crs.to_epsg() == 4326


def test_locate_reports_every_problem_once(places, features):
    rows = project_rows(
        ("360000-p001", "甲", "工业", "梅林镇", "", "", "", "", "1"),
        ("360000-p002", "乙", "工业", "梅林真", "", "", "", "", "2"),
        ("360000-p003", "丙", "交通运输", "赣州港", "", "", "", "", "3"),
        ("360000-p001", "丁", "工业", "赣州港", "", "", "", "", "4"),
        ("360000-p005", "戊", "工业", "", "", "", "", "", "5"),
        ("360000-p006", "己", "工业", "feature:nope", "", "", "", "", "6"),
        ("360000-p007", "庚", "工业", "", "26.02", "115.03", "wgs84", "100", "7"),
    )
    with pytest.raises(InputError) as exc:
        locate_projects(rows, places=places, features=features, adcode=ADCODE, source=SRC)
    lines = str(exc.value).splitlines()
    assert lines == [
        f"{SRC}: row 3, anchor: unknown anchor '梅林真'; fix: write a name or alias of "
        "data/gazetteer/360000.csv (did you mean 梅林镇?), or add the place there",
        f"{SRC}: row 4, category: unknown category '交通运输'; fix: write 交通",
        f"{SRC}: row 5, id: id '360000-p001' already used in row 2; fix: give every project its own id",
        f"{SRC}: row 6, anchor: location missing: no anchor and no lon/lat; fix: give an anchor "
        "(a gazetteer name or feature:<id>) or lon, lat and crs",
        f"{SRC}: row 7, anchor: unknown feature 'nope'; fix: use a feature id of data/features/360000.geojson",
        f"{SRC}: row 8, lon/lat: lon=26.02, lat=115.03: swapped? (a latitude in the lon column); "
        "fix: swap the two values: in China lon is 73..135 and lat 18..54",
    ]


# --- the join ---------------------------------------------------------------------------------
def test_join_hand_worked_cases(elements):
    projects = gpd.GeoDataFrame({
        "id": ["p-in-a", "p-in-both", "p-outside"],
        "name": ["仓储中心", "化工厂", "游客中心"],
        "category": ["物流", "工业", "文旅"],
    }, geometry=[shapely.Point(115.04, 26.04), shapely.Point(115.01, 26.02), shapely.Point(115.08, 26.02)], crs=4326)
    out, per_element = join_projects(projects, elements)
    by = out.set_index("id")
    assert by.loc["p-in-a", "element_ids"] == "360000-layout-zone-a"
    assert by.loc["p-in-a", "fit"] == "fits"
    assert by.loc["p-in-a", "nearest_element_id"] == "" and np.isnan(by.loc["p-in-a", "nearest_distance_m"])
    # two overlapping elements of different structures: both, sorted by id
    assert by.loc["p-in-both", "element_ids"] == "360000-eco-belt-b,360000-layout-zone-a"
    assert by.loc["p-in-both", "element_names"] == "生态绿带、工业片区"
    # industrial project inside the ecological belt: conflict, the reason names both sides
    assert by.loc["p-in-both", "fit"] == "conflict"
    assert by.loc["p-in-both", "fit_reason"].startswith(
        "工业类项目位于「生态绿带」，与其功能类别（生态、文旅）冲突：生态功能要素不宜布局工业、物流、能源设施")
    assert "conflict: a 工业 project in 生态绿带 (生态、文旅)" in by.loc["p-in-both", "fit_reason_en"]
    # outside all: nearest is zone A, the nearest point on its east edge at the same latitude
    assert by.loc["p-outside", "element_ids"] == ""
    assert by.loc["p-outside", "nearest_element_id"] == "360000-layout-zone-a"
    _, _, expected = Geod(ellps="GRS80").inv(115.08, 26.02, 115.05, 26.02)
    assert by.loc["p-outside", "nearest_distance_m"] == pytest.approx(expected, rel=0.01)
    assert by.loc["p-outside", "fit"] == "neutral"
    pe = per_element.set_index("element_id")
    assert pe.loc["360000-layout-zone-a", "projects"] == 2
    assert pe.loc["360000-layout-zone-a", "project_ids"] == "p-in-a,p-in-both"
    assert pe.loc["360000-layout-zone-a", "工业"] == 1 and pe.loc["360000-layout-zone-a", "物流"] == 1
    assert pe.loc["360000-layout-zone-a", "conflicts"] == 0
    assert pe.loc["360000-eco-belt-b", "conflicts"] == 1
    assert pe.loc["360000-eco-belt-b", "conflict_ids"] == "p-in-both"
    table = project_table(out)
    assert list(table["id"]) == ["p-in-a", "p-in-both", "p-outside"]
    assert table.loc[2, "lon"] == 115.08 and "geometry" not in table.columns


@pytest.mark.parametrize("category, categories, fit", [
    ("住房更新", "生态", "conflict"),
    ("住房更新", "生态、文旅", "neutral"),
    ("能源", "生态、水利", "conflict"),
    ("工业", "生态、工业", "fits"),
    ("物流", "生态、工业", "neutral"),
    ("工业", "农业、文旅", "conflict"),
    ("工业", "农业、科创", "neutral"),
    ("商贸", "生态", "neutral"),
])
def test_fit_table(category, categories, fit):
    elements = gpd.GeoDataFrame({"id": ["e"], "name": ["要素"], "structure_id": ["s"], "role": ["zone"],
                                 "categories": [categories]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    projects = gpd.GeoDataFrame({"id": ["p"], "name": ["项目"], "category": [category]},
                                geometry=[shapely.Point(0.5, 0.5)], crs=4326)
    out, _ = join_projects(projects, elements)
    assert out.loc[0, "fit"] == fit


# --- users' files -----------------------------------------------------------------------------
USER_CSV = """编号,项目名称,类别,经度,纬度
U1,物流基地,交通运输,115.01,26.02
U2,空坐标,工业,,26.02
U3,颠倒,工业,26.02,115.01
U4,界外,工业,115.50,26.02
U5,不明类别,杂项,115.02,26.02
U1,重号,文旅,115.03,26.02
U7,景区,旅游,115.04,26.04
"""


def expected_user_problems(file: str) -> list[str]:
    return [
        f"{file}: row 3, 经度/纬度: coordinates missing (经度='', 纬度='26.02'); fix: fill in both 经度 and 纬度 "
        "(decimal degrees), or delete the row",
        f"{file}: row 4, 经度/纬度: 经度=26.02, 纬度=115.01: swapped? (a latitude in the 经度 column); "
        "fix: swap the two values: in China 经度 is 73..135 and 纬度 18..54",
        f"{file}: row 5: point (115.500000, 26.020000) lies outside the district boundary (示例区), 35.0 km from it; "
        "fix: check the coordinates and their coordinate system (--projects-crs wgs84|gcj02|bd09), or remove the row",
        f"{file}: row 6, 类别: unknown category '杂项'; fix: use one of "
        "工业、科创、交通、物流、商贸、文旅、生态、水利、能源、公共服务、教育、医疗、住房更新、农业、other",
        f"{file}: row 7, 编号: id 'U1' already used in row 2; fix: give every project its own id",
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_user_csv_bad_rows_reported_good_rows_kept(tmp_path, boundary, encoding):
    path = tmp_path / "用户项目.csv"
    path.write_bytes(USER_CSV.encode(encoding))
    assert read_table(path).attrs["encoding"] == {"gbk": "gb18030"}.get(encoding, encoding)
    out, problems = read_user_projects(path, crs="wgs84", boundary=boundary)
    assert [str(p) for p in problems] == expected_user_problems(str(path))
    _, _, km = Geod(ellps="GRS80").inv(115.50, 26.02, 115.15, 26.02)
    assert round(km / 1000, 1) == 35.0                           # the distance in the message
    assert list(out["id"]) == ["U1", "U7"]
    assert list(out["category"]) == ["交通", "文旅"]          # synonyms mapped
    assert list(out["name"]) == ["物流基地", "景区"]
    assert list(out["source_row"]) == [2, 8]
    assert out.geometry.iloc[0].equals(shapely.Point(115.01, 26.02))


def test_user_strict_raises_listing_all(tmp_path, boundary):
    path = tmp_path / "p.csv"
    path.write_text(USER_CSV, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_user_projects(path, crs="wgs84", boundary=boundary, strict=True)
    assert str(exc.value).splitlines() == expected_user_problems(str(path))


def test_user_file_needs_a_stated_crs_and_lonlat_columns(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,category,lon,lat\nA,工业,115.0,26.0\n", encoding="utf-8")
    with pytest.raises(InputError, match="the coordinate system of lon/lat is not stated; fix: pass --projects-crs"):
        read_user_projects(path)
    path.write_text("id,category,east,north\nA,工业,115.0,26.0\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"header: no lon column .*columns: id, category, east, north\)"):
        read_user_projects(path, crs="wgs84")
    out, problems = read_user_projects(path, crs="wgs84", lon_field="east", lat_field="north")
    assert problems == [] and out.geometry.iloc[0].equals(shapely.Point(115.0, 26.0))


def test_gcj02_and_bd09_against_known_pairs(tmp_path):
    wgs = (116.397128, 39.916527)
    gcj = ref_wgs84_to_gcj02(*wgs)
    assert gcj == pytest.approx((116.403370, 39.917930), abs=2e-5)   # the published pair
    import cnmaps.geo

    assert cnmaps.geo.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-6)
    ours = wgs84_to_gcj02(*wgs)
    assert float(ours[0]) == pytest.approx(gcj[0], abs=1e-9) and float(ours[1]) == pytest.approx(gcj[1], abs=1e-9)
    bd = ref_gcj02_to_bd09(*gcj)
    assert tuple(map(float, gcj02_to_bd09(*gcj))) == pytest.approx(bd, abs=1e-9)
    path = tmp_path / "p.csv"
    path.write_text("id,category,lng,lat,坐标系\n"
                    f"A,工业,{gcj[0]!r},{gcj[1]!r},GCJ-02\n"
                    f"B,工业,{bd[0]!r},{bd[1]!r},百度\n"
                    f"C,工业,{wgs[0]!r},{wgs[1]!r},\n"
                    f"D,工业,{wgs[0]!r},{wgs[1]!r},西安80\n", encoding="utf-8")
    out, problems = read_user_projects(path, crs="wgs84")
    assert [str(p) for p in problems] == [
        f"{path}: row 5, 坐标系: unknown coordinate system '西安80'; fix: write one of wgs84, gcj02, bd09"]
    assert list(out["source_crs"]) == ["gcj02", "bd09", "wgs84"]
    for g in out.geometry:
        assert abs(g.x - wgs[0]) < 1e-6 and abs(g.y - wgs[1]) < 1e-6


def test_user_xlsx(tmp_path, boundary):
    path = tmp_path / "projects.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["ID", "Name", "Category", "Longitude", "Latitude"])
    ws.append([101, "数据中心", "科技", 115.02, 26.03])
    ws.append([102, "无类别", None, 115.03, 26.03])
    ws.append([None, None, None, None, None])
    ws.append([104, "学校", "教育类", "115.04", "26.04"])
    wb.save(path)
    out, problems = read_user_projects(path, crs="gcj02", boundary=boundary)
    assert [str(p) for p in problems] == [
        f"{path}: row 3, Category: category missing; fix: write one of "
        "工业、科创、交通、物流、商贸、文旅、生态、水利、能源、公共服务、教育、医疗、住房更新、农业、other"]
    assert list(out["id"]) == ["101", "104"] and list(out["source_row"]) == [2, 5]
    assert list(out["category"]) == ["科创", "教育"]
    back = wgs84_to_gcj02(out.geometry.x.to_numpy(), out.geometry.y.to_numpy())
    assert np.allclose(back[0], [115.02, 115.04], atol=1e-8) and np.allclose(back[1], [26.03, 26.04], atol=1e-8)


def _gk_box(t: Transformer, x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A Gauss-Kruger rectangle as a WGS84 polygon (edges densified to 10 m)."""
    box = shapely.segmentize(shapely.box(x0, y0, x1, y1), 10)
    return shapely.transform(box, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


def test_parcels_gauss_kruger_gbk_shapefile_joined_by_share(tmp_path, boundary):
    to_wgs = Transformer.from_crs(4547, 4326, always_xy=True)
    x0, y0 = (round(v, -3) for v in Transformer.from_crs(4326, 4547, always_xy=True).transform(115.02, 26.02))
    # two adjacent 1 km x 1 km GK elements: E1 west, E2 east
    elements = gpd.GeoDataFrame({
        "id": ["360000-s-e1", "360000-s-e2"], "name": ["工业园", "湿地公园"], "structure_id": ["s", "s"],
        "role": ["zone", "zone"], "categories": ["工业", "生态"],
    }, geometry=[_gk_box(to_wgs, x0, y0, x0 + 1000, y0 + 1000), _gk_box(to_wgs, x0 + 1000, y0, x0 + 2000, y0 + 1000)],
        crs=4326)
    parcels = [  # (id, name, category, GK box) and the planar shares worked by hand
        ("P1", "厂房一期", "工业", (x0 + 300, y0 + 100, x0 + 1300, y0 + 200)),    # 70 % E1, 30 % E2
        ("P2", "仓库", "物流", (x0 + 600, y0 + 900, x0 + 1600, y0 + 1100)),     # 20 % E1, 30 % E2, 50 % out
        ("P3", "化工园", "工业", (x0 + 1200, y0 + 400, x0 + 1800, y0 + 600)),    # 100 % E2
    ]
    shp = tmp_path / "地块.shp"
    schema = {"geometry": "Polygon", "properties": {"编号": "str:10", "项目名称": "str:40", "类别": "str:20"}}
    with fiona.open(shp, "w", driver="ESRI Shapefile", crs="EPSG:4547", schema=schema, encoding="gbk") as dst:
        for pid, name, cat, b in parcels:
            dst.write({"geometry": shapely.geometry.mapping(shapely.box(*b)),
                       "properties": {"编号": pid, "项目名称": name, "类别": cat}})
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    dbf = shp.with_suffix(".dbf").read_bytes()
    assert "化工园".encode("gbk") in dbf and "化工园".encode("utf-8") not in dbf
    out, problems = read_user_projects(shp, boundary=boundary)
    assert problems == []
    assert list(out["name"]) == ["厂房一期", "仓库", "化工园"]
    joined, per_element = join_projects(out, elements)
    by = joined.set_index("id")
    assert by.loc["P1", "element_ids"] == "360000-s-e1" and float(by.loc["P1", "share"]) == pytest.approx(0.7, abs=2e-3)
    assert by.loc["P2", "element_ids"] == "360000-s-e2" and float(by.loc["P2", "share"]) == pytest.approx(0.3, abs=2e-3)
    assert by.loc["P3", "element_ids"] == "360000-s-e2" and float(by.loc["P3", "share"]) == pytest.approx(1.0, abs=2e-3)
    assert by.loc["P1", "fit"] == "fits" and by.loc["P2", "fit"] == "conflict" and by.loc["P3", "fit"] == "conflict"
    assert per_element.set_index("element_id").loc["360000-s-e2", "conflict_ids"] == "P2,P3"
    # a lower threshold gives P1 to both elements
    joined, _ = join_projects(out, elements, share_threshold=0.25)
    assert joined.set_index("id").loc["P1", "element_ids"] == "360000-s-e1,360000-s-e2"


# --- writing ----------------------------------------------------------------------------------
def test_project_tables_csv_bom_and_reproducible_xlsx(tmp_path, elements):
    projects = gpd.GeoDataFrame({"id": ["p1"], "name": ["化工厂"], "category": ["工业"]},
                                geometry=[shapely.Point(115.01, 26.02)], crs=4326)
    joined, per_element = join_projects(projects, elements)
    table = project_table(joined)
    csv_path = write_csv(tmp_path / "projects.csv", table)
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "化工厂".encode() in raw
    back = read_table(csv_path)
    assert back.loc[2, "element_ids"] == "360000-eco-belt-b,360000-layout-zone-a"
    xlsx = write_xlsx(tmp_path / "projects.xlsx", {"projects": table, "elements": per_element})
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["projects", "elements"]
    assert wb["elements"].cell(1, 1).value == "element_id" and wb["elements"].max_row == 3
    again = write_xlsx(tmp_path / "again.xlsx", {"projects": table, "elements": per_element})
    assert again.read_bytes() == xlsx.read_bytes()
    assert zipfile.ZipFile(xlsx).testzip() is None


def test_user_geojson_in_gcj02_with_a_line_feature(tmp_path):
    wgs = [(115.01, 26.02), (115.03, 26.04)]
    gcj = [ref_wgs84_to_gcj02(*p) for p in wgs]
    gdf = gpd.GeoDataFrame({"id": ["A", "B", "C"], "类型": ["工业", "文旅", "交通"]},
                           geometry=[shapely.Point(gcj[0]), shapely.Point(gcj[1]),
                                     shapely.LineString([gcj[0], gcj[1]])], crs=4326)
    path = tmp_path / "points.geojson"
    gdf.to_file(path, driver="GeoJSON")
    out, problems = read_user_projects(path, crs="GCJ-02")
    assert [str(p) for p in problems] == [
        f"{path}: feature 3: LineString geometry; fix: give projects as points or parcels (polygons)"]
    assert list(out["id"]) == ["A", "B"] and list(out["source_crs"]) == ["gcj02", "gcj02"]
    for g, (x, y) in zip(out.geometry, wgs):
        assert abs(g.x - x) < 1e-7 and abs(g.y - y) < 1e-7
