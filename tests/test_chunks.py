"""Red lines read, repaired and measured a chunk at a time (spatial.chunks): the same files as one read."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from province import inputs, overlap_run

from spatial.chunks import _cgroup_room, plan_chunks
from spatial.io import gpkg
from spatial.nearby import select_redlines
from spatial.overlap import lonlat

FILES = ("elements.csv", "projects.csv", "elements.csvt", "projects.csvt")


def _chunks_read(out) -> int:
    notes = pd.read_excel(out / "overlap.xlsx", sheet_name="notes")["note"]
    found = notes.str.extract(r"^read in (\d+) chunks of up to about")[0].dropna()
    return int(found.iloc[0]) if len(found) else 0


@pytest.mark.parametrize(("epsg", "with_ids", "fmt"), [(4490, True, "gpkg"), (4547, False, "gpkg"),
                                                       (4490, True, "geojson")])
def test_chunks_give_the_files_of_one_read(tmp_path, monkeypatch, epsg, with_ids, fmt):
    # many small write batches, read back in batches of another size: GDAL commits one transaction
    # per batch written (the file's change counter), so the spill must cut them as one read does
    monkeypatch.setattr(gpkg, "WRITE_BATCH", 64)
    monkeypatch.setattr(gpkg.Spill, "READ_BATCH", 50)
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


def test_chunks_hold_every_feature_once_and_overlapping_ones_together(tmp_path):
    elements, red, projects = inputs(tmp_path, np.random.default_rng(8), epsg=4547, with_ids=True)
    plan = plan_chunks(red, layer=None, crs=None, option="", selection=None, chunk_bytes=20_000)
    assert plan is not None and len(plan.chunks) >= 10
    rows = np.concatenate([c.rows for c in plan.chunks])
    assert np.array_equal(np.sort(rows), np.arange(1605))
    ids = plan.chunks[0].attributes["id"].to_numpy()
    home = {ids[r]: k for k, c in enumerate(plan.chunks) for r in c.rows}
    assert home["edge-far"] == home["edge-near"] and home["cross-a"] == home["cross-b"]
    for chunk in plan.chunks:  # in the layer's order within a chunk
        assert (np.diff(chunk.rows) > 0).all()
    assert plan_chunks(red, layer=None, crs=None, option="", selection=None, chunk_bytes=10**9) is None
    assert "the largest" not in plan.note()
    # the river's box meets a row of grid patches: they stay together, beyond 2,000 bytes (7 features)
    tight = plan_chunks(red, layer=None, crs=None, option="", selection=None, chunk_bytes=2_000)
    river = next(c for c in tight.chunks if "river" in set(c.attributes["id"].to_numpy()[c.rows]))
    assert len(river.rows) > 20 and tight.largest_bytes > 2_000
    assert f"the largest holds about {tight.largest_bytes / 2**20:.3g} MB" in tight.note()
    some = select_redlines(red, layer=None, crs=None, option="", targets=lonlat(gpd.read_file(elements)),
                           projects=np.empty(0, dtype=object), epsg=4547)
    part = plan_chunks(red, layer=None, crs=None, option="", selection=some, chunk_bytes=2_000)
    assert part is not None and len(part.chunks) >= 2
    assert np.array_equal(np.sort(np.concatenate([c.rows for c in part.chunks])), some.rows)


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
