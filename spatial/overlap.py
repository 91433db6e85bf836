"""Overlap of plan elements and projects with ecological protection red lines.

Every step costs about linearly in the vertices, whatever the shapes (many small patches, a
few huge winding ones, patches larger than the elements or elements larger than the patches);
no step asks a question whose cost is the vertex count of a huge polygon per candidate pair:

- which boundaries meet is decided on short boundary pieces (4 to 64 segments each, one
  ``shapely.STRtree`` of the smaller side, the other side streamed through it a bounded number
  of vertices at a time): a piece pair costs a bounded number of segment tests;
- every other candidate pair (bounding boxes overlap) is either disjoint or one polygon lies
  inside the other: one vertex decides (``shapely.contains_xy`` on a prepared polygon,
  logarithmic in its size), and the inner polygon counts by its own area;
- only pairs whose boundaries meet are intersected (GEOS clips both to the common box first),
  in chunks on a few threads (GEOS releases the GIL);
- projects are found in red lines by box, then by the polygon (large ones prepared one at a
  time: logarithmic point questions, bounded memory);
- nearest red lines and depths are searched among boundary pieces in a local linear frame, and
  the candidates that the frame's distortion cannot rule out are measured exactly in the
  Gauss-Kruger zone (pyproj).

Areas are ellipsoidal on CGCS2000/GRS80 (:func:`ellipsoidal_area_m2`). Red lines must be
disjoint (as :func:`spatial.redlines.prepare_redlines` makes them) so that per-element sums
count every square metre once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from shapely import STRtree

from .arrays import THREADS, in_sorted, unique
from .crs import M2_PER_MU, ellipsoidal_area_m2, gk_zone_epsg, to_lonlat

#: Candidate pairs whose boundaries meet, intersected per batch (bounds memory).
CHUNK = 2048
#: Boundary pieces: targets (elements, parcels) are segmentized to this many degrees (~200 m)
#: and cut into pieces of TARGET_PIECE segments; red lines into pieces of POLY_PIECE segments
#: (64 rather than 16: a quarter of the GEOS objects to make, and 10-15 % less time for the
#: whole ``spatial overlap`` on all three benchmark shapes, same results).
BOUNDARY_STEP_DEG = 0.002
TARGET_PIECE = 4
POLY_PIECE = 64
#: Vertices of boundaries cut into pieces at once (bounds memory on national data).
PIECE_CHUNK_VERTICES = 1 << 18
#: Boundary vertices sampled to bound nearest distances from above (more: tighter, slower to index).
BOUND_SAMPLES = 1 << 16
#: Red-line polygons with more vertices are prepared (indexed) one at a time for contact questions.
PREPARE_VERTICES = 512
#: Overlaps smaller than this (m²) are no overlap: slivers of floating-point noise along an edge two
#: layers share (a red line that ends where an element begins, in another CRS), 1e-6 m² and less.
#: Areas are written to 0.01 m², and a sliver's coordinates, written to 6 decimals, collapse to a line.
MIN_PIECE_M2 = 0.005
#: The nearest-edge search drops the polygons out of every geometry's reach first when they have more
#: vertices than this per geometry asked: the drop costs about 2 µs per geometry (1 M points: 1.9 s),
#: cutting a vertex into pieces about 0.1 µs.
NEAR_FILTER_VERTICES = 32
#: Held while geometries are prepared, asked and unprepared: the index lives on the (shared) geometry
#: object, so one thread's ``destroy_prepared`` must not pull it from under another's question
#: (``spatial overlap`` locates projects and intersects elements at once, on the same red lines).
PREPARED = threading.Lock()
_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon


def polygonal(geom):
    """The polygonal part of a geometry (lines and points of a collection dropped); None if none."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    return shapely.union_all(parts)


