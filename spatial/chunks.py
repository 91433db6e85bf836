"""Red-line files larger than memory: read, repaired and measured a chunk at a time.

When the red-line features a run needs would take more than ``chunk_bytes`` of the file (an
estimate: the file's size shared evenly among its features), ``spatial overlap`` does not read
them at once. :func:`plan_chunks` orders them along a Hilbert curve of their boxes and cuts the
curve into chunks, keeping features whose boxes meet (directly or through others) in one chunk, so
that the repair (dissolving overlapping patches of a type, giving cross-type overlaps to one type)
sees each group whole and names a merged patch as a whole read does. :func:`overlap_in_chunks`
then reads one chunk at a time, measures the elements on it and the projects whose nearest red
line may lie in it (lon/lat box bounds, as :mod:`spatial.nearby` chooses features), spills the
overlap pieces to a scratch GeoPackage, and combines the tables (:mod:`spatial.combine`).

Peak memory is then that of one chunk, the elements and the projects, whatever the file's size.
What is not bounded: a group of features whose boxes chain together is one chunk however large;
``--format parquet`` and ``geojson`` take the pieces back into memory to write them (the
GeoPackage streams them). Distances are measured in the Gauss-Kruger zone of the middle of the
elements' and the boxes' extent (a whole read takes the shapes' extent: the same zone unless
that middle lies within a box margin of a zone's edge).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely import STRtree

from . import combine
from .crs import gk_zone_epsg
from .io.gpkg import Spill
from .io.vector import resolve_layer
from .nearby import Selection, declared_crs, layer_attributes, layer_boxes, reach
from .overlap import lonlat, overlap_elements, overlap_projects
from .progress import Stages
from .redlines import (
    RepairReport,
    components,
    load_redlines,
    merged_report,
    redline_ids,
)

#: Share of the memory available that one chunk may take as bytes of the file, by default. A run's
#: peak resident memory is about three times the file bytes it reads (the national benchmark:
#: 1.46 GiB for 490 MB), and the elements, projects and the other core's workbook come on top.
CHUNK_SHARE = 1 / 8


def default_chunk_bytes() -> int:
    """:data:`CHUNK_SHARE` of the memory this process may still take: the system's available memory
    (``MemAvailable``; else the physical memory), or less where its cgroup (a container, a job
    scheduler) sets a lower limit."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            free = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(min(free, _cgroup_room()) * CHUNK_SHARE)


def _cgroup_room(proc: Path = Path("/proc/self/cgroup"), root: Path = Path("/sys/fs/cgroup")) -> float:
    """Bytes the process's memory cgroup (v2 ``memory.max``, v1 ``memory.limit_in_bytes``) still allows; inf if none."""
    try:
        lines = proc.read_text(encoding="ascii").splitlines()
    except OSError:
        return float("inf")
    for line in lines:
        _, controllers, where = line.split(":", 2)
        if controllers == "":  # v2
            limit, usage = root / where.lstrip("/") / "memory.max", "memory.current"
        elif "memory" in controllers.split(","):
            limit, usage = root / "memory" / where.lstrip("/") / "memory.limit_in_bytes", "memory.usage_in_bytes"
        else:
            continue
        try:
            text = limit.read_text(encoding="ascii").strip()
            if text != "max" and int(text) < 2**60:
                return int(text) - int(limit.with_name(usage).read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue
    return float("inf")


def file_bytes(path: str | Path) -> int:
    """Bytes of a vector file: a Shapefile with its .dbf and .shx, any other file (a zip) as it is."""
    path = Path(path)
    if path.suffix.lower() != ".shp":
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.parent.glob(f"{path.stem}.*")
               if p.suffix.lower() in (".shp", ".shx", ".dbf"))


@dataclass
class ChunkPlan:
    """Chunks of the red-line features a run needs (each a :class:`~spatial.nearby.Selection`, rows
    in the layer's order), each chunk's lon/lat box, every feature's box, the extent, the rank of each
    red-line id in the layer, the file bytes per chunk aimed at and those of the largest chunk
    (estimates: the file's bytes per feature)."""

    chunks: list[Selection]
    chunk_boxes: np.ndarray
    boxes: np.ndarray
    extent: np.ndarray
    rank: pd.Series
    chunk_bytes: int
    largest_bytes: int

    def note(self) -> str:
        """What the plan did, in words, for the notes sheet."""
        mb = f"{self.chunk_bytes / 2**20:.3g} MB"
        largest = "" if self.largest_bytes <= self.chunk_bytes else (
            f"; the largest holds about {self.largest_bytes / 2**20:.3g} MB, since features whose boxes meet "
            "are read together")
        return f"read in {len(self.chunks)} chunks of up to about {mb} of the file, one after the other{largest}"


