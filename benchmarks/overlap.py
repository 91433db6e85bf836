"""Benchmark: whole ``spatial overlap`` runs against the plain geopandas script and QGIS.

    .venv/bin/python benchmarks/overlap.py [--shapes small,winding,big] [--national]
        [--racers plain,spatial,spatial-w2,spatial-chunks,qgis] [--timeout 900] [--keep DIR]

Every data shape is generated here (fixed seed, so reproducible) into a temporary folder (or
``--keep DIR``), around 114.4°E 26°N: red lines as a GeoPackage in EPSG:4490 (fields ``id``,
``type``; patches disjoint), 40 elements as GeoJSON in EPSG:4326 (30 Voronoi zones and 10
buffered polylines covering the square, field ``id``), 10,000 projects as a GeoPackage in
EPSG:4490 (90 % points, 10 % square parcels of 100-300 m, field ``id``). The shapes:

- ``small``: one star-shaped patch of 240-360 vertices in each 1 km cell of a 100 x 100 km
  square: 10,000 patches, 3.0 M vertices.
- ``winding``: long thin river-like bands (20-130 m wide, 10-60 km long, a vertex every 25-40 m)
  that wind across several elements over 140 x 140 km: 2,347 patches, 4.9 M vertices; 482
  bands have islands (holes), 177 patches are multipolygons of two or more bands. Built in
  straight lanes and bent by two shears of the plane, which keeps them disjoint.
- ``big``: 4 huge patches (radius 8-11 km, 30,000-50,000 vertices, holes) of which two wholly
  contain a small hexagonal element, 250 large ones (radius 1-3 km, 10,000-16,000 vertices,
  most with holes) and 6,459 small ones inside the large elements, over 120 x 120 km: 6,713
  patches, 5.0 M vertices.
- ``national`` (only with ``--national``; generation and each run take minutes): the ``small``
  pattern over 450 x 450 km: 202,500 patches of 60-150 vertices, 21.5 M vertices.
- ``county`` (with ``--national``): the same red lines, with the elements and projects of one
  county, 30 x 30 km in the middle: what a provincial office runs for each county's plan.

The racers, each a separate process with the same inputs, one after the other:

- ``plain``: ``benchmarks/plain_overlap.py``, the geopandas script an analyst writes by hand
  (``to_crs`` to the Gauss-Kruger zone, ``overlay``, ``groupby``, ``sjoin``, ``sjoin_nearest``);
- ``spatial``: ``spatial overlap --buffer-m 500`` with elements, red lines and projects;
- ``spatial-w2``: the same with ``--workers 2``;
- ``spatial-chunks``: the same with ``--chunk-mb`` a tenth of the red-line file: read, repaired and
  measured in about ten chunks one after the other (what a red-line file larger than memory gets);
  its files must be byte-identical to ``spatial``'s (printed below the table);
- ``qgis``: ``benchmarks/qgis_overlap.py`` in the system Python (``/usr/bin/python3`` with
  python3-qgis), QGIS's Overlap analysis on the GRS80 ellipsoid: the element overlap only.

Wall time is ``time.perf_counter`` around the process. Peak memory is measured twice: "peak
tree RSS" is the largest summed RSS, polled every 50 ms from /proc, of the process and every
process of its session or descended from it (worker processes included; pages shared between
processes are counted in each); "max RSS" is ``ru_maxrss`` from ``os.wait4``: the largest
single process among it and its waited-for descendants. The racers are started by a small
launcher process, since a child's ru_maxrss otherwise starts at the peak RSS of this one. A
run past ``--timeout`` seconds is killed with its whole process group.
Area differences are the largest relative difference of ``redline_m2`` over the elements with
more than 1 m² in the reference: QGIS (ellipsoidal, like ``spatial``) and plain (planar GK).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer
from shapely import GeometryType

from spatial.crs import gk_zone_epsg

LON0, LAT0 = 114.4, 26.0
GK_EPSG = gk_zone_epsg(LON0)
SEED = 7
TYPES = ("水源涵养", "生物多样性维护", "水土保持")
HERE = Path(__file__).resolve().parent
QGIS_PYTHON = "/usr/bin/python3"
RACERS = ("plain", "spatial", "spatial-w2", "spatial-chunks", "qgis")
#: Chunks the ``spatial-chunks`` racer reads the red lines in (about).
CHUNKS = 10
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


@dataclass
class Case:
    """One data shape in local metres: the elements cover the square [0, side]²."""

    side: float
    redlines: np.ndarray  # MultiPolygons
    elements: np.ndarray  # Polygons
    element_ids: list[str]
    projects: np.ndarray  # Points and Polygons


# --- generation -------------------------------------------------------------------------------

def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)])


def _within(counts: np.ndarray) -> np.ndarray:
    """For groups of ``counts`` items laid end to end: each item's index within its group."""
    return np.arange(counts.sum()) - np.repeat(_offsets(counts)[:-1], counts)


