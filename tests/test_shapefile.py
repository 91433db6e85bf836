"""Shapefile delivery: planned ten-character field names, text cut at a character boundary."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from spatial.io.shapefile import cut_utf8, plan_field_names, write_shapefiles
from spatial.layers import ELEMENT_COLUMNS


def test_field_names_are_planned_unique_and_short():
    names = plan_field_names(ELEMENT_COLUMNS)
    assert names["structure_id"] == "stru_id" and names["structure_name"] == "stru_nm"
    assert names["defined_in_text"] == "def_in_txt" and names["precision_m"] == "prec_m"
    assert names["name"] == "name" and names["role"] == "role" and names["area_km2"] == "area_km2"
    assert all(len(v) <= 10 for v in names.values())
    assert len({v.lower() for v in names.values()}) == len(ELEMENT_COLUMNS)


def test_colliding_names_get_a_digit():
    assert plan_field_names(["abcdefghijk", "abcdefghijz", "ABCDEFGHIJ"]) == {
        "abcdefghijk": "abcdefghij", "abcdefghijz": "abcdefghi1", "ABCDEFGHIJ": "ABCDEFGHI2"}


def test_text_is_cut_at_a_character_boundary():
    text = "a" + "赣" * 100  # 1 + 300 bytes: 254 bytes would end inside the 85th 赣
    cut = cut_utf8(text)
    assert cut == "a" + "赣" * 84 and len(cut.encode("utf-8")) == 253
    assert cut_utf8("短") == "短"


def test_shapefiles_keep_utf8_text_and_a_field_table(tmp_path):
    long = "项目说明" * 80  # 960 bytes
    gdf = gpd.GeoDataFrame({"id": ["a", "b"], "structure_id": ["s1", None], "fit_reason": [long, "短"],
                            "in_redline": [True, False]}, geometry=[shapely.Point(115, 28)] * 2, crs=4326)
    written = write_shapefiles(tmp_path, {"projects": gdf, "empty": gdf.iloc[:0]})
    assert sorted(p.name for p in written) == sorted(
        ["projects.shp", "projects.shx", "projects.dbf", "projects.prj", "projects.cpg", "projects.qml",
         "fields.csv", "fields.csvt"])
    assert (tmp_path / "projects.cpg").read_text() == "UTF-8"
    back = pyogrio.read_dataframe(tmp_path / "projects.shp")
    assert back.crs.to_epsg() == 4490 and list(back.columns) == ["id", "stru_id", "fit_reason", "in_redline",
                                                                 "geometry"]
    assert back["fit_reason"].tolist() == [long[:84], "短"] and back["stru_id"].isna().tolist() == [False, True]
    assert back["in_redline"].tolist() == [True, False]
    fields = pd.read_csv(tmp_path / "fields.csv", encoding="utf-8-sig")
    assert fields.values.tolist() == [["projects", "id", "id", "编号"], ["projects", "structure_id", "stru_id", "结构编号"],
                                      ["projects", "fit_reason", "fit_reason", "相符说明"],
                                      ["projects", "in_redline", "in_redline", "位于红线内"]]