def lonlat(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Geometries of a layer in EPSG:4326 as an object array (see :func:`spatial.crs.to_lonlat`:
    CGCS2000 lon/lat as it is, projected shapes densified first)."""
    return np.asarray(to_lonlat(gdf).geometry.to_numpy(), dtype=object)


def _ids(gdf: gpd.GeoDataFrame, what: str) -> np.ndarray:
    if "id" not in gdf.columns:
        raise ValueError(f"{what} need an 'id' column; columns: {', '.join(map(str, gdf.columns))}")
    ids = gdf["id"].astype(str)
    if not ids.is_unique:
        raise ValueError(f"{what} ids are not unique: {', '.join(sorted(ids[ids.duplicated()].unique()))}")
    return ids.to_numpy()


def polygon_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The single polygons of the polygonal geometries of ``geoms`` and the index of each one's geometry.

    Polygons are passed on as they are; only MultiPolygons are split (into copies of their parts).
    """
    geoms = np.asarray(geoms, dtype=object)
    kind = shapely.get_type_id(geoms)
    keep = np.flatnonzero(np.isin(kind, _POLYGONAL) & ~shapely.is_empty(geoms))
    multi = kind[keep] == 6
    if not multi.any():
        return geoms[keep], keep
    count = np.ones(len(keep), dtype=np.int64)
    count[multi] = shapely.get_num_geometries(geoms[keep[multi]])
    first = np.cumsum(count) - count  # where each kept geometry's parts begin
    parts = np.empty(int(count.sum()), dtype=object)
    parts[first[~multi]] = geoms[keep[~multi]]
    sub, src = shapely.get_parts(geoms[keep[multi]], return_index=True)
    parts[first[multi][src] + np.arange(len(src)) - np.searchsorted(src, src)] = sub
    return parts, np.repeat(keep, count)


def vertex_spans(geoms: np.ndarray, limit: int) -> list[slice]:
    """Consecutive slices of ``geoms`` holding about ``limit`` vertices each (one geometry at least)."""
    return count_spans(shapely.get_num_coordinates(geoms), limit)


def count_spans(counts: np.ndarray, limit: int) -> list[slice]:
    """Consecutive slices of items of ``counts`` (vertices) holding about ``limit`` each (one item at least)."""
    block = np.cumsum(counts) // max(limit, 1)
    cuts = np.r_[0, np.flatnonzero(np.diff(block)) + 1, len(counts)]
    return [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _ring_coordinates(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of every ring of ``geoms``, the ring (ascending number) of each, and the geometry of each ring."""
    if ((shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0)).all():
        coords, ring = shapely.get_coordinates(geoms, return_index=True)
        return coords, ring, np.arange(len(geoms))
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    return coords, ring, part_owner[ring_part]


def _pieces(coords: np.ndarray, ring: np.ndarray, size: int, *, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Closed rings (``coords`` numbered by ascending ``ring``) cut into linestrings of ``size`` segments,
    in ring order, and the ring each came from.

    The last piece of a ring repeats the ring's last vertex to have ``size`` segments too (a
    zero-length segment changes no distance), so that all pieces are built from one regular
    array, ``chunk`` pieces at a time.
    """
    if not len(coords):
        return np.empty(0, dtype=object), np.empty(0, dtype=int)
    start = np.flatnonzero(np.diff(ring, prepend=-1))
    last = np.r_[start[1:], len(ring)] - 1
    count = np.maximum(-(-(last - start) // size), 1)
    owner = np.repeat(np.arange(len(start)), count)
    first = start[owner] + size * (np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count))
    lines = np.empty(len(owner), dtype=object)
    for begin in range(0, len(owner), chunk):
        span = slice(begin, begin + chunk)
        lines[span] = shapely.linestrings(coords[np.minimum(first[span, None] + np.arange(size + 1),
                                                            last[owner[span], None])])
    return lines, ring[start[owner]]


def boundary_pieces(geoms: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ring of ``geoms`` cut into linestrings of ``size`` segments, and the geometry each came from."""
    coords, ring, ring_owner = _ring_coordinates(geoms)
    lines, piece_ring = _pieces(coords, ring, size)
    return lines, ring_owner[piece_ring]


def first_vertex(geoms: np.ndarray, *, limit: int = 1 << 16) -> np.ndarray:
    """The first coordinate of each geometry (NaN if empty), the coordinates copied out about ``limit``
    at a time: a buffer that stays in cache (with the GIL held, copying all 5 M vertices of a layer
    into fresh memory took 0.1 s, in runs of 65,536 0.012 s)."""
    out = np.full((len(geoms), 2), np.nan)
    count = shapely.get_num_coordinates(geoms)
    for span in count_spans(count, limit):
        has = np.flatnonzero(count[span])
        out[span.start + has] = shapely.get_coordinates(geoms[span])[(np.cumsum(count[span]) - count[span])[has]]
    return out


#: Streamed polygons with at most this many vertices are first checked by their box against the
#: held pieces (a cheap filter for many small patches; a large polygon's box meets too many).
BOX_FILTER_VERTICES = 1024


def boundaries_meet(a: np.ndarray, b: np.ndarray, ai: np.ndarray, bi: np.ndarray, *,
                    a_is_target: bool = True) -> np.ndarray:
    """For candidate pairs ``(a[ai], b[bi])`` of polygons, whether their boundaries have a point in common.

    Targets (``a`` when ``a_is_target``: elements, parcels) are segmentized to
    :data:`BOUNDARY_STEP_DEG` (small boxes even for long edges) and cut into pieces of
    :data:`TARGET_PIECE` segments, red lines into pieces of :data:`POLY_PIECE`. The side with
    fewer candidate vertices is held in a tree, in runs of neighbours (Hilbert order) of four
    times :data:`PIECE_CHUNK_VERTICES`; the partners of a run are cut and queried as many vertices at
    a time, small ones only when their box meets a piece's. Memory stays bounded however large
    both sides are; pairs cost a bounded number of segment tests each.
    """
    if not len(ai):
        return np.zeros(0, dtype=bool)
    ua, ub = unique(ai), unique(bi)

    def cut(geoms: np.ndarray, target: bool) -> tuple[np.ndarray, np.ndarray]:
        return boundary_pieces(shapely.segmentize(geoms, BOUNDARY_STEP_DEG), TARGET_PIECE) if target else \
            boundary_pieces(geoms, POLY_PIECE)

    swap = shapely.get_num_coordinates(a[ua]).sum() > shapely.get_num_coordinates(b[ub]).sum()
    (held, held_idx, held_target, hi), (streamed, streamed_target, si) = (
        ((b, ub, False, bi), (a, a_is_target, ai)) if swap else ((a, ua, a_is_target, ai), (b, False, bi)))
    held_idx = held_idx[np.argsort(gpd.GeoSeries(held[held_idx]).hilbert_distance().to_numpy(), kind="stable")]
    width = np.int64(max(len(a), len(b)))
    wanted = unique(ai.astype(np.int64) * width + bi)
    met = [np.empty(0, dtype=np.int64)]
    in_run = np.zeros(len(held), dtype=bool)
    for run in vertex_spans(held[held_idx], 4 * PIECE_CHUNK_VERTICES):
        mine_held = held_idx[run]
        pieces, owner = cut(held[mine_held], held_target)
        tree = STRtree(pieces)
        owner = mine_held[owner]
        in_run[:] = False
        in_run[mine_held] = True
        partners = unique(si[in_run[hi]])
        small = shapely.get_num_coordinates(streamed[partners]) <= BOX_FILTER_VERTICES
        near, _ = tree.query(shapely.box(*shapely.bounds(streamed[partners[small]]).T))
        partners = unique(np.r_[partners[small][unique(near)], partners[~small]])
        for span in vertex_spans(streamed[partners], PIECE_CHUNK_VERTICES):
            mine = partners[span]
            lines, line_owner = cut(streamed[mine], streamed_target)
            qi, ti = tree.query(lines)  # boxes only: a prepared predicate per query piece costs more than it saves
            sa, sb = (mine[line_owner[qi]], owner[ti]) if swap else (owner[ti], mine[line_owner[qi]])
            key = sa.astype(np.int64) * width + sb
            asked = in_sorted(key, wanted)  # candidate pairs only (a polygon's own pieces touch each other)
            hit = shapely.intersects(lines[qi[asked]], pieces[ti[asked]])
            met.append(unique(key[asked][hit]))
    return in_sorted(ai.astype(np.int64) * width + bi, unique(np.concatenate(met)))


def _box_within(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """Whether each bounding box of ``inner`` lies within the one of ``outer`` (rows x0, y0, x1, y1)."""
    return ((outer[:, 0] <= inner[:, 0]) & (outer[:, 1] <= inner[:, 1])
            & (inner[:, 2] <= outer[:, 2]) & (inner[:, 3] <= outer[:, 3]))


def _bounds_at(geoms: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``shapely.bounds(geoms[at])``, computed once per geometry when ``at`` repeats them (the 40
    elements of a national run stand in 1.3 million pairs)."""
    return shapely.bounds(geoms)[at] if len(at) > len(geoms) else shapely.bounds(geoms[at])


def inside_pairs(outer: np.ndarray, inner: np.ndarray, oi: np.ndarray, ii: np.ndarray) -> np.ndarray:
    """For pairs whose boundaries do not meet, whether ``inner[ii]`` lies inside ``outer[oi]``.

    Boxes first, then one vertex of the inner polygon against the outer one, prepared (an
    index of its edges) :data:`PIECE_CHUNK_VERTICES` at a time and dropped after, so that
    the indexes of large red lines never all exist at once.
    """
    out = np.zeros(len(oi), dtype=bool)
    cand = np.flatnonzero(_box_within(_bounds_at(inner, ii), _bounds_at(outer, oi)))
    if not len(cand):
        return out
    held, slot = np.unique(ii[cand], return_inverse=True)
    vertex = first_vertex(inner[held])[slot]
    outers, which = np.unique(oi[cand], return_inverse=True)
    order = np.argsort(which, kind="stable")
    starts = np.searchsorted(which[order], np.arange(len(outers) + 1))
    for span in vertex_spans(outer[outers], PIECE_CHUNK_VERTICES):
        mine = order[starts[span.start]:starts[span.stop]]
        with PREPARED:
            shapely.prepare(outer[outers[span]])
            out[cand[mine]] = shapely.contains_xy(outer[oi[cand[mine]]], vertex[mine, 0], vertex[mine, 1])
            shapely.destroy_prepared(outer[outers[span]])
    return out


def _cut(pairs: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Polygonal intersections of the geometry pairs and their ellipsoidal areas.

    The pieces are kept until written, so they are copied through WKB into compact (2D,
    exactly sized) coordinate storage: GEOS's overlay results take about half as much memory
    again (``spatial overlap`` on the winding benchmark: peak RSS 724 -> 663 MB, same time).
    """
    cut = shapely.from_wkb(shapely.to_wkb(shapely.intersection(*pairs)))
    odd = ~np.isin(shapely.get_type_id(cut), _POLYGONAL)
    cut[odd] = [polygonal(g) for g in cut[odd]]
    return cut, ellipsoidal_area_m2(cut)


def intersect_pairs(targets: np.ndarray, polys: np.ndarray, *, chunk: int = CHUNK):
    """Every (target, polygon) overlap with a common area, its ellipsoidal area and its shape.

    Parameters
    ----------
    targets
        Lon/lat geometries (elements, parcels); non-polygonal ones get no pairs.
    polys
        Single lon/lat polygons, disjoint from each other (red-line parts).
    chunk
        Boundary-meeting pairs intersected per batch.

    Returns
    -------
    (target index, polygon index, area_m2, piece) arrays sorted by (target, polygon), for overlaps
    of :data:`MIN_PIECE_M2` and more; the piece
    is the polygon itself when the target contains it, the target's part when the polygon
    contains it. A multi-part target can give several pieces with one polygon.
    """
    tparts, towner = polygon_parts(targets)
    ti, pi = STRtree(polys).query(tparts)
    meet = boundaries_meet(tparts, polys, ti, pi)
    cross = np.flatnonzero(meet)
    batches = [(tparts[ti[cross[b:b + chunk]]], polys[pi[cross[b:b + chunk]]]) for b in range(0, len(cross), chunk)]
    with ThreadPoolExecutor(THREADS) as pool:
        cuts = pool.map(_cut, batches)  # GEOS works on these while the containment questions run here
        rest = np.flatnonzero(~meet)
        poly_in = np.zeros(len(ti), dtype=bool)
        poly_in[rest] = inside_pairs(tparts, polys, ti[rest], pi[rest])
        rest = rest[~poly_in[rest]]
        target_in = np.zeros(len(ti), dtype=bool)
        target_in[rest] = inside_pairs(polys, tparts, pi[rest], ti[rest])
        found_t, found_p, areas, shapes = [], [], [], []
        for mask, inner, idx in ((poly_in, polys, pi), (target_in, tparts, ti)):
            held, slot = np.unique(idx[mask], return_inverse=True)
            found_t.append(ti[mask])
            found_p.append(pi[mask])
            areas.append(ellipsoidal_area_m2(inner[held])[slot])
            shapes.append(inner[idx[mask]])
        for cut, area in cuts:
            shapes.append(cut)
            areas.append(area)
    found_t.append(ti[cross])
    found_p.append(pi[cross])
    t, p, area, shape = (np.concatenate(x) for x in (found_t, found_p, areas, shapes))
    t = towner[t]
    keep = area >= MIN_PIECE_M2
    order = np.lexsort((p[keep], t[keep]))
    return t[keep][order], p[keep][order], area[keep][order], shape[keep][order]


def contacts(geoms: np.ndarray, polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (geometry, polygon) pair in contact (``intersects``), sorted by geometry then polygon.

    Polygons of at most :data:`PREPARE_VERTICES` vertices are asked directly. A larger one (a
    long winding patch, whose box holds many geometries) is prepared (an index of its edges:
    logarithmic questions) and asked about the geometries in its box only, one polygon at a
    time, its index dropped after, so that the indexes never all exist at once.
    """
    small = shapely.get_num_coordinates(polys) <= PREPARE_VERTICES
    idx = np.flatnonzero(small)
    gi, ti = STRtree(polys[idx]).query(geoms, predicate="intersects")
    found_g, found_p = [gi], [idx[ti]]
    if (~small).any():
        near = STRtree(geoms)
        for p in np.flatnonzero(~small):
            inside = near.query(shapely.box(*shapely.bounds(polys[p])))
            if not len(inside):
                continue
            with PREPARED:
                shapely.prepare(polys[p])
                found_g.append(inside[shapely.intersects(polys[p], geoms[inside])])
                shapely.destroy_prepared(polys[p])
            found_p.append(np.full(len(found_g[-1]), p))
    g, p = np.concatenate(found_g), np.concatenate(found_p)
    order = np.lexsort((p, g))
    return g[order], p[order]


def _vertex_bound(geoms: np.ndarray, polys: np.ndarray, *, samples: int = BOUND_SAMPLES) -> np.ndarray:
    """Lon/lat distance from each geometry to the nearest of about ``samples`` boundary vertices of ``polys``
    (every vertex of small layers, every n-th of large ones).

    A boundary vertex is on the boundary: this bounds the distance to the nearest boundary
    from above, whether the geometry lies outside every polygon or inside one.
    """
    stride = max(1, int(shapely.get_num_coordinates(polys).sum()) // samples)
    samples = [shapely.get_coordinates(polys[span])[::stride] for span in vertex_spans(polys, PIECE_CHUNK_VERTICES)]
    bound = np.full(len(geoms), np.inf)
    (qi, _), near = STRtree(shapely.points(np.concatenate(samples))).query_nearest(
        geoms, return_distance=True, all_matches=False)
    bound[qi] = near
    return bound


def _with_units(table: pd.DataFrame, prefix: str) -> None:
    m2 = table[f"{prefix}_m2"]
    table[f"{prefix}_km2"] = m2 / 1e6
    table[f"{prefix}_ha"] = m2 / 1e4
    table[f"{prefix}_mu"] = m2 / M2_PER_MU


def element_shares(table: pd.DataFrame) -> pd.DataFrame:
    """``redline_share`` and the km², ha and 亩 columns of an element table from its m² columns (in place)."""
    area = table["area_m2"].to_numpy(dtype=float)
    table["redline_share"] = np.divide(table["redline_m2"].to_numpy(dtype=float), area,
                                       out=np.zeros(len(table)), where=area > 0)
    _with_units(table, "area")
    _with_units(table, "redline")
    return table


def _redline_parts(redlines: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Single polygons of the red lines, the row each came from, and the rows' ids and types."""
    rids = _ids(redlines, "red lines")
    rtypes = redlines["type"].astype(str).to_numpy() if "type" in redlines.columns else \
        np.full(len(redlines), "", dtype=object)
    parts, owner = polygon_parts(lonlat(redlines))
    return parts, owner, rids, rtypes


def overlap_elements(elements: gpd.GeoDataFrame, redlines: gpd.GeoDataFrame, *, types: list[str] | None = None
                     ) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Red-line area inside each element.

    Parameters
    ----------
    elements
        Polygons with a unique ``id`` (and optionally ``name``), any CRS.
    redlines
        Disjoint red-line polygons with a unique ``id`` and optionally ``type`` (as prepared).
    types
        The red-line types to give columns for; by default the layer's own types when there is
        more than one (a part of a larger layer passes the whole layer's types).

    Returns
    -------
    element_table
        One row per element in input order: id, [name], area_m2, redline_m2, redline_share,
        patches (red-line rows touched), area and redline in km2, ha and mu, and
        ``redline_m2_<type>`` per red-line type.
    overlaps
        EPSG:4326 Polygons or MultiPolygons (the writers make them all MultiPolygons), one per
        (element, red-line row): id (``<element>--<redline>``), element_id, redline_id,
        redline_type, area_m2; sorted by id.
    """
    ids = _ids(elements, "elements")
    geoms = lonlat(elements)
    parts, owner, rids, rtypes = _redline_parts(redlines)
    ti, pi, area, shapes = intersect_pairs(geoms, parts)
    # one row per (element, red-line row): multi-part red lines and elements gather their pieces
    width = max(len(rids), 1)
    uniq, group = np.unique(ti * width + owner[pi], return_inverse=True)
    gt, gr = uniq // width, uniq % width
    garea = np.bincount(group, weights=area, minlength=len(uniq))
    # a group of one shape keeps it, without a copy (writers promote a Polygon to MultiPolygon);
    # the parts of the others are gathered into one MultiPolygon each
    merged = np.empty(len(uniq), dtype=object)
    alone = np.bincount(group, minlength=len(uniq)) == 1
    merged[alone] = shapes[alone[group]]
    rest = np.flatnonzero(~alone[group])
    pieces, src = shapely.get_parts(shapes[rest], return_index=True)
    if len(pieces):
        order = np.argsort(group[rest][src], kind="stable")
        gathered = shapely.multipolygons(pieces[order], indices=np.unique(group[rest][src], return_inverse=True)[1][order])
        merged[~alone] = gathered

    table = pd.DataFrame({"id": ids})
    if "name" in elements.columns:
        table["name"] = elements["name"].to_numpy()
    table["area_m2"] = ellipsoidal_area_m2(geoms)
    table["redline_m2"] = np.bincount(gt, weights=garea, minlength=len(ids))
    table["redline_share"] = 0.0
    table["patches"] = np.bincount(gt, minlength=len(ids))
    element_shares(table)
    kinds = sorted(set(rtypes)) if types is None else list(types)
    if len(kinds) > 1:
        for kind in kinds:
            mine = rtypes[gr] == kind
            table[f"redline_m2_{kind}"] = np.bincount(gt[mine], weights=garea[mine], minlength=len(ids))
    overlaps = gpd.GeoDataFrame({
        "id": [f"{e}--{r}" for e, r in zip(ids[gt], rids[gr])], "element_id": ids[gt], "redline_id": rids[gr],
        "redline_type": rtypes[gr], "area_m2": garea,
    }, geometry=list(merged), crs=4326)
    return table, overlaps.sort_values("id", kind="mergesort").reset_index(drop=True)


def gk_epsg_of(*layers: gpd.GeoDataFrame) -> int:
    """The Gauss-Kruger zone (EPSG) of the centre of the layers' common lon/lat extent."""
    bounds = np.array([shapely.total_bounds(lonlat(g)) for g in layers if len(g)])
    bounds = bounds[np.isfinite(bounds).all(axis=1)]
    return gk_zone_epsg((bounds[:, 0].min() + bounds[:, 2].max()) / 2.0)


def scale_bounds(bounds: np.ndarray, to_gk: Transformer, *, steps: int = 5) -> tuple[float, float]:
    """Least and greatest metres per degree of a lon/lat distance anywhere in ``bounds`` (a margin of 1 % added).

    The singular values of the map's Jacobian (lon/lat -> Gauss-Kruger), sampled on a grid.
    """
    x0, y0, x1, y1 = bounds
    gx, gy = (g.ravel() for g in np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps)))
    h = 1e-4
    px, py = to_gk.transform(np.r_[gx, gx + h, gx], np.r_[gy, gy, gy + h])
    n = len(gx)
    jac = np.stack([[px[n:2 * n] - px[:n], px[2 * n:] - px[:n]], [py[n:2 * n] - py[:n], py[2 * n:] - py[:n]]]) / h
    sigma = np.linalg.svd(np.moveaxis(jac, -1, 0), compute_uv=False)
    return float(sigma.min()) / 1.01, float(sigma.max()) * 1.01


def to_zone(epsg: int) -> Transformer:
    """Lon/lat to the Gauss-Kruger zone ``epsg``, from the zone's own geographic CRS: the same
    operation as from EPSG:4326 (no datum shift between WGS84 and CGCS2000 in PROJ), without a
    search of the whole EPSG database."""
    zone = CRS.from_epsg(epsg)
    return Transformer.from_crs(zone.geodetic_crs, zone, always_xy=True)


def _nearest_exact(geoms: np.ndarray, polys: np.ndarray, epsg: int, within: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Planar distance in zone ``epsg`` from each geometry to the nearest boundary of ``polys`` (all lon/lat), and its polygon.

    ``within`` bounds each geometry's lon/lat distance to that boundary from above. Times the
    greatest metres per degree of the area it bounds the distance in metres; the boundary
    pieces (:data:`POLY_PIECE` segments) within that many metres (over the least metres per
    degree) are candidates. The nearest candidate in lon/lat tightens the bound the same way
    (as it is found, span by span), and only the candidates within it are measured exactly in
    the zone; ties go to the lowest polygon. Where the polygons have many vertices per geometry
    (:data:`NEAR_FILTER_VERTICES`), only those whose box lies within that many metres of a
    geometry's box are cut (a piece is never nearer than its polygon's box): on the national
    benchmark a quarter of the red-line vertices. They are cut
    :data:`PIECE_CHUNK_VERTICES` at a time (bounded memory, one pass).
    """
    to_gk = to_zone(epsg)
    g, s = shapely.total_bounds(geoms), shapely.total_bounds(polys)
    low, high = scale_bounds(np.r_[np.minimum(g[:2], s[:2]), np.maximum(g[2:], s[2:])], to_gk)
    ratio, slack = high / low, 1e-7  # + ~1 cm: an edge's curvature between the two readings
    within = np.array(within, dtype=float)  # tightened below
    reach = within * ratio + slack
    if np.isfinite(reach).all() and shapely.get_num_coordinates(polys).sum() > NEAR_FILTER_VERTICES * len(geoms):
        x0, y0, x1, y1 = shapely.bounds(geoms).T
        near = unique(STRtree(polys).query(shapely.box(x0 - reach, y0 - reach, x1 + reach, y1 + reach))[1])
    else:  # (few vertices per geometry, or a geometry without a bound: every polygon is cut)
        near = np.arange(len(polys))

    def exact(arr: np.ndarray) -> np.ndarray:
        return shapely.transform(arr, lambda c: np.column_stack(to_gk.transform(c[:, 0], c[:, 1])))

    exact_geoms = exact(geoms)
    best_g, best_d, best_p = np.empty(0, int), np.empty(0), np.empty(0, int)
    for span in vertex_spans(polys[near], PIECE_CHUNK_VERTICES):
        pieces, owner = boundary_pieces(polys[near[span]], POLY_PIECE)
        owner = near[span][owner]
        ci, ct = STRtree(pieces).query(geoms, predicate="dwithin", distance=within * ratio + slack)
        apart = shapely.distance(geoms[ci], pieces[ct])  # in lon/lat
        np.minimum.at(within, ci, apart)
        keep = apart <= within[ci] * ratio + slack
        ci, ct = ci[keep], ct[keep]
        held, slot = np.unique(ct, return_inverse=True)
        d = shapely.distance(exact_geoms[ci], exact(pieces[held])[slot])
        best_g, best_d, best_p = np.r_[best_g, ci], np.r_[best_d, d], np.r_[best_p, owner[ct]]
        order = np.lexsort((best_p, best_d, best_g))
        first = order[np.diff(best_g[order], prepend=-1) != 0]
        best_g, best_d, best_p = best_g[first], best_d[first], best_p[first]
    dist, index = np.full(len(geoms), np.nan), np.full(len(geoms), -1)
    dist[best_g], index[best_g] = best_d, best_p
    return dist, index


def nearest_m(geoms: np.ndarray, polys: np.ndarray, epsg: int) -> tuple[np.ndarray, np.ndarray]:
    """Distance in metres (Gauss-Kruger zone ``epsg``) from each geometry outside ``polys`` to the nearest polygon, and its index.

    From outside, the nearest boundary is the nearest polygon (see :func:`_nearest_exact`).
    """
    geoms = np.asarray(geoms, dtype=object)
    polys = np.asarray(polys, dtype=object)
    if not len(geoms) or not len(polys):
        return np.full(len(geoms), np.nan), np.full(len(geoms), -1)
    return _nearest_exact(geoms, polys, epsg, _vertex_bound(geoms, polys))


def _pick(values: np.ndarray, row: np.ndarray) -> np.ndarray:
    """``values[row]`` where ``row >= 0``, None elsewhere (also when ``values`` is empty)."""
    out = np.full(len(row), None, dtype=object)
    out[row >= 0] = values[row[row >= 0]]
    return out


def overlap_projects(projects: gpd.GeoDataFrame, redlines: gpd.GeoDataFrame, *, buffer_m: float = 0.0,
                     epsg: int | None = None) -> pd.DataFrame:
    """Where each project lies relative to the red lines.

    Parameters
    ----------
    projects
        Points, lines or polygons (parcels) with a unique ``id``, any CRS.
    redlines
        Disjoint red-line polygons with a unique ``id`` (and optionally ``type``).
    buffer_m
        Distance in metres for ``within_buffer``.
    epsg
        Gauss-Kruger zone of distances; by default the zone of the projects' and red lines'
        common extent (a part of a larger layer passes the whole layer's zone).

    Returns
    -------
    DataFrame
        One row per project in input order: id, in_redline (points and lines: touching or
        inside; parcels: a positive area inside), redline_share (parcels: share of their
        ellipsoidal area inside; points 1 or 0; lines empty), redline_distance_m (0 when touching
        or inside; metres in the Gauss-Kruger zone), within_buffer (distance <= buffer_m),
        redline_depth_m (points inside: metres to the red line's edge, to judge against a
        project's location precision), nearest_redline_id and, when the red lines carry types,
        nearest_redline_type. Projects without geometry get empty values.
    """
    ids = _ids(projects, "projects")
    n = len(ids)
    geoms = lonlat(projects)
    parts, owner, rids, rtypes = _redline_parts(redlines)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kind = shapely.get_type_id(geoms)
    parcels = np.flatnonzero(np.isin(kind, _POLYGONAL))
    points = np.isin(kind, (0, 4))
    dist, nearest, depth = np.full(n, np.nan), np.full(n, -1), np.full(n, np.nan)
    share = np.full(n, np.nan)
    share[parcels] = 0.0
    if len(parts) and present.any():
        epsg = epsg or gk_epsg_of(projects, redlines)
        where = np.flatnonzero(present)
        gi, pi = contacts(geoms[where], parts)
        first = np.diff(gi, prepend=-1) != 0
        dist[where[gi[first]]] = 0.0
        nearest[where[gi[first]]] = pi[first]
        far = where[~in_sorted(where, unique(where[gi]))]
        deep = np.flatnonzero(points & (dist == 0))
        # one search: the nearest boundary is the nearest red line from outside, and (red lines
        # being disjoint) the holder's own edge from inside
        if len(far) or len(deep):
            ask = np.r_[far, deep]
            within = _vertex_bound(geoms[ask], parts)
            found, part = _nearest_exact(geoms[ask], parts, epsg, within)
            dist[far], nearest[far] = found[:len(far)], part[:len(far)]
            depth[deep] = found[len(far):]
        if len(parcels):
            ti, _, area, _ = intersect_pairs(geoms[parcels], parts)
            total = ellipsoidal_area_m2(geoms[parcels])
            inside = np.bincount(ti, weights=area, minlength=len(parcels))
            share[parcels] = np.divide(inside, total, out=np.zeros(len(parcels)), where=total > 0)
    share[points] = (dist[points] == 0).astype(float)
    in_redline = pd.array(np.where(np.isin(kind, _POLYGONAL), share > 0, dist == 0), dtype="boolean")
    in_redline[~present] = pd.NA
    within = pd.array(dist <= buffer_m, dtype="boolean")
    within[np.isnan(dist)] = pd.NA
    row = np.full(n, -1)
    row[nearest >= 0] = owner[nearest[nearest >= 0]]  # (no red line at all: every row -1)
    table = pd.DataFrame({
        "id": ids, "in_redline": in_redline, "redline_share": share, "redline_distance_m": dist,
        "within_buffer": within, "redline_depth_m": depth,
        "nearest_redline_id": _pick(rids, row),
    })
    if "type" in redlines.columns:
        table["nearest_redline_type"] = _pick(rtypes, row)
    return table
