"""Red lines read, repaired and measured a chunk at a time (spatial.chunks): the same files as one read."""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from province import inputs, overlap_run, province
from pyogrio.errors import DataLayerError

from spatial import chunks
from spatial.chunks import _cgroup_room, feature_bytes, file_bytes, plan_chunks
from spatial.cli import main
from spatial.io import stream
from spatial.nearby import select_redlines
from spatial.overlap import lonlat

FILES = ("elements.csv", "projects.csv", "elements.csvt", "projects.csvt")


def _chunks_read(out) -> int:
    notes = pd.read_excel(out / "overlap.xlsx", sheet_name="notes")["note"]
    found = notes.str.extract(r"^read in (\d+) chunks of up to about")[0].dropna()
    return int(found.iloc[0]) if len(found) else 0


@pytest.mark.parametrize(("epsg", "with_ids", "fmt"), [(4490, True, "gpkg"), (4547, False, "gpkg"),
                                                       (4490, True, "geojson"), (4490, True, "parquet")])
def test_chunks_give_the_files_of_one_read(tmp_path, monkeypatch, epsg, with_ids, fmt):
    # many small write batches, read back in batches of another size: GDAL commits one transaction
    # per batch written (the file's change counter), so the spill must cut them as one read does
    monkeypatch.setattr(stream, "WRITE_BATCH", 64)
    monkeypatch.setattr(stream.Spill, "READ_BATCH", 50)
    # the projects' reach bounded by boxes only, or by red-line vertices read beforehand too
    monkeypatch.setattr(chunks, "PROJECT_PASSES", 0 if fmt == "geojson" else 10**6)
    elements, red, projects = inputs(tmp_path, np.random.default_rng(6), epsg=epsg, with_ids=with_ids,
                                     everywhere=True)
    whole = overlap_run(elements, red, projects, tmp_path / "whole", "--format", fmt)
    chunked = overlap_run(elements, red, projects, tmp_path / "chunked", "--format", fmt, "--chunk-mb", "0.05")
    assert _chunks_read(whole) == 0
    assert _chunks_read(chunked) >= 8  # 0.05 MB of a 0.47 MB file
    for name in (*FILES, f"overlaps.{fmt}"):
        assert (chunked / name).read_bytes() == (whole / name).read_bytes(), name
    table = pd.read_csv(chunked / "elements.csv")
    assert table["patches"].sum() > 1000  # the elements cover the province: most patches are in them
    located = pd.read_csv(chunked / "projects.csv")
    assert located["redline_distance_m"].notna().sum() == len(located) - 1  # all but the one without a shape


def test_chunks_of_a_selection_give_the_files_of_one_read(tmp_path):
    elements, red, projects = inputs(tmp_path, np.random.default_rng(7), epsg=4490, with_ids=True)
    near = overlap_run(elements, red, projects, tmp_path / "near")
    chunked = overlap_run(elements, red, projects, tmp_path / "chunked", "--chunk-mb", "0.005")
    assert _chunks_read(chunked) >= 2
    for name in (*FILES, "overlaps.gpkg"):
        assert (chunked / name).read_bytes() == (near / name).read_bytes(), name


def test_chunks_hold_every_feature_once_and_groups_together_when_they_fit(tmp_path):
    elements, red, projects = inputs(tmp_path, np.random.default_rng(8), epsg=4547, with_ids=True)
    plan = plan_chunks(red, layer=None, crs=None, option="", selection=None, chunk_bytes=20_000)
    assert plan is not None and len(plan.runs) >= 10
    assert np.array_equal(plan.rows, np.arange(1605))
    assert np.array_equal(np.sort(np.concatenate(plan.runs)), np.arange(1605))
    for run in plan.runs:  # in the layer's order within a chunk
        assert (np.diff(run) > 0).all()
    ids = plan.attributes["id"].to_numpy()
    home = {ids[plan.rows[p]]: k for k, run in enumerate(plan.runs) for p in run}
    assert home["edge-far"] == home["edge-near"] and home["cross-a"] == home["cross-b"]
    assert plan_chunks(red, layer=None, crs=None, option="", selection=None, chunk_bytes=10**9) is None
    # 2,000 bytes: about 7 features; the river's box meets a row of grid patches (30 features): that group is cut
    tight = plan_chunks(red, layer=None, crs=None, option="", selection=None, chunk_bytes=2_000)
    assert max(tight.weights[run].sum() for run in tight.runs) <= 2_000 + tight.weights.max()
    boxes = shapely.box(*tight.boxes.T)
    for run in tight.runs[:40]:  # the neighbours kept are those a tree of the boxes finds
        mine, theirs = tight.neighbours(run)
        qi, ti = shapely.STRtree(boxes).query(boxes[run], predicate="intersects")
        keep = run[qi] != ti
        assert sorted(zip(run[mine].tolist(), theirs.tolist())) == sorted(zip(run[qi][keep].tolist(), ti[keep].tolist()))
    assert len({k for k, run in enumerate(tight.runs) for p in run if ids[tight.rows[p]].endswith("-21")}) > 3
    some = select_redlines(red, layer=None, crs=None, option="", targets=lonlat(gpd.read_file(elements)),
                           projects=np.empty(0, dtype=object), epsg=4547)
    part = plan_chunks(red, layer=None, crs=None, option="", selection=some, chunk_bytes=2_000)
    assert part is not None and len(part.runs) >= 2
    assert np.array_equal(np.sort(part.rows[np.concatenate(part.runs)]), some.rows)


