"""Output writers: the streamed workbook, the overlap pieces (GeoPackage, GeoParquet, GeoJSON), GeoJSON layers."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Polygon

from spatial.crs import ellipsoidal_area_m2
from spatial.io import report
from spatial.io.geofiles import write_geojson
from spatial.io.report import OVERLAP_FORMATS, sheet_blocks, write_overlap_report, write_xlsx
from spatial.io.xlsx import WorkbookProcess

HOSTILE = '=HYPERLINK("http://x","y")'


def _elements() -> pd.DataFrame:
    return pd.DataFrame({"id": ["e2", "e1", "e3"], "name": ["东区", HOSTILE, None],
                         "area_m2": [1234.5678, np.nan, 10.0], "patches": [1, 0, 2],
                         "in_redline": pd.array([True, pd.NA, False], dtype="boolean")})


def _projects() -> pd.DataFrame:
    return pd.DataFrame({"id": ["p1", "p2"], "redline_share": [0.123456789, np.nan], "note": ["+1 (800)", "www.x.cn"]})


def _overlaps() -> gpd.GeoDataFrame:
    boxes = [Polygon([(115.0 + i / 100, 26.0), (115.01 + i / 100, 26.0), (115.01 + i / 100, 26.01),
                      (115.0 + i / 100, 26.01)]) for i in range(3)]
    return gpd.GeoDataFrame({"id": ["e2--r1", "e1--r1", "e3--r2"], "element_id": ["e2", "e1", "e3"],
                             "area_m2": [3.0, 1.0, 2.0]}, geometry=boxes, crs=4326)


NOTES = [("red lines", "illustrative"), ("CSV encoding", "utf-8-sig")]


def _report(out: Path, fmt: str = "gpkg") -> list[Path]:
    return write_overlap_report(out, elements=_elements(), projects=_projects(), notes=NOTES, overlaps=_overlaps(),
                                fmt=fmt)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- workbook ---------------------------------------------------------------------------------
def test_workbook_sheets_header_values_and_text_kept_as_text(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", {"elements": _elements(), "projects": _projects(),
                                            "notes": report.notes_table(NOTES)})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["elements", "projects", "notes"]
    ws = wb["elements"]
    assert [c.value for c in ws[1]] == ["id", "name", "area_m2", "patches", "in_redline"]
    assert all(c.font.b for c in ws[1]) and ws.freeze_panes == "A2"
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2)] == [
        ["e2", "东区", 1234.57, 1, True], ["e1", HOSTILE, None, 0, None], ["e3", None, 10, 2, False]]
    hostile = ws["B3"]
    assert hostile.data_type == "s" and hostile.value == HOSTILE
    assert ws.column_dimensions["B"].width >= len(HOSTILE) + 2
    assert [[c.value for c in row] for row in wb["projects"].iter_rows(min_row=2)] == [
        ["p1", 0.123457, "+1 (800)"], ["p2", None, "www.x.cn"]]
    assert wb["notes"]["B3"].value == "utf-8-sig"
    assert zipfile.ZipFile(path).testzip() is None


def test_workbook_bytes_are_reproducible(tmp_path):
    sheets = {"elements": _elements(), "notes": report.notes_table(NOTES)}
    first = write_xlsx(tmp_path / "a.xlsx", sheets).read_bytes()
    assert write_xlsx(tmp_path / "b.xlsx", sheets).read_bytes() == first
    core = zipfile.ZipFile(tmp_path / "a.xlsx").read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core


def test_workbook_failure_leaves_nothing(tmp_path):
    (tmp_path / "t.xlsx").write_bytes(b"old")
    bad = pd.DataFrame({"id": ["a"], "value": [[1, 2]]})  # a list has no cell type
    with pytest.raises(TypeError):
        write_xlsx(tmp_path / "t.xlsx", {"ok": _elements(), "bad": bad})
    assert _files(tmp_path) == ["t.xlsx"] and (tmp_path / "t.xlsx").read_bytes() == b"old"


def test_workbook_refuses_more_rows_than_a_sheet_holds(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "XLSX_MAX_ROWS", 3)
    with pytest.raises(ValueError, match="holds 2"):
        write_xlsx(tmp_path / "t.xlsx", {"elements": _elements()})
    assert _files(tmp_path) == []


# --- workbook worker (spatial.io.xlsx.WorkbookProcess) ----------------------------------------
def _sheets() -> dict[str, pd.DataFrame]:
    return {"elements": _elements(), "projects": _projects(), "notes": report.notes_table(NOTES)}


def test_worker_gives_the_same_bytes_in_sheet_order_whatever_the_order_of_adding(tmp_path, monkeypatch):
    expected = write_xlsx(tmp_path / "in-process.xlsx", _sheets()).read_bytes()
    monkeypatch.setattr(report, "_BLOCK_ROWS", 2)  # several blocks per table
    assert len(list(sheet_blocks("elements", _elements()))) == 2
    with WorkbookProcess(list(_sheets())) as book:
        for name in ["notes", "projects", "elements"]:
            book.add(sheet_blocks(name, _sheets()[name]))
        book.finish(tmp_path / "worker.xlsx")
    assert (tmp_path / "worker.xlsx").read_bytes() == expected
    assert openpyxl.load_workbook(tmp_path / "worker.xlsx").sheetnames == ["elements", "projects", "notes"]
    assert not book._scratch.exists() and book._proc.returncode == 0


def test_workbook_is_written_here_where_python_is_embedded(tmp_path, monkeypatch):
    expected = write_xlsx(tmp_path / "in-process.xlsx", _sheets()).read_bytes()
    monkeypatch.setattr(sys, "executable", "/usr/bin/qgis")  # QGIS's Python console says so
    with WorkbookProcess(list(_sheets())) as book:
        assert book._proc is None
        for name in ["projects", "elements", "notes"]:
            book.add(sheet_blocks(name, _sheets()[name]))
        book.finish(tmp_path / "embedded.xlsx")
    assert (tmp_path / "embedded.xlsx").read_bytes() == expected and not book._scratch.exists()


def test_worker_error_is_raised_by_finish_and_leaves_nothing(tmp_path):
    bad = pd.DataFrame({"id": ["a"], "value": [[1, 2]]})  # a list has no cell type
    with pytest.raises(TypeError), WorkbookProcess(["ok", "bad"]) as book:
        book.add(sheet_blocks("ok", _elements()))
        book.add(sheet_blocks("bad", bad))
        book.finish(tmp_path / "t.xlsx")
    assert _files(tmp_path) == [] and not book._scratch.exists()


def test_a_worker_that_stopped_before_reading_everything_is_reported_not_the_broken_pipe(tmp_path):
    # the worker stops (here: killed; also when it fails on a sheet) while sheets are still to be
    # sent: what cannot be sent any more is not the error (it was a BrokenPipeError, by timing)
    with pytest.raises(RuntimeError, match="worker stopped with exit code -9"), \
            WorkbookProcess(["a"]) as book:
        book._proc.kill()
        book._proc.wait()
        book.add(sheet_blocks("a", _elements()))
        book.finish(tmp_path / "t.xlsx")
    assert _files(tmp_path) == [] and not book._scratch.exists()


def test_worker_refuses_a_sheet_twice_or_one_missing(tmp_path):
    with WorkbookProcess(["a", "b"]) as book:
        book.add(sheet_blocks("a", _elements()))
        with pytest.raises(ValueError, match="'a'"):
            book.add(sheet_blocks("a", _elements()))
        with pytest.raises(ValueError, match=r"not added: \['b'\]"):
            book.finish(tmp_path / "t.xlsx")
    assert _files(tmp_path) == [] and book._proc.returncode == 0  # stopped without writing


def test_worker_loads_neither_pandas_nor_numpy():
    code = "import sys, spatial.io.xlsx; print(sorted(m for m in ('pandas', 'numpy', 'geopandas') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- overlap report ---------------------------------------------------------------------------
def test_report_failure_in_the_workbook_leaves_the_old_files(tmp_path):
    _report(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in _files(tmp_path)}
    bad = _projects().assign(note=[[1, 2], None])
    with pytest.raises(TypeError):
        write_overlap_report(tmp_path, elements=_elements(), projects=bad, notes=NOTES, overlaps=_overlaps())
    assert {name: (tmp_path / name).read_bytes() for name in _files(tmp_path)} == before


def test_report_writes_tables_and_a_spatially_indexed_geopackage(tmp_path):
    written = _report(tmp_path)
    assert written == [tmp_path / n for n in ("elements.csv", "projects.csv", "overlap.xlsx", "overlaps.gpkg",
                                              "elements.csvt", "projects.csvt")]
    assert (tmp_path / "elements.csvt").read_text() == '"String","String","Real","Integer","Integer(Boolean)"\n'
    assert _files(tmp_path) == ["elements.csv", "elements.csvt", "overlap.xlsx", "overlaps.gpkg", "projects.csv",
                               "projects.csvt"]
    raw = (tmp_path / "elements.csv").read_bytes()
    lines = raw.decode("utf-8-sig").splitlines()
    assert raw.startswith(b"\xef\xbb\xbf") and lines[0] == "id,name,area_m2,patches,in_redline"
    assert lines[3] == "e3,,10.0,2,False"  # NULL as empty
    assert openpyxl.load_workbook(tmp_path / "overlap.xlsx").sheetnames == ["elements", "projects", "notes"]
    gpkg = tmp_path / "overlaps.gpkg"
    info = pyogrio.read_info(gpkg, layer="overlaps")
    assert info["features"] == 3 and info["crs"] == "EPSG:4326"
    with sqlite3.connect(gpkg) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "rtree_overlaps_geom" in tables and "layer_styles" in tables
    _check_pieces(pyogrio.read_dataframe(gpkg, layer="overlaps"))


def _check_pieces(back: gpd.GeoDataFrame) -> None:
    """The pieces read back: sorted by id, EPSG:4326, same attributes and areas."""
    given = _overlaps().sort_values("id", ignore_index=True)
    assert back.crs.to_epsg() == 4326 and set(back.geom_type) == {"MultiPolygon"}
    assert list(back["id"]) == list(given["id"]) and list(back["area_m2"]) == list(given["area_m2"])
    assert np.allclose(ellipsoidal_area_m2(back.geometry), ellipsoidal_area_m2(given.geometry), rtol=1e-6, atol=0)


@pytest.mark.parametrize("fmt", ["parquet", "geojson"])
def test_report_pieces_as_parquet_or_geojson(tmp_path, fmt):
    _report(tmp_path, fmt)
    assert _files(tmp_path) == ["elements.csv", "elements.csvt", "overlap.xlsx", f"overlaps.{fmt}",
                               "projects.csv", "projects.csvt"]
    path = tmp_path / f"overlaps.{fmt}"
    _check_pieces(gpd.read_parquet(path) if fmt == "parquet" else pyogrio.read_dataframe(path))


@pytest.mark.parametrize("fmt", OVERLAP_FORMATS)
def test_report_is_reproducible(tmp_path, fmt):
    first = {p.name: p.read_bytes() for p in _report(tmp_path / "a", fmt)}
    assert {p.name: p.read_bytes() for p in _report(tmp_path / "b", fmt)} == first


def test_report_rejects_an_unknown_format_before_writing(tmp_path):
    with pytest.raises(ValueError, match="gpkg, parquet, geojson"):
        _report(tmp_path / "out", "shp")
    assert not (tmp_path / "out").exists()


def test_report_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    (tmp_path / "elements.csv").write_bytes(b"old")
    real = pyogrio.write_arrow

    def write_then_fail(batches, path, **kwargs):
        real(batches, path, **kwargs)
        assert Path(path).stat().st_size > 0
        raise RuntimeError("disk full")

    monkeypatch.setattr(pyogrio, "write_arrow", write_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        _report(tmp_path)
    assert _files(tmp_path) == ["elements.csv"] and (tmp_path / "elements.csv").read_bytes() == b"old"
    # into folders that did not exist: none is left behind, and a folder that existed stays
    with pytest.raises(RuntimeError, match="disk full"):
        _report(tmp_path / "new" / "out")
    assert not (tmp_path / "new").exists() and tmp_path.is_dir()


# --- GeoJSON layers ---------------------------------------------------------------------------
def test_geojson_layer_is_rfc7946_sorted_rounded_and_reproducible(tmp_path):
    gdf = _overlaps()
    gdf["share"] = [0.5, np.nan, 0.25]
    gdf.geometry = gdf.geometry.translate(1.23456789e-7, 0)
    path = write_geojson(tmp_path / "a.geojson", gdf, name="999901-overlaps")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["name"] == "999901-overlaps" and "crs" not in doc
    assert [f["properties"]["id"] for f in doc["features"]] == ["e1--r1", "e2--r1", "e3--r2"]
    assert doc["features"][0]["properties"]["share"] is None
    assert list(doc["features"][0]["properties"]) == ["area_m2", "element_id", "id", "share"]
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert [115.01, 26.0] in ring and all(round(v, 6) == v for point in ring for v in point)
    assert Polygon(ring).exterior.is_ccw  # RFC 7946: outer rings counter-clockwise
    shuffled = gdf.iloc[[2, 0, 1]]
    assert write_geojson(tmp_path / "b.geojson", shuffled, name="999901-overlaps").read_bytes() == path.read_bytes()
    assert _files(tmp_path) == ["a.geojson", "b.geojson"]


# --- precision -------------------------------------------------------------------------------
def test_numbers_are_written_at_the_precision_they_mean_in_every_format(tmp_path):
    from spatial.io.gpkg import write_gpkg
    from spatial.io.precision import decimals

    assert [decimals(c) for c in ("area_m2", "area_km2", "redline_m2_nature_reserve", "redline_share", "area_mu",
                                  "area_ha", "redline_distance_m", "lon", "fit")] == [2, 6, 2, 6, 2, 4, 2, 6, 6]
    noisy = 1 / 3
    gdf = gpd.GeoDataFrame({"id": ["a"], "area_m2": [1000 + noisy], "area_km2": [noisy], "redline_share": [noisy],
                            "redline_m2_wetland": [noisy]},
                           geometry=[Polygon([(115 + noisy * 1e-3, 26), (115.01, 26), (115.01, 26.01)])], crs=4326)
    want = {"area_m2": 1000.33, "area_km2": 0.333333, "redline_share": 0.333333, "redline_m2_wetland": 0.33}
    props = json.loads(write_geojson(tmp_path / "a.geojson", gdf).read_text(encoding="utf-8"))["features"][0]["properties"]
    assert {k: props[k] for k in want} == want
    csv = pd.read_csv(report.write_csv(tmp_path / "a.csv", gdf.drop(columns="geometry")), encoding="utf-8-sig")
    assert csv.iloc[0][list(want)].to_dict() == want
    sheet = openpyxl.load_workbook(write_xlsx(tmp_path / "a.xlsx", {"t": gdf.drop(columns="geometry")}))["t"]
    assert {c.value: v.value for c, v in zip(sheet[1], sheet[2]) if c.value in want} == want
    for epsg, places in ((4490, 6), (4547, 3)):
        read = pyogrio.read_dataframe(write_gpkg(tmp_path / f"{epsg}.gpkg", {"t": gdf}, epsg=epsg), layer="t")
        assert {k: read[k].iloc[0] for k in want} == want
        xy = np.asarray(read.geometry.iloc[0].exterior.coords)
        assert np.array_equal(xy, np.round(xy, places)) and not np.array_equal(xy, np.round(xy, places - 1))


def test_wkb_array_holds_the_same_values_as_pyarrows_conversion():
    import pyarrow as pa
    import shapely

    from spatial.io.stream import wkb_array

    geoms = shapely.buffer(shapely.points(np.arange(40.0).reshape(20, 2)), 1.0 + np.arange(20))
    for wkb in (shapely.to_wkb(geoms), shapely.to_wkb(geoms[:1]), np.empty(0, dtype=object)):
        got = wkb_array(wkb)
        assert got.type == pa.binary()
        assert got.equals(pa.array(wkb, pa.binary()))


def test_geoparquet_metadata_and_one_row_group_per_write_batch(tmp_path, monkeypatch):
    import pyarrow.parquet as pq
    import shapely

    from spatial.io import stream
    from spatial.io.geofiles import write_geoparquet

    monkeypatch.setattr(stream, "WRITE_BATCH", 2)
    gdf = _overlaps().to_crs(4547)  # written in EPSG:4326 whatever it comes in
    path = write_geoparquet(tmp_path / "o.parquet", gdf)
    meta = pq.ParquetFile(path)
    assert [meta.metadata.row_group(i).num_rows for i in range(meta.metadata.num_row_groups)] == [2, 1]
    geo = json.loads(meta.metadata.metadata[b"geo"])
    column = geo["columns"]["geometry"]
    assert geo["primary_column"] == "geometry" and column["encoding"] == "WKB"
    assert column["geometry_types"] == ["MultiPolygon"]
    back = gpd.read_parquet(path)
    assert back.crs.to_epsg() == 4326 and list(back["id"]) == ["e1--r1", "e2--r1", "e3--r2"]
    assert column["bbox"] == list(shapely.total_bounds(back.geometry.values))
    assert np.allclose(column["bbox"], [115.0, 26.0, 115.03, 26.01], atol=1e-6)
    assert meta.schema_arrow.field("id").type == "string"


def test_report_calls_gdal_from_the_calling_thread(tmp_path, monkeypatch):
    # pyogrio turns GDAL's errors into exceptions only in the thread that imported it; in another
    # thread GDAL also prints them (a screenful of SQL on a full disk)
    import threading

    real, threads = pyogrio.write_arrow, []

    def recording(reader, path, **options):
        threads.append(threading.current_thread())
        return real(reader, path, **options)

    monkeypatch.setattr(pyogrio, "write_arrow", recording)
    _report(tmp_path)
    assert threads == [threading.current_thread()]


def test_report_on_a_full_disk_names_the_file_it_was_writing_and_says_why(tmp_path, monkeypatch):
    import os
    from types import SimpleNamespace

    from pyogrio.errors import DataLayerError

    def full(reader, path, **options):
        raise DataLayerError("Error while writing batch to OGR layer: sqlite3_exec(INSERT INTO gpkg_contents "
                             "(table_name) VALUES ('x')) failed: no such table: gpkg_contents")

    monkeypatch.setattr(pyogrio, "write_arrow", full)
    with pytest.raises(OSError) as caught:
        _report(tmp_path / "out")
    assert caught.value.filename == str(tmp_path / "out" / "overlaps.gpkg")
    assert caught.value.strerror == ("could not be written (Error while writing batch to OGR layer: SQLite failed: "
                                     "no such table: gpkg_contents)")
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_bavail=3, f_frsize=4096))
    with pytest.raises(OSError, match="no space left on its file system") as caught:
        _report(tmp_path / "out")
    assert caught.value.filename == str(tmp_path / "out" / "overlaps.gpkg")
    assert not (tmp_path / "out").exists()


def _shapes() -> dict[str, list]:
    """Batches of every kind a layer may hold: one type, single and multi parts, mixed, collections, empty, missing, 3D."""
    import shapely
    from shapely.geometry import GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point

    rng = np.random.default_rng(1)
    polys = [shapely.buffer(Point(*(rng.random(2) * 10 + 110)), 0.01 + rng.random() * 0.01, quad_segs=2 + i % 7)
             for i in range(20)]
    polys = [p.difference(shapely.buffer(p.centroid, 0.003)) if i % 2 else p for i, p in enumerate(polys)]
    multis = [MultiPolygon([polys[i], shapely.buffer(Point(*(rng.random(2) + 120)), 0.02)]) for i in range(5)]
    lines = [LineString(rng.random((5, 2)) + 115) for _ in range(5)]
    points = [Point(rng.random(2) + 114) for _ in range(5)]
    return {"polygons": polys, "polygons and multi": polys + multis, "multipolygons": multis, "lines": lines,
            "lines and multi": lines + [MultiLineString(lines[:2])], "points": points,
            "points and multi": points + [MultiPoint(rng.random((3, 2)) + 114)], "mixed": polys + lines,
            "collection": [GeometryCollection([polys[0], lines[0]])] + polys, "empty": polys + [Polygon()],
            "missing": polys + [None], "3D": [shapely.force_3d(polys[0])] + polys}


@pytest.mark.parametrize("kind", list(_shapes()))
def test_rounded_wkb_gives_the_bytes_of_geos_rounding_and_encoding_one_by_one(kind):
    import shapely

    from spatial.io.files import multi_parts
    from spatial.io.precision import rounded_geometries
    from spatial.io.stream import rounded_wkb

    geoms = np.array(_shapes()[kind], dtype=object)
    for multi in (False, True):
        for epsg in (4326, 4547):
            expected = rounded_geometries(geoms, epsg)
            expected = shapely.to_wkb(multi_parts(expected) if multi else expected)
            assert rounded_wkb(geoms, epsg, multi=multi).to_pylist() == list(expected), (multi, epsg)
