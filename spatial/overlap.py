"""Overlap of plan elements and projects with ecological protection red lines.

The fast path, measured in ``benchmarks/overlap.py``:

- red-line patches are split into single polygons and put in one ``shapely.STRtree``;
- the element boundaries, cut into short pieces, are bulk-queried against the tree: the
  (element, polygon) pairs whose boundaries cross; only those pairs are intersected
  (vectorised, in chunks so that memory stays bounded);
- every other candidate pair (bounding boxes overlap) is either properly inside its element or
  outside it: one vertex decides (``shapely.contains_xy`` on prepared elements), and a polygon
  inside counts by its own precomputed area;
- distances are searched in a local linear frame of the Gauss-Kruger zone, against the red-line
  polygons near each geometry only (bounding boxes in that frame: ``STRtree.query_nearest``,
  then ``dwithin``), in chunks of neighbours; the nearest points are then projected exactly
  (pyproj) and measured there.

Areas are ellipsoidal on CGCS2000/GRS80 (:func:`ellipsoidal_area_m2`). Red lines must be
disjoint (as :func:`spatial.redlines.prepare_redlines` makes them) so that per-element sums
count every square metre once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from shapely import STRtree

from .crs import M2_PER_MU, ellipsoidal_area_m2, gk_zone_epsg

#: Boundary-crossing pairs intersected at once (bounds memory for large inputs).
CHUNK = 4096
#: Element boundaries are cut into pieces of this many segments of at most this many degrees
#: (~200 m) to find the crossing pairs: small boxes, few candidates.
BOUNDARY_PIECE = 4
BOUNDARY_STEP_DEG = 0.002
#: Geometries whose nearest red line is searched at once (bounds memory for large inputs; the
#: red lines near them are mapped to the Gauss-Kruger frame once per chunk).
NEAREST_CHUNK = 1024
#: Threads sharing the nearest red-line search.
THREADS = min(4, os.cpu_count() or 1)
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


def _lonlat(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Geometries of a layer in EPSG:4326 as an object array."""
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    return np.asarray(gdf.geometry.to_numpy(), dtype=object)


def _ids(gdf: gpd.GeoDataFrame, what: str) -> np.ndarray:
    if "id" not in gdf.columns:
        raise ValueError(f"{what} need an 'id' column; columns: {', '.join(map(str, gdf.columns))}")
    ids = gdf["id"].astype(str)
    if not ids.is_unique:
        raise ValueError(f"{what} ids are not unique: {', '.join(sorted(ids[ids.duplicated()].unique()))}")
    return ids.to_numpy()