def _close(xy: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rings of ``lens`` vertices each (concatenated) closed by repeating their first vertex."""
    ends = np.cumsum(lens)
    return np.insert(xy, ends, xy[ends - lens], axis=0), lens + 1


def _reorder(coords: np.ndarray, lens: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated rings of ``lens`` vertices, put in ``order``."""
    new_lens = lens[order]
    return coords[np.repeat(_offsets(lens)[:-1][order], new_lens) + _within(new_lens)], new_lens


def _multipolygons(coords: np.ndarray, ring_lens: np.ndarray, poly_rings: np.ndarray,
                   patch_polys: np.ndarray) -> np.ndarray:
    """MultiPolygons from closed rings (shell then holes), rings per polygon and polygons per patch."""
    offsets = (_offsets(ring_lens), _offsets(poly_rings), _offsets(patch_polys))
    return shapely.from_ragged_array(GeometryType.MULTIPOLYGON, coords, offsets)


def _stars(rng: np.random.Generator, cx: np.ndarray, cy: np.ndarray, r: np.ndarray, nverts: np.ndarray,
           *, wobble: float = 0.09, clockwise: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Closed star-shaped rings of radius r·(1 + Σ a·sin(mθ + φ)), m = 2, 3, 5, 9, a ≤ wobble; (coords, lengths).

    Every ring stays between (1 - 4·wobble)·r and (1 + 4·wobble)·r of its centre.
    """
    n = len(cx)
    amp = rng.uniform(wobble / 3, wobble, (n, 4))
    phase = rng.uniform(0, 2 * np.pi, (n, 4))
    ring = np.repeat(np.arange(n), nverts)
    theta = 2 * np.pi * _within(nverts) / nverts[ring]
    if clockwise is not None:
        theta[clockwise[ring]] *= -1
    rad = np.ones(len(ring))
    for m, harmonic in enumerate((2, 3, 5, 9)):
        rad += amp[ring, m] * np.sin(harmonic * theta + phase[ring, m])
    rad *= r[ring]
    return _close(np.column_stack([cx[ring] + rad * np.cos(theta), cy[ring] + rad * np.sin(theta)]), nverts)


def _strip_rings(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed rings around strips sampled at ``x`` (``lens`` samples each): forward along lo, back along hi."""
    ring_lens = 2 * lens + 1
    ring = np.repeat(np.arange(len(lens)), ring_lens)
    j = _within(ring_lens)
    first, n = _offsets(lens)[:-1][ring], lens[ring]
    back = (j >= n) & (j < 2 * n)
    src = np.where(back, first + 2 * n - 1 - j, first + j)
    src[j == 2 * n] = first[j == 2 * n]
    return np.column_stack([x[src], np.where(back, hi[src], lo[src])]), ring_lens


def _grid_blobs(rng: np.random.Generator, cells: int, vertices: tuple[int, int]) -> np.ndarray:
    """One star-shaped patch (mean radius 282 m, within 484 m of its cell's centre) per 1 km cell."""
    n = cells * cells
    gx, gy = np.divmod(np.arange(n), cells)
    cx = gx * 1000.0 + 500.0 + rng.uniform(-100, 100, n)
    cy = gy * 1000.0 + 500.0 + rng.uniform(-100, 100, n)
    coords, lens = _stars(rng, cx, cy, np.full(n, 282.0), rng.integers(*vertices, n))
    one = np.ones(n, dtype=np.int64)
    return _multipolygons(coords, lens, one, one)


def _elements(rng: np.random.Generator, side: float, seeds: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """30 Voronoi zones (of ``seeds`` or random ones) and 10 buffered polylines, clipped to the square."""
    box = shapely.box(0, 0, side, side)
    seeds = rng.uniform(0, side, (30, 2)) if seeds is None else seeds
    zones = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                                            extend_to=box)), box)
    lines = shapely.linestrings(rng.uniform(0, side, (10, 5, 2)))
    belts = shapely.intersection(shapely.buffer(lines, rng.uniform(0.005, 0.02, 10) * side), box)
    ids = [f"zone-{i:02d}" for i in range(len(zones))] + [f"belt-{i:02d}" for i in range(len(belts))]
    return shapely.segmentize(np.concatenate([zones, belts]), 200.0), ids


