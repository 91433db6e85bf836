"""The overlap engine on Dask: real local clusters give exactly the single-process tables."""

from __future__ import annotations

import logging
import socket
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from distributed import LocalCluster
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import LineString, Point, box

from spatial.errors import InputError
from spatial.overlap import gk_epsg_of, overlap_elements, overlap_projects
from spatial.redlines import prepare_redlines
from spatial.scale import CONNECT_TIMEOUT_S, hilbert_partitions, overlap_on_dask

CELL = 0.01  # degrees: one red-line patch per cell of a 20 x 15 grid from 115°E 26°N
TYPES = ["水源涵养", "生物多样性维护", "水土保持"]
BUFFER_M = 800.0


def synthetic_case() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Prepared red lines (303 rows, 3 types, holes, multipolygons), 10 elements and 300 projects."""
    rng = np.random.default_rng(11)
    patches = []
    for i in range(20):
        for j in range(15):
            x, y = 115.0 + i * CELL, 26.0 + j * CELL
            centre = Point(x + CELL / 2, y + CELL / 2)
            blob = centre.buffer(CELL * rng.uniform(0.2, 0.35), quad_segs=int(rng.integers(4, 16)))
            if len(patches) % 7 == 0:
                blob = blob.difference(centre.buffer(CELL * 0.08))  # a hole
            if len(patches) % 11 == 0:  # a second part in the cell's corner
                blob = blob.union(box(x + 0.0005, y + 0.0005, x + 0.0015, y + 0.0015))
            patches.append(blob)
    big = Point(115.25, 26.07).buffer(0.03, quad_segs=32)  # holds the element "inner" wholly
    # two patches sharing an edge on the middle of the bottom: the two ends of the Hilbert curve
    right, left = box(115.1275, 25.99, 115.1325, 25.995), box(115.1225, 25.99, 115.1275, 25.995)
    geoms = patches + [big, right, left]
    raw = gpd.GeoDataFrame({"id": [f"rl-{k:03d}" for k in range(len(patches))] + ["big", "right", "left"],
                            "type": [TYPES[k % 3] for k in range(len(patches))] + [TYPES[0], TYPES[1], TYPES[2]]},
                           geometry=geoms, crs=4326)
    redlines, _ = prepare_redlines(raw, source="synthetic", official=False)

    frame = box(114.99, 25.98, 115.29, 26.16)
    seeds = shapely.multipoints(np.column_stack([rng.uniform(115.0, 115.2, 8), rng.uniform(26.0, 26.15, 8)]))
    zones = [c.intersection(frame) for c in shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))]
    belt = LineString([(115.0, 26.02), (115.1, 26.12), (115.2, 26.05)]).buffer(0.004)
    inner = box(115.245, 26.065, 115.255, 26.075)
    elements = gpd.GeoDataFrame({"id": [f"zone-{k}" for k in range(len(zones))] + ["belt", "inner"],
                                 "name": [f"区{k}" for k in range(len(zones))] + ["带", "内"]},
                                geometry=zones + [belt, inner], crs=4326)

    inside = shapely.get_coordinates(shapely.point_on_surface(redlines.geometry.to_numpy()[:60:4]))
    spread = np.column_stack([rng.uniform(114.95, 115.33, 250), rng.uniform(25.95, 26.2, 250)])
    corners = np.column_stack([rng.uniform(115.0, 115.2, 30), rng.uniform(26.0, 26.15, 30)])
    half = rng.uniform(0.001, 0.003, 30)
    geoms = [Point(p) for p in np.r_[inside, spread]] + list(
        shapely.box(*(corners - half[:, None]).T, *(corners + half[:, None]).T))
    special = {"edge": Point(115.1275, 25.993),  # on the shared edge: in both, named by the layer's order
               "below": Point(115.1275, 25.98),  # as near to both
               "straddle": box(115.126, 25.991, 115.129, 25.994),  # a parcel in both
               "line": LineString([(115.005, 26.001), (115.03, 26.03)]), "none": None}
    projects = gpd.GeoDataFrame({"id": [f"p{k:03d}" for k in range(len(geoms))] + list(special)},
                                geometry=geoms + list(special.values()), crs=4326)
    return elements, redlines, projects


@pytest.fixture(scope="module")
def case():
    elements, redlines, projects = synthetic_case()
    table, overlaps = overlap_elements(elements, redlines)
    ptable = overlap_projects(projects, redlines, buffer_m=BUFFER_M, epsg=gk_epsg_of(elements, redlines))
    return (elements, redlines, projects), (table, overlaps, ptable)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as running:
        yield running


def assert_same(result, expected):
    """Tables equal: ids and dtypes exactly, numbers to 1e-9 relative, overlap shapes exactly."""
    table, overlaps, ptable = result
    pd.testing.assert_frame_equal(table, expected[0], check_exact=False, rtol=1e-9, atol=0)
    assert_geodataframe_equal(overlaps, expected[1], check_less_precise=False)
    pd.testing.assert_frame_equal(ptable, expected[2], check_exact=False, rtol=1e-9, atol=0)


def partition_sizes(caplog) -> tuple[list[int], list[int]]:
    """Red lines and projects per partition, as the last run logged them."""
    record = [r for r in caplog.records if r.name == "spatial.scale"][-1]
    return record.args[1], record.args[2]


def test_the_case_covers_what_matters(case):
    (elements, redlines, projects), (table, overlaps, ptable) = case
    assert 300 <= len(redlines) <= 310 and set(redlines["type"]) == set(TYPES)
    assert (redlines.geom_type == "MultiPolygon").any()
    assert (shapely.get_num_interior_rings(shapely.get_parts(redlines.geometry)) > 0).any()
    assert len(projects) == 300 and 8 <= len(elements) <= 12
    inner = table.set_index("id").loc["inner"]
    assert inner["redline_share"] == pytest.approx(1.0, rel=1e-9) and inner["patches"] == 1
    assert ptable["in_redline"].sum() > 20 and (~ptable["in_redline"].fillna(True)).sum() > 100
    assert ptable["redline_distance_m"].max() > 2000
    edge = ptable.set_index("id").loc[["edge", "below", "straddle"]]
    assert list(edge["nearest_redline_id"]) == ["right", "right", "right"]  # the first in the layer of equals
    assert edge.loc["straddle", "redline_share"] == pytest.approx(1.0, rel=1e-9)
    # the shared edge lies between the two ends of the Hilbert curve: different partitions
    first, *_, last = hilbert_partitions(redlines, 2)
    assert "left" in set(first["id"]) and "right" in set(last["id"])


def test_hilbert_partitions_hold_each_red_line_once(case):
    (_, redlines, _), _ = case
    parts = hilbert_partitions(redlines, 6)
    assert len(parts) == 6
    ids = np.concatenate([p["id"].to_numpy() for p in parts])
    assert sorted(ids) == sorted(redlines["id"]) and len(set(ids)) == len(ids)
    assert all(p.index.is_monotonic_increasing for p in parts)  # the layer's order within each


def test_local_workers_give_the_single_process_tables(case, caplog):
    (elements, redlines, projects), expected = case
    with caplog.at_level(logging.INFO, logger="spatial.scale"):
        result = overlap_on_dask(elements, redlines, projects, buffer_m=BUFFER_M, workers=2)
    assert sum(rows > 0 for rows in partition_sizes(caplog)[0]) >= 2
    assert_same(result, expected)


def test_a_running_scheduler_gives_the_single_process_tables(case, cluster, caplog):
    (elements, redlines, projects), expected = case
    with caplog.at_level(logging.INFO, logger="spatial.scale"):
        result = overlap_on_dask(elements, redlines, projects, buffer_m=BUFFER_M,
                                 scheduler=cluster.scheduler_address, partitions=16)
    assert sum(rows > 0 for rows in partition_sizes(caplog)[0]) == 16
    assert_same(result, expected)
    table, overlaps, ptable = overlap_on_dask(elements, redlines, scheduler=cluster.scheduler_address)
    assert ptable is None
    pd.testing.assert_frame_equal(table, expected[0], check_exact=False, rtol=1e-9, atol=0)
    assert len(cluster.scheduler_info["workers"]) == 2  # left running


def test_projects_in_one_corner_reach_only_the_partitions_near_them(case, cluster, caplog):
    (elements, redlines, projects), _ = case
    corner = projects[(projects.bounds["maxx"] < 115.03) | projects.geometry.isna()]
    expected = overlap_projects(corner, redlines, buffer_m=BUFFER_M, epsg=gk_epsg_of(elements, redlines))
    with caplog.at_level(logging.INFO, logger="spatial.scale"):
        _, _, ptable = overlap_on_dask(elements, redlines, corner, buffer_m=BUFFER_M,
                                       scheduler=cluster.scheduler_address, partitions=16)
    assert 0 in partition_sizes(caplog)[1]
    pd.testing.assert_frame_equal(ptable, expected, check_exact=False, rtol=1e-9, atol=0)


def closed_port() -> int:
    with socket.socket() as probe:  # bound, never listening, then closed
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("address", [f"tcp://127.0.0.1:{closed_port()}", "127.0.0.1"])
def test_an_unreachable_scheduler_is_an_input_error(case, address):
    (elements, redlines, _), _ = case
    start = time.perf_counter()
    with pytest.raises(InputError) as error:
        overlap_on_dask(elements, redlines, scheduler=address)
    assert time.perf_counter() - start < CONNECT_TIMEOUT_S + 5
    assert address in str(error.value) and "dask scheduler" in str(error.value)


@pytest.mark.parametrize("how", [{}, {"workers": 2, "scheduler": "tcp://127.0.0.1:8786"}])
def test_exactly_one_of_workers_and_scheduler(case, how):
    (elements, redlines, _), _ = case
    with pytest.raises(ValueError, match="exactly one of workers= .* or scheduler="):
        overlap_on_dask(elements, redlines, **how)
