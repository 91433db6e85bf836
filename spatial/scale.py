"""The overlap engine on Dask: red lines split in space, elements and projects broadcast.

:func:`overlap_on_dask` cuts the red lines into runs along a Hilbert curve of about equal vertex
counts (:func:`hilbert_partitions`), sends the elements and projects to every worker once, runs
the engine (:func:`~spatial.overlap.overlap_elements`, :func:`~spatial.overlap.overlap_projects`)
on each run with the projects whose nearest red line may lie in it, and combines the results into
the single-process tables: the same columns, dtypes, ids and numbers.

When to switch: not on one small machine. Measured on this 2-core machine (other jobs running;
best of 3; elements and projects, buffer 500 m) with star-shaped patches of 240-360 vertices, one
per km² (the ``small`` shape of ``benchmarks/overlap.py``, over 1, 4 and 10 times its area), 40
elements and one project per patch:

=====  =======  ========  ===========  =========  ====================
scale  patches  vertices  one process  workers=2  2 workers already up
=====  =======  ========  ===========  =========  ====================
1      10,000   3.0 M     1.3 s        3.0 s      1.9 s
4      40,000   12 M      5.5 s        7.8 s      7.7 s
10     99,856   30 M      16.9 s       25.1 s     23.0 s
=====  =======  ========  ===========  =========  ====================

``workers=2`` never beat one process: the engine costs about as much per vertex as sending the
vertices to a worker and the overlap pieces back, so a run takes twice the CPU time of one process
(36 s against 19 s at scale 10), a fifth of it in the calling process. Switch only where the
workers have several times the cores of the calling machine: a cluster.

On a cluster: run ``dask scheduler`` on one machine (it listens on ``tcp://HOST:8786``) and
``dask worker tcp://HOST:8786`` on each machine that should compute (each needs this package
installed), then pass ``scheduler="tcp://HOST:8786"`` (``spatial overlap --scheduler
tcp://HOST:8786``). ``workers=N`` starts N local worker processes instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from distributed import Client, LocalCluster
from shapely import STRtree

from .errors import InputError
from . import combine
from .overlap import gk_epsg_of, overlap_elements, overlap_projects

log = logging.getLogger(__name__)

#: Seconds to wait for a scheduler given by address.
CONNECT_TIMEOUT_S = 3
#: Red-line partitions per worker thread when ``partitions`` is not given.
PARTITIONS_PER_THREAD = 2
#: One red-line vertex in this many bounds the projects' nearest distances from above.
VERTEX_STRIDE = 256
#: Metres added to those bounds (the same projections rounded differently).
SLACK_M = 1.0


def overlap_on_dask(elements: gpd.GeoDataFrame, redlines: gpd.GeoDataFrame,
                    projects: gpd.GeoDataFrame | None = None, *, buffer_m: float = 0.0,
                    workers: int | None = None, scheduler: str | None = None, partitions: int | None = None,
                    types: list[str] | None = None) -> tuple[pd.DataFrame, gpd.GeoDataFrame, pd.DataFrame | None]:
    """:func:`~spatial.overlap.overlap_elements` and :func:`~spatial.overlap.overlap_projects` on Dask.

    Parameters
    ----------
    elements, projects
        As for the engine; sent to every worker once.
    redlines
        Prepared red lines (:func:`spatial.redlines.prepare_redlines`: disjoint, EPSG:4326).
    buffer_m
        Distance in metres for the projects' ``within_buffer``.
    workers
        Start a local cluster of this many single-threaded worker processes (closed at the end).
    scheduler
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786`` (left running).
    partitions
        Red-line partitions; default :data:`PARTITIONS_PER_THREAD` per worker thread, at least 2.
    types
        The red-line types to give columns for (see :func:`~spatial.overlap.overlap_elements`);
        by default the layer's own.

    Returns
    -------
    element_table, overlaps, project_table
        The engine's tables, equal to a single-process run's; ``project_table`` is None without
        projects.

    Raises
    ------
    ValueError
        Unless exactly one of ``workers`` and ``scheduler`` is given.
    InputError
        When no scheduler is reached at ``scheduler`` (unreachable, or not an address).
    """
    if (workers is None) == (scheduler is None):
        raise ValueError("give exactly one of workers= (start local worker processes) "
                         "or scheduler= (the address of a running Dask scheduler)")
    redlines = redlines.to_crs(4326)  # partitions are bounded in lon/lat
    if types is None and "type" in redlines.columns:
        types = sorted(set(redlines["type"].astype(str)))
    with _client(workers, scheduler) as client:
        count = partitions or max(2, PARTITIONS_PER_THREAD * sum(client.nthreads().values()))
        runs = hilbert_partitions(redlines, count)
        epsg = gk_epsg_of(elements, redlines)
        rows = [None] * len(runs) if projects is None else _nearby_projects(projects, runs, epsg)
        log.info("red lines in %d partitions of %s rows; projects per partition: %s", len(runs),
                 [len(run) for run in runs], [0 if r is None else len(r) for r in rows])
        shared = client.scatter({"elements": elements, "projects": projects}, broadcast=True, hash=False)
        futures = client.map(_partition, client.scatter(runs, hash=False), rows, **shared, types=types,
                             buffer_m=buffer_m, epsg=epsg)
        tables, overlaps, ptables = zip(*client.gather(futures))
    rank = pd.Series(np.arange(len(redlines)), index=redlines["id"].astype(str))
    return (combine.element_table(list(tables)), combine.overlaps(list(overlaps)),
            None if projects is None else combine.project_table(list(ptables), rows, projects, rank))


def hilbert_partitions(redlines: gpd.GeoDataFrame, count: int) -> list[gpd.GeoDataFrame]:
    """The red lines in ``count`` runs along the Hilbert curve of about equal vertex counts, each in the layer's order.

    Each row is in exactly one partition; the layer's order within a partition makes the
    engine name the same red line among equals as on the whole layer.
    """
    order = np.argsort(redlines.hilbert_distance().to_numpy(), kind="stable")
    vertices = np.cumsum(shapely.get_num_coordinates(redlines.geometry.to_numpy()[order]))
    cuts = np.searchsorted(vertices, vertices[-1] * np.arange(1, count) / count)
    return [redlines.iloc[np.sort(run)] for run in np.split(order, cuts) if len(run)]


def _nearby_projects(projects: gpd.GeoDataFrame, runs: list[gpd.GeoDataFrame], epsg: int) -> list[np.ndarray]:
    """For each red-line partition, the projects (row numbers) whose nearest red line may lie in it.

    The engine measures in zone ``epsg`` with straight edges between projected vertices. So a
    project is no farther from its nearest red line than from any red-line vertex (the upper
    bound: every :data:`VERTEX_STRIDE`-th vertex), and no nearer to a partition's red lines than
    to the zone box of their lon/lat box (the box of its densified outline: the projection has no
    extremum inside). A partition gets the projects whose lower bound is within the upper one,
    and the partition of the vertex that gave it; projects without geometry go to the partition
    with the most projects.
    """
    geoms = projects.geometry.set_crs(projects.crs or 4326, allow_override=True).to_crs(epsg).to_numpy()
    samples = [shapely.get_coordinates(run.geometry.to_numpy())[::VERTEX_STRIDE] for run in runs]
    vertices = gpd.GeoSeries(shapely.points(np.concatenate(samples)), crs=4326).to_crs(epsg).to_numpy()
    (found, vertex), dist = STRtree(vertices).query_nearest(geoms, return_distance=True, all_matches=False)
    upper, home = np.full(len(geoms), np.inf), np.full(len(geoms), -1)
    upper[found], home[found] = dist + SLACK_M, np.repeat(np.arange(len(runs)), [len(s) for s in samples])[vertex]
    rows = []
    for k, run in enumerate(runs):
        outline = gpd.GeoSeries([shapely.segmentize(shapely.box(*run.total_bounds), 0.01)], crs=4326)
        lower = shapely.distance(geoms, shapely.box(*outline.to_crs(epsg).total_bounds))
        rows.append(np.flatnonzero((lower <= upper) | (home == k)))
    fullest = int(np.argmax([len(r) for r in rows]))  # has projects with geometry, so named red lines
    rows[fullest] = np.union1d(rows[fullest], np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    return rows


@contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Client]:
    """A client of a new local cluster (``workers``) or of the scheduler at ``scheduler``."""
    if workers is not None:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          host="127.0.0.1") as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:  # unreachable, or not an address
        raise InputError.one(scheduler, "", f"no Dask scheduler reached ({exc})",
                             "give the address that `dask scheduler` prints (tcp://HOST:8786) of a running one; "
                             "start it with `dask scheduler`, its workers with `dask worker tcp://HOST:8786`"
                             ) from None
    with client:
        yield client


def _partition(redlines: gpd.GeoDataFrame, rows: np.ndarray | None, elements: gpd.GeoDataFrame,
               projects: gpd.GeoDataFrame | None, *, types: list[str] | None, buffer_m: float, epsg: int):
    """The engine's element table, overlaps and project table of ``projects.iloc[rows]`` on one partition."""
    table, overlaps = overlap_elements(elements, redlines, types=types)
    ptable = None if rows is None or not len(rows) else overlap_projects(projects.iloc[rows], redlines,
                                                                         buffer_m=buffer_m, epsg=epsg)
    return table, overlaps, ptable