def _projects(rng: np.random.Generator, side: float, n: int = 10_000) -> np.ndarray:
    """``n`` projects: points, and every tenth a square parcel of 100-300 m."""
    x, y = rng.uniform(0, side, (2, n))
    half = rng.uniform(50, 150, n)
    return np.where(np.arange(n) % 10 == 0, shapely.box(x - half, y - half, x + half, y + half),
                    shapely.points(x, y))


def _case(rng: np.random.Generator, side: float, redlines: np.ndarray, seeds: np.ndarray | None = None) -> Case:
    elements, ids = _elements(rng, side, seeds)
    return Case(side, redlines, elements, ids, _projects(rng, side))


def small(rng: np.random.Generator) -> Case:
    """10,000 patches of 240-360 vertices over 100 x 100 km."""
    return _case(rng, 100_000.0, _grid_blobs(rng, 100, (240, 361)))


def national(rng: np.random.Generator) -> Case:
    """202,500 patches of 60-150 vertices over 450 x 450 km."""
    return _case(rng, 450_000.0, _grid_blobs(rng, 450, (60, 151)))


def county(rng: np.random.Generator) -> Case:
    """The national red lines with one county's plan: 40 elements and 10,000 projects over the
    30 x 30 km in the middle (what a provincial office runs for each county)."""
    whole = national(rng)
    elements, ids = _elements(rng, 30_000.0, None)
    def shift(g: np.ndarray) -> np.ndarray:
        return shapely.transform(g, lambda c: c + (whole.side - 30_000.0) / 2)
    return Case(whole.side, whole.redlines, shift(elements), ids, shift(_projects(rng, 30_000.0)))