def _ring_coordinates(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of every ring of ``geoms``, the ring (ascending number) of each, and the geometry of each ring.

    Polygons without holes are read directly (their ring is the polygon), others through their
    parts and rings.
    """
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


def _boundary_pieces(geoms: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ring of ``geoms`` cut into linestrings of ``size`` segments, and the geometry each came from."""
    coords, ring, ring_owner = _ring_coordinates(geoms)
    lines, piece_ring = _pieces(coords, ring, size)
    return lines, ring_owner[piece_ring]


def _first_vertex(polys: np.ndarray, *, chunk: int = 65536) -> np.ndarray:
    """The first coordinate of each geometry (NaN if empty), read in chunks to bound memory."""
    out = np.full((len(polys), 2), np.nan)
    for begin in range(0, len(polys), chunk):
        count = shapely.get_num_coordinates(polys[begin:begin + chunk])
        has = np.flatnonzero(count)
        out[begin + has] = shapely.get_coordinates(polys[begin:begin + chunk])[(np.cumsum(count) - count)[has]]
    return out


def intersect_pairs(targets: np.ndarray, polys: np.ndarray, *, chunk: int = CHUNK):
    """Every (target, polygon) pair with a common area, its ellipsoidal area and its shape.

    Parameters
    ----------
    targets
        Lon/lat geometries (elements, parcels); non-polygonal ones get no pairs.
    polys
        Single lon/lat polygons, disjoint from each other (red-line parts).
    chunk
        Boundary-crossing pairs intersected per batch.

    Returns
    -------
    (target index, polygon index, area_m2, piece) arrays sorted by (target, polygon); the piece
    is the polygon itself when the target contains it.
    """
    targets = np.where(np.isin(shapely.get_type_id(targets), _POLYGONAL), targets, None)
    tree = STRtree(polys)
    pieces, piece_owner = _boundary_pieces(shapely.segmentize(targets, BOUNDARY_STEP_DEG), BOUNDARY_PIECE)
    si, sp = tree.query(pieces, predicate="intersects")
    n = len(polys)
    crossing = np.unique(piece_owner[si] * n + sp)
    ti, pi = tree.query(targets)
    candidate = ti * n + pi
    rest = ~np.isin(candidate, crossing)
    ti, pi = ti[rest], pi[rest]
    shapely.prepare(targets)
    held, slot = np.unique(pi, return_inverse=True)
    vertex = _first_vertex(polys[held])[slot]
    inside = shapely.contains_xy(targets[ti], vertex[:, 0], vertex[:, 1])
    ti, pi = ti[inside], pi[inside]
    held, slot = np.unique(pi, return_inverse=True)
    area = ellipsoidal_area_m2(polys[held])[slot]
    shapes = polys[pi]
    ci, cp = crossing // n, crossing % n
    cut_area, cut_shapes = [], []
    for begin in range(0, len(ci), chunk):
        part = polys[cp[begin:begin + chunk]]
        # Cut the (large) target to the patch's box first: the overlay then sees a few vertices
        # of the target instead of all of them; the result is the same set.
        local = np.array([shapely.clip_by_rect(t, x0 - 1e-9, y0 - 1e-9, x1 + 1e-9, y1 + 1e-9) for t, (x0, y0, x1, y1)
                          in zip(targets[ci[begin:begin + chunk]], shapely.bounds(part))], dtype=object)
        cut = shapely.intersection(local, part)
        odd = ~np.isin(shapely.get_type_id(cut), _POLYGONAL)
        cut[odd] = [polygonal(g) for g in cut[odd]]
        cut_shapes.append(cut)
        cut_area.append(ellipsoidal_area_m2(cut))
    ti, pi = np.r_[ti, ci], np.r_[pi, cp]
    area = np.r_[area, np.concatenate(cut_area)] if cut_area else area
    shapes = np.r_[shapes, np.concatenate(cut_shapes)] if cut_shapes else shapes
    keep = area > 0
    order = np.lexsort((pi[keep], ti[keep]))
    return ti[keep][order], pi[keep][order], area[keep][order], shapes[keep][order]


def _with_units(table: pd.DataFrame, prefix: str) -> None:
    m2 = table[f"{prefix}_m2"]
    table[f"{prefix}_km2"] = m2 / 1e6
    table[f"{prefix}_ha"] = m2 / 1e4
    table[f"{prefix}_mu"] = m2 / M2_PER_MU


def _redline_parts(redlines: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Single polygons of the red lines, the row each came from, and the rows' ids and types."""
    rids = _ids(redlines, "red lines")
    rtypes = redlines["type"].astype(str).to_numpy() if "type" in redlines.columns else \
        np.full(len(redlines), "", dtype=object)
    geoms = _lonlat(redlines)
    if not (shapely.get_type_id(geoms) == 6).any():  # no multi-part rows: no copies needed
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        return geoms[keep], np.flatnonzero(keep), rids, rtypes
    parts, owner = shapely.get_parts(geoms, return_index=True)
    return parts, owner, rids, rtypes


def overlap_elements(elements: gpd.GeoDataFrame, redlines: gpd.GeoDataFrame
                     ) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Red-line area inside each element.

    Parameters
    ----------
    elements
        Polygons with a unique ``id`` (and optionally ``name``), any CRS.
    redlines
        Disjoint red-line polygons with a unique ``id`` and optionally ``type`` (as prepared).

    Returns
    -------
    element_table
        One row per element in input order: id, [name], area_m2, redline_m2, redline_share,
        patches (red-line rows touched), area and redline in km2, ha and mu, and
        ``redline_m2_<type>`` per red-line type when the red lines carry more than one type.
    overlaps
        EPSG:4326 MultiPolygons, one per (element, red-line row): id (``<element>--<redline>``),
        element_id, redline_id, redline_type, area_m2; sorted by id.
    """
    ids = _ids(elements, "elements")
    geoms = _lonlat(elements)
    parts, owner, rids, rtypes = _redline_parts(redlines)
    ti, pi, area, shapes = intersect_pairs(geoms, parts)
    # one row per (element, red-line row): multi-part red lines gather their parts
    ri = owner[pi]
    key = ti * max(len(rids), 1) + ri
    uniq, group = np.unique(key, return_inverse=True)
    gt, gr = uniq // max(len(rids), 1), uniq % max(len(rids), 1)
    garea = np.bincount(group, weights=area, minlength=len(uniq))
    multi = np.flatnonzero(shapely.get_type_id(shapes) == 6)  # split these; single polygons as they are
    single = np.setdiff1d(np.arange(len(shapes)), multi)
    parts_of, sub = shapely.get_parts(shapes[multi], return_index=True)
    polys, src = np.r_[shapes[single], parts_of], np.r_[single, multi[sub]]
    order = np.argsort(src, kind="stable")  # shapes are sorted by group: so are their parts now
    merged = shapely.multipolygons(polys[order], indices=group[src][order]) if len(polys) else np.empty(0, object)

    table = pd.DataFrame({"id": ids})
    if "name" in elements.columns:
        table["name"] = elements["name"].to_numpy()
    table["area_m2"] = ellipsoidal_area_m2(geoms)
    table["redline_m2"] = np.bincount(gt, weights=garea, minlength=len(ids))
    table["redline_share"] = np.divide(table["redline_m2"], table["area_m2"],
                                       out=np.zeros(len(ids)), where=table["area_m2"].to_numpy() > 0)
    table["patches"] = np.bincount(gt, minlength=len(ids))
    _with_units(table, "area")
    _with_units(table, "redline")
    kinds = sorted(set(rtypes))
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
    bounds = np.array([shapely.total_bounds(_lonlat(g)) for g in layers if len(g)])
    bounds = bounds[np.isfinite(bounds).all(axis=1)]
    return gk_zone_epsg((bounds[:, 0].min() + bounds[:, 2].max()) / 2.0)


def nearest_m(geoms: np.ndarray, polys: np.ndarray, epsg: int, *, chunk: int = NEAREST_CHUNK
               ) -> tuple[np.ndarray, np.ndarray]:
    """Distance in metres (Gauss-Kruger zone ``epsg``) from each geometry outside ``polys`` to the nearest polygon, and its index.

    The nearest polygon is the one nearest in the zone's linear approximation at the data's
    centre (an affine map of lon/lat; ties: the lowest polygon index); the two nearest points
    found there are then projected exactly and measured. The error is second order in the
    approximation's distortion: centimetres at 10 km. The geometries go in chunks of
    neighbours (Hilbert order) and only candidates are mapped: the polygons whose mapped
    bounding box is within the distance to the polygon of the nearest box (bounded from its
    lon/lat distance by the map's largest stretch).
    """
    lon0, lat0 = np.mean(shapely.total_bounds(polys).reshape(2, 2), axis=0)
    zone = CRS.from_epsg(epsg)
    # the zone's own geographic CRS: the same operation as from EPSG:4326 (no datum shift between
    # WGS84 and CGCS2000 in PROJ), without a search of the whole EPSG database
    to_gk = Transformer.from_crs(zone.geodetic_crs, zone, always_xy=True)
    step = 1e-3
    gx, gy = to_gk.transform(np.array([lon0, lon0 + step, lon0]), np.array([lat0, lat0, lat0 + step]))
    jac = np.array([[gx[1] - gx[0], gx[2] - gx[0]], [gy[1] - gy[0], gy[2] - gy[0]]]) / step
    stretch = np.linalg.norm(jac, 2) * (1 + 1e-9)

    def local(arr: np.ndarray) -> np.ndarray:
        coords = shapely.get_coordinates(arr)
        dx, dy = coords[:, 0] - lon0, coords[:, 1] - lat0
        return shapely.set_coordinates(arr.copy(), np.column_stack([jac[0, 0] * dx + jac[0, 1] * dy,
                                                                    jac[1, 0] * dx + jac[1, 1] * dy]))

    boxes = STRtree(shapely.envelope(local(shapely.box(*shapely.bounds(polys).T))))  # each holds its mapped polygon
    boxes.query(boxes.geometries[:1])  # the tree is built at its first query: here, before the threads share it

    def nearest(span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The two nearest points (mapped) of the geometries ``span`` and their nearest polygon."""
        near = local(geoms[span])
        _, bi = boxes.query_nearest(near, all_matches=False)  # one per geometry (none is empty), in order
        reach = shapely.distance(geoms[span], polys[bi]) * stretch + 1e-6
        ci, cp = boxes.query(near, predicate="dwithin", distance=reach)
        held, slot = np.unique(cp, return_inverse=True)
        mapped = local(polys[held])
        gap = np.zeros(len(ci))
        shared = np.bincount(ci)[ci] > 1  # a single candidate is the nearest
        gap[shared] = shapely.distance(near[ci[shared]], mapped[slot[shared]])
        best = np.lexsort((cp, gap, ci))  # the nearest, ties: the lowest polygon index
        best = slot[best[np.diff(ci[best], prepend=-1) != 0]]
        return shapely.get_coordinates(shapely.shortest_line(near, mapped[best])), held[best]

    order = np.argsort(gpd.GeoSeries(geoms).hilbert_distance().to_numpy(), kind="stable")
    spans = np.array_split(order, max(THREADS, -(-len(order) // chunk)))
    with ThreadPoolExecutor(THREADS) as pool:  # GEOS releases the GIL
        found = list(pool.map(nearest, spans))
    ends = np.concatenate([e for e, _ in found]) @ np.linalg.inv(jac).T + [lon0, lat0]
    x, y = to_gk.transform(ends[:, 0], ends[:, 1])
    dist = np.full(len(geoms), np.nan)
    dist[order] = np.hypot(x[0::2] - x[1::2], y[0::2] - y[1::2])
    index = np.full(len(geoms), -1)
    index[order] = np.concatenate([i for _, i in found])
    return dist, index


def overlap_projects(projects: gpd.GeoDataFrame, redlines: gpd.GeoDataFrame, *, buffer_m: float = 0.0
                     ) -> pd.DataFrame:
    """Where each project lies relative to the red lines.

    Parameters
    ----------
    projects
        Points, lines or polygons (parcels) with a unique ``id``, any CRS.
    redlines
        Disjoint red-line polygons with a unique ``id`` (and optionally ``type``).
    buffer_m
        Distance in metres for ``within_buffer``.

    Returns
    -------
    DataFrame
        One row per project in input order: id, in_redline (points and lines: touching or
        inside; parcels: a positive area inside), redline_share (parcels: share of their
        ellipsoidal area inside; points 1 or 0; lines empty), redline_distance_m (0 when touching
        or inside; metres in the Gauss-Kruger zone of the data's centre), within_buffer
        (distance <= buffer_m), redline_depth_m (points inside: metres to the red line's edge,
        to judge against a project's location precision), nearest_redline_id and, when the red
        lines carry types, nearest_redline_type. Projects without geometry get empty values.
    """
    ids = _ids(projects, "projects")
    n = len(ids)
    geoms = _lonlat(projects)
    parts, owner, rids, rtypes = _redline_parts(redlines)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kind = shapely.get_type_id(geoms)
    parcels = np.flatnonzero(np.isin(kind, _POLYGONAL))
    dist, nearest = np.full(n, np.nan), np.full(n, -1)
    share = np.full(n, np.nan)
    share[parcels] = 0.0
    if len(parts) and present.any():
        where = np.flatnonzero(present)
        gi, pi = STRtree(parts).query(geoms[where], predicate="intersects")
        order = np.lexsort((pi, gi))  # several in contact: the lowest index is named
        gi, pi = gi[order], pi[order]
        first = np.diff(gi, prepend=-1) != 0
        dist[where[gi[first]]] = 0.0
        nearest[where[gi[first]]] = pi[first]
        far = np.setdiff1d(where, where[gi])
        if len(far):
            dist[far], nearest[far] = nearest_m(geoms[far], parts, gk_epsg_of(projects, redlines))
        if len(parcels):
            ti, _, area, _ = intersect_pairs(geoms[parcels], parts)
            total = ellipsoidal_area_m2(geoms[parcels])
            inside = np.bincount(ti, weights=area, minlength=len(parcels))
            share[parcels] = np.divide(inside, total, out=np.zeros(len(parcels)), where=total > 0)
    points = np.isin(kind, (0, 4))
    share[points] = (dist[points] == 0).astype(float)
    depth = np.full(n, np.nan)
    deep = np.flatnonzero(points & (dist == 0))
    if len(deep):
        epsg = gk_epsg_of(projects, redlines)
        pts = gpd.GeoSeries(geoms[deep], crs=4326).to_crs(epsg).values
        edges = gpd.GeoSeries(shapely.boundary(parts[nearest[deep]]), crs=4326).to_crs(epsg).values
        depth[deep] = shapely.distance(pts, edges)
    in_redline = pd.array(np.where(np.isin(kind, _POLYGONAL), share > 0, dist == 0), dtype="boolean")
    in_redline[~present] = pd.NA
    within = pd.array(dist <= buffer_m, dtype="boolean")
    within[np.isnan(dist)] = pd.NA
    row = np.where(nearest >= 0, owner[np.maximum(nearest, 0)], -1)
    table = pd.DataFrame({
        "id": ids, "in_redline": in_redline, "redline_share": share, "redline_distance_m": dist,
        "within_buffer": within, "redline_depth_m": depth,
        "nearest_redline_id": np.where(row >= 0, rids[row], None),
    })
    if "type" in redlines.columns:
        table["nearest_redline_type"] = np.where(row >= 0, rtypes[row], None)
    return table
