"""Red-line files larger than memory: read, repaired and measured a chunk at a time.

When the red-line features a run needs would take more than ``chunk_bytes`` of the file (an
estimate: the file's size shared evenly among its features), ``spatial overlap`` does not read
them at once. :func:`plan_chunks` orders them along a Hilbert curve of their boxes and cuts the
curve into chunks; features whose boxes meet (directly or through others) stay in one chunk when
they fit in one. :func:`overlap_in_chunks` then takes one chunk at a time:

- it reads the chunk with every feature that overlaps one of its own, directly or through others
  (:func:`_with_overlapping`: the features whose boxes meet are read a chunk at a time and asked;
  nothing more is read where the boxes meet no other chunk's), so that the repair (dissolving
  overlapping patches of a type, giving cross-type overlaps to one type) sees each group whole;
- it keeps the patches whose first member is its own (:func:`spatial.redlines.prepare_redlines`
  with ``owned``), so that each patch is measured once, as one read repairs and names it;
- it measures the elements on them, and the projects whose nearest red line may be one of them
  (:func:`_project_rows`), spills the overlap pieces to a scratch GeoPackage, and the tables are
  combined at the end (:mod:`spatial.combine`).

The files are byte-identical to one read's. Peak memory is that of about two chunks (a chunk and
a batch of the features asked about), the elements and the projects, whatever the file's size;
not bounded: a group of truly overlapping patches is read whole. The spilled pieces stream back
into every output format a write batch at a time (:mod:`spatial.io.stream`).
Distances are measured in the Gauss-Kruger zone of the middle of the elements' and the boxes'
extent (a whole read takes the shapes' extent: the same zone unless that middle lies within a
box margin of a zone's edge).
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
from .arrays import unique
from .crs import gk_zone_epsg, to_lonlat
from .errors import InputError
from .io.stream import Spill
from .io.vector import read_vector, resolve_layer
from .nearby import Selection, declared_crs, layer_attributes, layer_boxes, reach, sql_name
from .overlap import count_spans, lonlat, overlap_elements, overlap_projects
from .progress import Stages
from .redlines import (
    RepairReport,
    clean_geometries,
    components,
    load_redlines,
    merged_report,
    overlapping_pairs,
    redline_ids,
)

#: Chunks a project may be measured in, on average, before red-line vertices bound its reach (see _project_rows).
PROJECT_PASSES = 2
#: Red-line boundary vertices sampled for those bounds, and the file bytes a vertex takes (about).
BOUND_POINTS = 1 << 16
VERTEX_BYTES = 16
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
    """The red-line features a run needs (layer rows, GDAL ids, lon/lat boxes, in the layer's order),
    the chunks to read them in (positions into those, ascending), what a
    :class:`~spatial.nearby.Selection` of them takes from the layer (its attributes, which rows have
    a shape, their encoding), the rank of each red-line id in the layer, the bytes each feature
    takes in the file (:func:`feature_bytes`), the bytes per chunk aimed at, and which boxes meet
    (positions, compressed rows: the neighbours of ``i`` are ``meets[starts[i]:starts[i + 1]]``)."""

    rows: np.ndarray
    fids: np.ndarray
    boxes: np.ndarray
    runs: list[np.ndarray]
    attributes: pd.DataFrame
    shaped: np.ndarray
    encoding: str | None
    rank: pd.Series
    weights: np.ndarray
    chunk_bytes: int
    starts: np.ndarray
    meets: np.ndarray

    def neighbours(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (index into ``positions``, position of a feature whose box meets its box)."""
        count = self.starts[positions + 1] - self.starts[positions]
        mine = np.repeat(np.arange(len(positions)), count)
        first = np.repeat(self.starts[positions] - np.cumsum(count) + count, count)
        return mine, self.meets[first + np.arange(len(mine))]

    def selection(self, positions: np.ndarray) -> Selection:
        """The features at ``positions`` (ascending) as a selection to read."""
        return Selection(fids=self.fids[positions], rows=self.rows[positions], attributes=self.attributes,
                         shaped=self.shaped, encoding=self.encoding)

    def note(self, largest: float) -> str:
        """What was done, in words, for the notes sheet; ``largest``: the most bytes of features read at once."""
        mb = f"{self.chunk_bytes / 2**20:.3g} MB"
        more = "" if largest <= self.chunk_bytes else (
            f"; at most about {largest / 2**20:.3g} MB at once, with the features that overlap a chunk's")
        return f"read in {len(self.runs)} chunks of up to about {mb} of the file, one after the other{more}"


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
    fids, boxes, shaped = layer_boxes(src, layer, declared, info)
    if selection is None:
        rows, extra = np.flatnonzero(shaped), layer_attributes(path, src, layer, fids)
    else:
        rows, extra = selection.rows, {"attributes": selection.attributes, "encoding": selection.encoding}
    if len(rows) < 2:
        return None
    weights = feature_bytes(path, src, info, fids)[rows]
    shapes = shapely.box(*boxes[rows].T)
    a, b = STRtree(shapes).query(shapes, predicate="intersects")
    del shapes
    runs = _runs(boxes[rows], components(len(rows), a, b), weights, chunk_bytes)
    if len(runs) < 2:
        return None
    attributes = extra["attributes"]
    rank = pd.Series(np.arange(len(attributes)), index=redline_ids(attributes, attributes).to_numpy())
    apart = a != b
    order = np.argsort(a[apart], kind="stable")
    starts = np.searchsorted(a[apart][order], np.arange(len(rows) + 1))
    return ChunkPlan(rows, fids[rows], boxes[rows], runs, attributes, shaped, extra["encoding"], rank, weights,
                     chunk_bytes, starts, b[apart][order])


def feature_bytes(path: str | Path, src: str, info: dict, fids: np.ndarray) -> np.ndarray:
    """Bytes of each feature (``fids``: all, in the layer's order; ``info``: the layer's
    :func:`pyogrio.read_info`) in the file: its geometry blob in a GeoPackage, its record (``.shx``)
    in a Shapefile; elsewhere, or when anything is odd, the file's bytes shared evenly."""
    path = Path(path)
    size = file_bytes(path)
    even = np.full(len(fids), size / max(len(fids), 1))
    try:
        if path.suffix.lower() == ".gpkg":
            sizes = pyogrio.read_arrow(src, sql=f'SELECT length({sql_name(info["geometry_name"])}) AS n '
                                       f'FROM {sql_name(info["layer_name"])} ORDER BY {sql_name(info["fid_column"])}',
                                       read_geometry=False)[1]["n"].to_numpy(zero_copy_only=False)
        elif path.suffix.lower() == ".shp":
            shx = np.fromfile(path.with_suffix(".shx"), dtype=">i4", offset=100).reshape(-1, 2)
            sizes = shx[:, 1].astype(float) * 2 + 8
        else:
            return even
    except Exception:  # noqa: BLE001 - any oddity: the even share (only the chunks' sizes depend on it)
        return even
    if len(sizes) != len(fids) or not (np.diff(fids) > 0).all():  # not one per feature in fid order
        return even
    return np.nan_to_num(np.asarray(sizes, dtype=float)) + (size - np.nansum(sizes)) / len(fids)


def _runs(boxes: np.ndarray, label: np.ndarray, weights: np.ndarray, budget: float) -> list[np.ndarray]:
    """Positions of ``boxes`` in runs of about ``budget`` ``weights`` along the Hilbert curve of their
    centres, each sorted. Groups of boxes that meet (``label``: directly or through others) stay in
    one run when they fit in one; a larger group (long bands whose boxes cross) is cut along the
    curve too."""
    centre = gpd.GeoSeries(shapely.points((boxes[:, :2] + boxes[:, 2:]) / 2.0)).hilbert_distance().to_numpy()
    first = np.full(len(boxes), np.iinfo(np.int64).max)
    np.minimum.at(first, label, centre)  # a group's place on the curve: its first member's
    order = np.lexsort((np.arange(len(boxes)), centre, label, first[label]))
    starts = np.flatnonzero(np.diff(label[order], prepend=-1))
    cuts, held = [], 0.0
    for start, stop in zip(starts.tolist(), np.r_[starts[1:], len(order)].tolist()):
        weight = weights[order[start:stop]]
        total = float(weight.sum())
        if held and held + total > budget:
            cuts.append(start)
            held = 0.0
        if total > budget:  # cut within the group; the rest of it starts the next run
            spans = count_spans(weight, int(budget))
            cuts.extend(start + span.start for span in spans[1:])
            total = float(weight[spans[-1]].sum())
        held += total
    return [np.sort(run) for run in np.split(order, cuts)]


def _read_shapes(path: str | Path, plan: ChunkPlan, positions: np.ndarray, *, layer: str | None, crs: str | None,
                 hint_lon: float) -> np.ndarray:
    """The shapes of the features at ``positions`` in lon/lat, cleaned as the repair cleans them."""
    gdf = read_vector(path, layer=layer, geometry="polygon", crs=crs, hint_lon=hint_lon, fids=plan.fids[positions],
                      encoding=plan.encoding)
    return clean_geometries(to_lonlat(gdf).geometry.to_numpy())[0]


def _with_overlapping(plan: ChunkPlan, own: np.ndarray, read) -> np.ndarray:
    """Positions of the features ``own`` and of every feature that overlaps one of them, directly or
    through others (what the repair of ``own`` needs), ascending. The features whose boxes meet
    another's outside (``read(positions)``: cleaned shapes), and those others a chunk at a time,
    are read and asked; a chunk whose boxes meet no other's reads nothing here."""
    held = np.zeros(len(plan.rows), dtype=bool)
    held[own] = True
    frontier, frontier_shapes = own, None
    while len(frontier):
        mine, theirs = plan.neighbours(frontier)
        outside = ~held[theirs]
        if not outside.any():
            break
        near, touching = unique(theirs[outside]), unique(mine[outside])  # only these need reading
        touching_shapes = read(frontier[touching]) if frontier_shapes is None else frontier_shapes[touching]
        found, found_shapes = [], []
        for span in count_spans(plan.weights[near], plan.chunk_bytes):
            batch, batch_shapes = near[span], read(near[span])
            hit = unique(overlapping_pairs(touching_shapes, batch_shapes)[1])
            found.append(batch[hit])
            found_shapes.append(batch_shapes[hit])
        frontier, frontier_shapes = np.concatenate(found), np.concatenate(found_shapes)
        held[frontier] = True
    return np.flatnonzero(held)


def _project_rows(plan: ChunkPlan, projects: np.ndarray, epsg: int, read):
    """A function of lon/lat red-line shapes giving the projects (row numbers of the lon/lat geometries
    ``projects``) whose nearest red line may be one of them: those within their reach
    (:func:`spatial.nearby.reach`) of a shape's box.

    Box corners bound the reach well where the boxes are small. Where they are large (long
    bands), so that the projects would be measured in more than :data:`PROJECT_PASSES` chunks
    each on average, the chunks are read once more (``read(positions)``: cleaned shapes) for
    :data:`BOUND_POINTS` of their boundary vertices, on the red lines, whose distances bound the
    reach more tightly.
    """
    placed = np.flatnonzero(~(shapely.is_missing(projects) | shapely.is_empty(projects)))
    if not len(placed):
        return lambda shapes: placed  # none
    boxes = shapely.box(*plan.boxes.T)
    tree = STRtree(boxes)
    far = reach(projects[placed], plan.boxes, boxes, tree, epsg)
    chunks = shapely.box(*np.array([[*plan.boxes[run, :2].min(axis=0), *plan.boxes[run, 2:].max(axis=0)]
                                     for run in plan.runs]).T)
    passes = len(STRtree(chunks).query(projects[placed], predicate="dwithin", distance=far)[0])  # at most
    if passes > PROJECT_PASSES * len(placed):
        stride = max(1, int(plan.weights.sum() / VERTEX_BYTES / BOUND_POINTS))
        points = np.concatenate([shapely.get_coordinates(read(run))[::stride] for run in plan.runs])
        far = reach(projects[placed], plan.boxes, boxes, tree, epsg, points=shapely.points(points))

    def near(shapes: np.ndarray) -> np.ndarray:
        found = STRtree(shapely.box(*shapely.bounds(shapes).T)).query(projects[placed], predicate="dwithin",
                                                                      distance=far)[0]
        return placed[unique(found)]

    return near


@dataclass
class ChunkedResult:
    """The tables of a chunked run (as one run gives them), the pieces (spilled, or an empty layer),
    the repair report of all chunks, the Gauss-Kruger zone of the distances and the note on the chunks."""

    elements: pd.DataFrame
    overlaps: gpd.GeoDataFrame | Spill
    projects: pd.DataFrame | None
    report: RepairReport
    epsg: int
    note: str


def overlap_in_chunks(plan: ChunkPlan, path: str | Path, *, layer: str | None, crs: str | None, hint_lon: float,
                      elements: gpd.GeoDataFrame, projects: gpd.GeoDataFrame | None, buffer_m: float,
                      spill_dir: str | Path, stages: Stages) -> ChunkedResult:
    """Measure the elements and projects on the red lines of ``path``, one chunk of ``plan`` at a time
    (one progress stage each); the pieces spill into ``spill_dir`` (to be kept until they are written).

    Each chunk is read with the features that overlap its own (:func:`_with_overlapping`) and keeps
    the patches whose first member is its own (``owned``: :func:`~spatial.redlines.prepare_redlines`),
    so that every patch is measured once, repaired as one read repairs it.
    """
    x0, _, x1, _ = shapely.total_bounds(lonlat(elements))
    extent = np.r_[plan.boxes[:, :2].min(axis=0), plan.boxes[:, 2:].max(axis=0)]
    epsg = gk_zone_epsg((min(x0, extent[0]) + max(x1, extent[2])) / 2.0)

    def read(positions: np.ndarray) -> np.ndarray:
        return _read_shapes(path, plan, positions, layer=layer, crs=crs, hint_lon=hint_lon)

    near, unplaced = None, None
    if projects is not None:
        located = lonlat(projects)
        with stages.stage("red lines: which chunks may hold each project's nearest"):
            near = _project_rows(plan, located, epsg, read)
        unplaced = np.flatnonzero(shapely.is_missing(located) | shapely.is_empty(located))
    spill, empty, largest = Spill(spill_dir), None, 0
    tables, ptables, reports, rows = [], [], [], []
    for k, own in enumerate(plan.runs):
        with stages.stage(f"red lines, chunk {k + 1} of {len(plan.runs)} ({len(own)} features): "
                          "reading, repairing, measuring"):
            wanted = _with_overlapping(plan, own, read)
            largest = max(largest, float(plan.weights[wanted].sum()))
            redlines, report = load_redlines(path, layer=layer, crs=crs, hint_lon=hint_lon,
                                             selection=plan.selection(wanted), owned=plan.rows[own])
            reports.append(report)
            if not len(redlines):
                continue  # its features went into patches of other chunks, or had no area
            table, pieces = overlap_elements(elements, redlines, types=report.types)
            spill.append(pieces)
            empty = pieces.iloc[:0] if empty is None else empty
            tables.append(table)
            if near is not None:  # the first chunk measured also takes the projects without a shape
                mine = near(redlines.geometry.to_numpy())
                mine = mine if rows else unique(np.r_[mine, unplaced])
                rows.append(mine)
                ptables.append(overlap_projects(projects.iloc[mine], redlines, buffer_m=buffer_m, epsg=epsg)
                               if len(mine) or len(rows) == 1 else None)
            del redlines, pieces
    if not tables:
        raise InputError.one(Path(path).name, "", "no red-line polygon with an area is left",
                             "check the layer's geometries")
    return ChunkedResult(combine.element_table(tables), spill if spill.rows else empty,
                         None if projects is None else combine.project_table(ptables, rows, projects, plan.rank),
                         merged_report(reports), epsg, plan.note(largest))