def _shear(xy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(x, y) -> (x + g(y'), y') with y' = y + f(x), f and g sums of sines: a bijection of the plane."""
    def wave(t: np.ndarray) -> np.ndarray:
        phases = rng.uniform(0, 2 * np.pi, 3)
        return sum(a * np.sin(2 * np.pi * t / wl + p) for a, wl, p in zip((4000, 1200, 300), (50e3, 15e3, 4e3), phases))

    y = xy[:, 1] + wave(xy[:, 0])
    return np.column_stack([xy[:, 0] + wave(y), y])


def winding(rng: np.random.Generator) -> Case:
    """~2,500 long thin winding bands (some with islands, some joined in multipolygons) over 140 x 140 km."""
    side, lane_h = 140_000.0, 240.0
    lanes, per_lane = int(side // lane_h), 14
    length = rng.uniform(10e3, 60e3, (lanes, per_lane))
    start = np.cumsum(rng.uniform(300, 3000, (lanes, per_lane)) + length, axis=1) - length
    end = np.minimum(start + length, side)
    keep = end - start > 3000
    lane = np.broadcast_to(np.arange(lanes)[:, None], keep.shape)[keep]
    start, end = start[keep], end[keep]
    nb = len(lane)
    # per band: half width w0, a meander of amplitude a inside its lane, a vertex every ds metres
    w0 = rng.uniform(10, 65, nb)
    a = rng.uniform(0, lane_h / 2 - 1.3 * w0 - 15)
    wl, phase = rng.uniform(1500, 6000, nb), rng.uniform(0, 2 * np.pi, nb)
    wl_w, phase_w = rng.uniform(800, 3000, nb), rng.uniform(0, 2 * np.pi, nb)
    ds = rng.uniform(25, 40, nb)
    ns = ((end - start) / ds).astype(np.int64) + 1
    band = np.repeat(np.arange(nb), ns)
    u = start[band] + _within(ns) * ds[band]
    v = (lane[band] + 0.5) * lane_h + a[band] * np.sin(2 * np.pi * u / wl[band] + phase[band])
    w = w0[band] * (1 + 0.3 * np.sin(2 * np.pi * u / wl_w[band] + phase_w[band]))
    shells, shell_lens = _strip_rings(u, v - w, v + w, ns)
    # islands: in a fifth of the bands 1-3, each in the middle of its own stretch, half as wide as the band
    k = np.where(rng.random(nb) < 0.2, rng.integers(1, 4, nb), 0)
    ib = np.repeat(np.arange(nb), k)
    stretch = ns[ib] / k[ib]
    j = _within(k)
    q = np.minimum(rng.uniform(100, 400, len(ib)) / ds[ib], 0.25 * stretch).astype(np.int64)
    c = ((j + rng.uniform(0.4, 0.6, len(ib))) * stretch).astype(np.int64)
    ib, q, c = ib[q >= 3], q[q >= 3], c[q >= 3]
    n_isl = 2 * q + 1
    isl = np.repeat(_offsets(ns)[:-1][ib] + c - q, n_isl) + _within(n_isl)  # sample of the band
    t = -1 + (2 * _within(n_isl) + 1) / np.repeat(n_isl, n_isl)
    half = 0.5 * w0[np.repeat(ib, n_isl)] * np.sqrt(1 - t * t)
    holes, hole_lens = _strip_rings(u[isl], v[isl] + half, v[isl] - half, n_isl)  # clockwise
    order = np.lexsort((np.r_[np.zeros(nb), np.ones(len(ib))], np.r_[np.arange(nb), ib]))
    coords, ring_lens = _reorder(np.concatenate([shells, holes]), np.concatenate([shell_lens, hole_lens]), order)
    # a tenth of the bands continue the patch of the band before them in the same lane
    new = np.r_[True, lane[1:] != lane[:-1]] | (rng.random(nb) > 0.1)
    patch_polys = np.bincount(np.cumsum(new) - 1)
    redlines = _multipolygons(_shear(coords, rng), ring_lens, 1 + np.bincount(ib, minlength=nb), patch_polys)
    return _case(rng, side, redlines)


def big(rng: np.random.Generator) -> Case:
    """Huge and large patches with holes, and small patches, over 120 x 120 km; see the module docstring."""
    side, margin = 120_000.0, 300.0
    centres = np.array([[0.27, 0.3], [0.72, 0.7], [0.75, 0.25], [0.25, 0.75]]) * side
    radii = rng.uniform(8000, 11000, 4)
    while len(radii) < 254:  # large patches, placed where their bounding disc is free
        c, r = rng.uniform(0, side, 2), rng.uniform(1000, 3000)
        if np.all(np.hypot(*(centres - c).T) > 1.2 * (radii + r) + margin):
            centres, radii = np.vstack([centres, c]), np.append(radii, r)
    # holes: 4 in each huge patch, 0-3 in a large one, at half the radius, apart from each other
    nh = np.r_[np.full(4, 4), rng.integers(0, 4, 250)]
    hp = np.repeat(np.arange(len(radii)), nh)
    turn = rng.uniform(0, 2 * np.pi, len(radii))
    angle = 2 * np.pi * _within(nh) / nh[hp] + turn[hp]
    hx, hy = centres[hp].T + 0.5 * radii[hp] * np.array([np.cos(angle), np.sin(angle)])
    # rings in order: each patch's shell, then its holes
    order = np.lexsort((np.r_[np.zeros(len(radii)), np.ones(len(hp))], np.r_[np.arange(len(radii)), hp]))
    cx, cy = np.r_[centres[:, 0], hx][order], np.r_[centres[:, 1], hy][order]
    r = np.r_[radii, rng.uniform(0.08, 0.14, len(hp)) * radii[hp]][order]
    nverts = np.r_[rng.integers(30_000, 50_001, 4), rng.integers(10_000, 16_001, 250),
                   rng.integers(200, 601, len(hp))][order]
    clockwise = np.r_[np.zeros(len(radii), bool), np.ones(len(hp), bool)][order]
    coords, lens = _stars(rng, cx, cy, r, nverts, wobble=0.05, clockwise=clockwise)
    large = _multipolygons(coords, lens, 1 + nh, np.ones(len(radii), dtype=np.int64))
    # small patches on a 1 km grid, where they keep clear of the large ones
    g = (np.arange(120) + 0.5) * 1000.0
    sx, sy = [a.ravel() + rng.uniform(-150, 150, a.size) for a in np.meshgrid(g, g)]
    sr = rng.uniform(120, 220, sx.size)
    dist = np.hypot(sx[:, None] - centres[:, 0], sy[:, None] - centres[:, 1])
    free = np.all(dist > 1.2 * radii + 1.36 * sr[:, None] + margin, axis=1)
    coords, lens = _stars(rng, sx[free], sy[free], sr[free], rng.integers(150, 301, free.sum()))
    one = np.ones(free.sum(), dtype=np.int64)
    # elements: two tight hexagonal clusters of Voronoi seeds in huge patches (small hexagonal
    # zones wholly inside them), 16 seeds elsewhere
    turns = np.arange(6) * np.pi / 3
    hexagon = np.vstack([[0, 0], 3000 * np.column_stack([np.cos(turns), np.sin(turns)])])
    others = rng.uniform(0, side, (400, 2))
    others = others[np.all(np.hypot(*(others[:, None, :] - centres[:2]).transpose(2, 0, 1)) > 9000, axis=1)][:16]
    seeds = np.vstack([centres[0] + hexagon, centres[1] + hexagon, others])
    return _case(rng, side, np.concatenate([large, _multipolygons(coords, lens, one, one)]), seeds)


SHAPES: dict[str, Callable[[np.random.Generator], Case]] = {
    "small": small, "winding": winding, "big": big, "national": national, "county": county}


@dataclass
class Inputs:
    """The files of one shape and its size."""

    elements: Path
    redlines: Path
    projects: Path
    patches: int
    vertices: int


def write_case(case: Case, folder: Path) -> Inputs:
    """Write the case (moved to its place around LON0, LAT0) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    xc, yc = Transformer.from_crs(4490, GK_EPSG, always_xy=True).transform(LON0, LAT0)
    x0, y0 = xc - case.side / 2, yc - case.side / 2

    def frame(data: dict, geoms: np.ndarray, crs: int) -> gpd.GeoDataFrame:
        moved = shapely.transform(geoms, lambda xy: xy + (x0, y0))
        return gpd.GeoDataFrame(data, geometry=moved, crs=GK_EPSG).to_crs(crs)

    n = len(case.redlines)
    types = np.random.default_rng(SEED).choice(TYPES, n)
    inputs = Inputs(folder / "elements.geojson", folder / "redlines.gpkg", folder / "projects.gpkg", n,
                    int(shapely.get_num_coordinates(case.redlines).sum()))
    frame({"id": [f"RL{i:07d}" for i in range(n)], "type": types}, case.redlines, 4490).to_file(
        inputs.redlines, layer="redlines", engine="pyogrio")
    frame({"id": case.element_ids}, case.elements, 4326).to_file(inputs.elements, engine="pyogrio")
    frame({"id": [f"P{i:05d}" for i in range(len(case.projects))]}, case.projects, 4490).to_file(
        inputs.projects, layer="projects", engine="pyogrio")
    return inputs


def generate(shape: str, folder: Path) -> Inputs:
    """Generate, describe and write one shape."""
    t = time.perf_counter()
    case = SHAPES[shape](np.random.default_rng(SEED))
    built = time.perf_counter() - t
    inputs = write_case(case, folder)
    holes = int((shapely.get_num_interior_rings(shapely.get_parts(case.redlines)) > 0).sum())
    multi = int((shapely.get_num_geometries(case.redlines) > 1).sum())
    print(f"{shape}: {inputs.patches:,} patches, {inputs.vertices:,} vertices ({multi:,} multipolygons, "
          f"{holes:,} polygons with holes); generated in {built:.1f} s, written in "
          f"{time.perf_counter() - t - built:.1f} s", flush=True)
    return inputs


# --- racing -----------------------------------------------------------------------------------

@dataclass
class Run:
    """One racer's run: status is "ok", "timeout after N s" or "failed: <reason>"."""

    status: str
    wall_s: float
    peak_mib: float
    maxrss_mib: float
    out: Path


def tree_rss(root: int) -> int:
    """Summed RSS (bytes) of ``root``, the processes of its session and their descendants."""
    procs: dict[int, tuple[int, int, int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(b")") + 2:].split()
            procs[int(name)] = int(fields[1]), int(fields[3]), int(fields[21])  # ppid, session, rss pages
    members = {pid for pid, (_, sid, _) in procs.items() if pid == root or sid == root}
    grew = True
    while grew:
        more = {pid for pid, (ppid, _, _) in procs.items() if ppid in members} - members
        members |= more
        grew = bool(more)
    return sum(procs[pid][2] for pid in members) * PAGE


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


#: Starts each racer and waits for it: a small process, started before any data is generated,
#: because on Linux a child's ru_maxrss starts at the peak RSS of the process it was forked from.
LAUNCHER = """
import json, os, subprocess, sys, time
for line in sys.stdin:
    cmd, out = json.loads(line)
    with open(os.path.join(out, "stdout.txt"), "wb") as so, open(os.path.join(out, "stderr.txt"), "wb") as se:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=so, stderr=se, start_new_session=True)
        print(proc.pid, flush=True)
        status, usage = os.wait4(proc.pid, 0)[1:]
        proc.returncode = os.waitstatus_to_exitcode(status)
        print(json.dumps([time.perf_counter() - t, proc.returncode, usage.ru_maxrss]), flush=True)
"""


def race(launcher: subprocess.Popen, cmd: list[str], out: Path, timeout: float) -> Run:
    """Run ``cmd`` through the launcher (stdout, stderr to files in ``out``) and measure it."""
    out.mkdir(parents=True, exist_ok=True)
    launcher.stdin.write(json.dumps([cmd, str(out)]) + "\n")
    launcher.stdin.flush()
    pid = int(launcher.stdout.readline())
    peak, stop, timed_out = [0], threading.Event(), threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss(pid))
            stop.wait(0.05)

    def expire() -> None:
        timed_out.set()
        _kill_group(pid)

    sampler, timer = threading.Thread(target=sample, daemon=True), threading.Timer(timeout, expire)
    sampler.start()
    timer.start()
    wall, code, maxrss_kib = json.loads(launcher.stdout.readline())
    timer.cancel()
    stop.set()
    sampler.join()
    _kill_group(pid)  # whatever it left behind
    if timed_out.is_set():
        state = f"timeout after {timeout:g} s"
    elif code != 0:
        lines = [ln for ln in (out / "stderr.txt").read_text(errors="replace").splitlines() if ln.strip()]
        state = f"failed: {lines[-1].strip() if lines else f'exit status {code}'}"
    else:
        state = "ok"
    return Run(state, wall, peak[0] / MIB, maxrss_kib / 1024, out / "result")


def command(racer: str, inputs: Inputs, out: Path) -> list[str]:
    """The command line of one racer."""
    e, r, p = str(inputs.elements), str(inputs.redlines), str(inputs.projects)
    if racer == "plain":
        return [sys.executable, str(HERE / "plain_overlap.py"), e, r, p, str(out)]
    if racer == "qgis":
        return [QGIS_PYTHON, str(HERE / "qgis_overlap.py"), e, r, str(out)]
    spatial = shutil.which("spatial", path=str(Path(sys.executable).parent)) or shutil.which("spatial") or "spatial"
    cmd = [spatial, "overlap", "--elements", e, "--redlines", r, "--projects", p, "--buffer-m", "500",
           "--out", str(out)]
    if racer == "spatial-chunks":
        return cmd + ["--chunk-mb", f"{inputs.redlines.stat().st_size / CHUNKS / MIB:.3f}"]
    return cmd + ["--workers", "2"] if racer == "spatial-w2" else cmd


def qgis_version() -> str | None:
    """QGIS's version if the system Python imports qgis.core, else None."""
    try:
        done = subprocess.run([QGIS_PYTHON, "-c", "from qgis.core import Qgis; print(Qgis.QGIS_VERSION)"],
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


# --- report -----------------------------------------------------------------------------------

def _areas(run: Run | None) -> pd.Series | None:
    """redline_m2 by element id from a successful run."""
    if run is None or run.status != "ok":
        return None
    table = pd.read_csv(run.out / "elements.csv", encoding="utf-8-sig", dtype={"id": str})
    return table.set_index("id")["redline_m2"].astype(float)


def _max_rel_diff(areas: pd.Series | None, ref: pd.Series | None) -> str:
    if areas is None or ref is None:
        return "—"
    ref = ref[ref > 1.0]
    rel = (areas.reindex(ref.index).fillna(0.0) - ref).abs() / ref
    return f"{rel.max() * 100:.2g} %" if len(rel) else "—"


def _speedup(run: Run, ref: Run | None) -> str:
    if ref is None or ref.status != "ok" or run.status != "ok":
        return "—"
    return f"{ref.wall_s / run.wall_s:.2f}x"


def _projects_check(runs: dict[str, Run]) -> str | None:
    """How far plain's and spatial's project verdicts and distances agree, or None."""
    plain, mine = runs.get("plain"), runs.get("spatial")
    if plain is None or mine is None or plain.status != "ok" or mine.status != "ok":
        return None
    a, b = (pd.read_csv(r.out / "projects.csv", encoding="utf-8-sig", dtype={"id": str}).set_index("id")
            for r in (plain, mine))
    b = b.reindex(a.index)
    flags = (a["in_redline"].astype(bool) != b["in_redline"].astype(bool)).sum()
    dist = (a["redline_distance_m"] - b["redline_distance_m"]).abs().max()
    return f"in_redline differs for {flags} of {len(a)} projects, largest distance difference {dist:.2f} m"


def _same_files(runs: dict[str, Run], racer: str) -> str | None:
    """Whether ``racer`` wrote the same bytes as ``spatial`` (tables and pieces), or None."""
    mine, ref = runs.get(racer), runs.get("spatial")
    if mine is None or ref is None or mine.status != "ok" or ref.status != "ok":
        return None
    names = ["elements.csv", "projects.csv", "overlaps.gpkg"]
    differ = [n for n in names if (mine.out / n).read_bytes() != (ref.out / n).read_bytes()]
    return f"{racer} vs spatial: " + (f"{', '.join(differ)} DIFFER" if differ else f"{', '.join(names)} byte-identical")


def machine(qgis: str | None) -> str:
    """One line about this machine and the libraries."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return (f"machine: {len(os.sched_getaffinity(0))} cores ({cpu}), {mem:.0f} GiB; "
            f"Python {platform.python_version()}, geopandas {gpd.__version__}, shapely {shapely.__version__}, "
            f"GEOS {shapely.geos_version_string}, pyogrio {pyogrio.__version__}, GDAL {pyogrio.__gdal_version_string__}; "
            f"QGIS {qgis or 'not available'}; load average {_load()}")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="small,winding,big",
                        help="comma-separated: small, winding, big, national, county")
    parser.add_argument("--national", action="store_true", help="add the national and county shapes (minutes)")
    parser.add_argument("--racers", default=",".join(RACERS), help=f"comma-separated, of {', '.join(RACERS)}")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run before it is killed")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it (data and outputs)")
    args = parser.parse_args()
    shapes = list(dict.fromkeys([s for s in args.shapes.split(",") if s] + (["national", "county"] if args.national else [])))
    racers = [r for r in args.racers.split(",") if r]
    unknown = sorted(set(shapes) - set(SHAPES)) + sorted(set(racers) - set(RACERS))
    if unknown:
        parser.error(f"unknown shape or racer: {', '.join(unknown)}")

    qgis = qgis_version() if "qgis" in racers else None
    print(machine(qgis), flush=True)
    if "qgis" in racers and qgis is None:
        print(f"qgis rows skipped: {QGIS_PYTHON} cannot import qgis.core (install python3-qgis)", flush=True)
        racers.remove("qgis")
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)
    with tempfile.TemporaryDirectory(prefix="overlap-bench-") as tmp:
        root = args.keep or Path(tmp)
        rows, notes = [], []
        for shape in shapes:
            inputs = generate(shape, root / shape / "data")
            runs: dict[str, Run] = {}
            for racer in racers:
                out = root / shape / racer
                shutil.rmtree(out, ignore_errors=True)
                run = race(launcher, command(racer, inputs, out / "result"), out, args.timeout)
                runs[racer] = run
                print(f"  {shape}/{racer}: {run.status}, {run.wall_s:.1f} s, peak tree RSS {run.peak_mib:,.0f} MiB",
                      flush=True)
            areas = {racer: _areas(run) for racer, run in runs.items()}
            for racer, run in runs.items():
                ok = run.status == "ok"
                rows.append([shape, f"{inputs.patches:,}", f"{inputs.vertices:,}", racer,
                             f"{run.wall_s:.1f}" if ok else run.status, f"{run.peak_mib:,.0f}",
                             f"{run.maxrss_mib:,.0f}", _speedup(run, runs.get("plain")),
                             _speedup(run, runs.get("qgis")),
                             _max_rel_diff(areas[racer], areas.get("qgis")) if racer != "qgis" else "—",
                             _max_rel_diff(areas[racer], areas.get("plain")) if racer != "plain" else "—"])
            check = _projects_check(runs)
            if check:
                notes.append(f"{shape}: plain vs spatial projects: {check}")
            same = _same_files(runs, "spatial-chunks")
            if same:
                notes.append(f"{shape}: {same}")
    launcher.stdin.close()
    launcher.wait()
    header = ["shape", "patches", "vertices", "racer", "wall s", "peak tree RSS MiB", "max RSS MiB", "vs plain",
              "vs QGIS", "Δ area vs QGIS", "Δ area vs plain"]
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * 4 + ["---:"] * (len(header) - 4)) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print("QGIS runs the element overlap only (no projects), so speed-ups against it favour QGIS; "
          "Δ area is the largest relative difference of redline_m2 over the elements with more than 1 m² "
          "in the reference (QGIS: ellipsoidal GRS80, plain: planar Gauss-Kruger).")
    for note in notes:
        print(note)
    print(f"load average at the end: {_load()} (other processes share the {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