def test_a_group_larger_than_a_chunk_is_cut_and_each_part_read_with_what_overlaps_it(tmp_path):
    # the river overlaps a row of grid patches of both types (merges and cross-type cuts) and its box chains
    # them: with 6 features a chunk, it and its partners lie in many chunks, each repaired as one read does
    elements, red, projects = inputs(tmp_path, np.random.default_rng(9), epsg=4490, with_ids=False,
                                     everywhere=True)
    whole = overlap_run(elements, red, projects, tmp_path / "whole")
    chunked = overlap_run(elements, red, projects, tmp_path / "chunked", "--chunk-mb", "0.002")
    for name in (*FILES, "overlaps.gpkg"):
        assert (chunked / name).read_bytes() == (whole / name).read_bytes(), name
    notes = pd.read_excel(chunked / "overlap.xlsx", sheet_name="notes")["note"]
    assert notes.str.contains("with the features that overlap a chunk's").any()
    repairs = [n for n in notes if "dissolved" in n or "different types" in n or "invalid" in n]
    assert repairs == [n for n in pd.read_excel(whole / "overlap.xlsx", sheet_name="notes")["note"]
                       if "dissolved" in n or "different types" in n or "invalid" in n]
    assert any("dissolved into" in n for n in repairs) and any("different types" in n for n in repairs)


@pytest.mark.parametrize("driver", ["GPKG", "ESRI Shapefile"])
def test_feature_bytes_come_from_the_file(tmp_path, driver):
    red = province(np.random.default_rng(10))
    path = tmp_path / ("red.gpkg" if driver == "GPKG" else "red.shp")
    pyogrio.write_dataframe(red.to_crs(4547), path, driver=driver)
    fids, _ = pyogrio.read_bounds(path)
    sizes = feature_bytes(path, str(path), pyogrio.read_info(path), np.asarray(fids))
    assert sizes.sum() == pytest.approx(file_bytes(path))
    river, patch = int(np.flatnonzero(red["id"] == "river")[0]), int(np.flatnonzero(red["id"] == "g00-00")[0])
    vertices = shapely.get_num_coordinates(red.geometry.values)
    assert sizes[river] - sizes[patch] == 16 * (vertices[river] - vertices[patch]) > 0  # 16 bytes a vertex
    other = tmp_path / "red.geojson"
    pyogrio.write_dataframe(red, other)
    assert np.ptp(feature_bytes(other, str(other), pyogrio.read_info(other),
                                  np.asarray(pyogrio.read_bounds(other)[0]))) == 0


@pytest.mark.parametrize(("proc", "files", "room"), [
    ("0::/job\n", {"job/memory.max": "1000000\n", "job/memory.current": "250000\n"}, 750_000),
    ("0::/\n", {"memory.max": "max\n", "memory.current": "5\n"}, float("inf")),
    ("4:memory:/job\n0::/\n", {"memory/job/memory.limit_in_bytes": "800\n", "memory/job/memory.usage_in_bytes": "300\n"},
     500),
    ("4:memory:/job\n", {"memory/job/memory.limit_in_bytes": "9223372036854771712\n",
                         "memory/job/memory.usage_in_bytes": "300\n"}, float("inf")),
    ("4:memory:/gone\n", {}, float("inf")),  # the cgroup's folder is not mounted here (a container's view)
])
def test_the_default_chunk_follows_a_memory_cgroup(tmp_path, proc, files, room):
    (tmp_path / "cgroup").write_text(proc)
    for name, text in files.items():
        (tmp_path / "fs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fs" / name).write_text(text)
    assert _cgroup_room(tmp_path / "cgroup", tmp_path / "fs") == room


def test_chunks_with_dask_is_one_clear_error(tmp_path):
    elements, red, projects = inputs(tmp_path, np.random.default_rng(11), epsg=4490, with_ids=True)
    result = CliRunner().invoke(main, ["overlap", "--elements", str(elements), "--redlines", str(red),
                                       "--out", str(tmp_path / "out"), "--chunk-mb", "5", "--workers", "2"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --chunk-mb: given together with --workers; fix: read in chunks on this machine (--chunk-mb) "
        "or share the work on Dask, not both"]
    assert not (tmp_path / "out").exists()


def test_a_scratch_file_that_cannot_be_written_is_one_clear_error(tmp_path, monkeypatch):
    # GDAL fails to write the spill (a full TMPDIR): one line naming it and TMPDIR, nothing left behind
    write = stream.pyogrio.write_arrow

    def full(reader, path, **options):
        if Path(path).name == "spill.gpkg":
            raise DataLayerError("sqlite3_exec(COMMIT) failed: database or disk is full")
        return write(reader, path, **options)

    monkeypatch.setattr(stream.pyogrio, "write_arrow", full)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    elements, red, projects = inputs(tmp_path, np.random.default_rng(12), epsg=4490, with_ids=True, everywhere=True)
    result = CliRunner().invoke(main, ["overlap", "--elements", str(elements), "--redlines", str(red), "--out",
                                       str(tmp_path / "out"), "--chunk-mb", "0.05", "--quiet"])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'scratch'}/spatial-") and "spill.gpkg: could not be written" in line
    assert "database or disk is full" in line and "set TMPDIR to a folder with room" in line
    assert not (tmp_path / "out").exists() and not any((tmp_path / "scratch").iterdir())