def plan_chunks(path: str | Path, *, layer: str | None, crs: str | None, option: str,
                selection: Selection | None, chunk_bytes: int) -> ChunkPlan | None:
    """The chunks to read the red lines in, or None when the features needed (``selection``, or all)
    take no more than ``chunk_bytes`` of the file, or form one chunk (see the module docstring)."""
    src, layer = resolve_layer(path, layer=layer, geometry="polygon", option=option)
    info = pyogrio.read_info(src, layer=layer)
    total, size = int(info["features"]), file_bytes(path)
    if total == 0 or total > 0 and (len(selection.rows) if selection is not None else total) * size / total <= chunk_bytes:
        return None  # (a count of -1: GDAL does not know it without a read)
    declared = declared_crs(info, crs)
    if declared is None:
        return None  # the whole read says what is missing
    fids, boxes, shaped = layer_boxes(src, layer, declared)
    if selection is None:
        rows, extra = np.flatnonzero(shaped), layer_attributes(path, src, layer, fids)
    else:
        rows, extra = selection.rows, {"attributes": selection.attributes, "encoding": selection.encoding}
    if len(rows) < 2:
        return None
    per_feature = size / max(len(fids), 1)
    runs = _runs(boxes[rows], chunk_bytes / per_feature)
    if len(runs) < 2:
        return None
    chunks = [Selection(fids=fids[rows[run]], rows=rows[run], shaped=shaped, **extra) for run in runs]
    mine = [boxes[c.rows] for c in chunks]
    chunk_boxes = np.array([[b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()] for b in mine])
    extent = np.r_[chunk_boxes[:, :2].min(axis=0), chunk_boxes[:, 2:].max(axis=0)]
    attributes = extra["attributes"]
    rank = pd.Series(np.arange(len(attributes)), index=redline_ids(attributes, attributes).to_numpy())
    return ChunkPlan(chunks, chunk_boxes, boxes[rows], extent, rank, chunk_bytes,
                     int(max(len(run) for run in runs) * per_feature))


def _runs(boxes: np.ndarray, per_chunk: float) -> list[np.ndarray]:
    """Positions of ``boxes`` in runs of about ``per_chunk`` boxes along the Hilbert curve of their
    centres, each run whole groups of boxes that meet, each sorted."""
    shapes = shapely.box(*boxes.T)
    a, b = STRtree(shapes).query(shapes, predicate="intersects")
    label = components(len(boxes), a, b)
    centre = gpd.GeoSeries(shapely.points((boxes[:, :2] + boxes[:, 2:]) / 2.0)).hilbert_distance().to_numpy()
    first = np.full(len(boxes), np.iinfo(np.int64).max)
    np.minimum.at(first, label, centre)  # a group's place on the curve: its first member's
    order = np.lexsort((np.arange(len(boxes)), label, first[label]))
    starts = np.flatnonzero(np.diff(label[order], prepend=-1))
    sizes = np.diff(np.r_[starts, len(order)])
    cuts, held = [], 0
    for start, count in zip(starts.tolist(), sizes.tolist()):
        if held and held + count > per_chunk:
            cuts.append(start)
            held = 0
        held += count
    return [np.sort(run) for run in np.split(order, cuts)]


def _project_rows(plan: ChunkPlan, projects: np.ndarray, epsg: int) -> list[np.ndarray]:
    """For each chunk, the projects (lon/lat geometries; row numbers) whose nearest red line may lie in
    it: those within their reach (:func:`spatial.nearby.reach`) of the chunk's box. Projects without
    a shape go to the chunk with the most projects; with no projects at all the first chunk gets
    the empty list (it gives the table's columns)."""
    placed = np.flatnonzero(~(shapely.is_missing(projects) | shapely.is_empty(projects)))
    rows = [np.empty(0, dtype=int) for _ in plan.chunks]
    if len(placed):
        shapes = shapely.box(*plan.boxes.T)
        far = reach(projects[placed], plan.boxes, shapes, STRtree(shapes), epsg)
        rows = [placed[shapely.distance(projects[placed], shapely.box(*box)) <= far] for box in plan.chunk_boxes]
    fullest = int(np.argmax([len(r) for r in rows]))
    rows[fullest] = np.union1d(rows[fullest], np.setdiff1d(np.arange(len(projects)), placed))
    return rows


@dataclass
class ChunkedResult:
    """The tables of a chunked run (as one run gives them), the pieces (spilled, or an empty layer),
    the repair report of all chunks and the Gauss-Kruger zone of the distances."""

    elements: pd.DataFrame
    overlaps: gpd.GeoDataFrame | Spill
    projects: pd.DataFrame | None
    report: RepairReport
    epsg: int


def overlap_in_chunks(plan: ChunkPlan, path: str | Path, *, layer: str | None, crs: str | None, hint_lon: float,
                      elements: gpd.GeoDataFrame, projects: gpd.GeoDataFrame | None, buffer_m: float,
                      spill_dir: str | Path, stages: Stages) -> ChunkedResult:
    """Measure the elements and projects on the red lines of ``path``, one chunk of ``plan`` at a time
    (one progress stage each); the pieces spill into ``spill_dir`` (to be kept until they are written)."""
    x0, _, x1, _ = shapely.total_bounds(lonlat(elements))
    epsg = gk_zone_epsg((min(x0, plan.extent[0]) + max(x1, plan.extent[2])) / 2.0)
    rows = [None] * len(plan.chunks) if projects is None else _project_rows(plan, lonlat(projects), epsg)
    spill, empty = Spill(spill_dir), None
    tables, ptables, reports = [], [], []
    for k, (chunk, mine) in enumerate(zip(plan.chunks, rows)):
        with stages.stage(f"red lines, chunk {k + 1} of {len(plan.chunks)} ({len(chunk.rows)} features): "
                          "reading, repairing, measuring"):
            redlines, report = load_redlines(path, layer=layer, crs=crs, hint_lon=hint_lon, selection=chunk)
            table, pieces = overlap_elements(elements, redlines, types=report.types)
            spill.append(pieces)
            empty = pieces.iloc[:0] if empty is None else empty
            tables.append(table)
            reports.append(report)
            ptables.append(None if mine is None or not (len(mine) or k == 0) else
                           overlap_projects(projects.iloc[mine], redlines, buffer_m=buffer_m, epsg=epsg))
            del redlines, pieces
    return ChunkedResult(combine.element_table(tables), spill if spill.rows else empty,
                        None if projects is None else combine.project_table(ptables, rows, projects, plan.rank),
                        merged_report(reports), epsg)
