"""Which red-line features a run needs: those that can change its numbers, and not the rest.

A provincial or national red-line file holds hundreds of thousands of patches; one county's
plan touches a few hundred. ``spatial overlap`` reads only the features that can change its
tables, which gives the same numbers as reading them all (``tests/test_nearby.py`` compares):

- every feature whose box meets an element or a project (overlaps, containment, shares);
- for each project, every feature that could hold its nearest red-line edge: the nearest box
  bounds that distance from above (by its farthest corner), and every box nearer than the
  bound, widened by the Gauss-Kruger scale range of the area, is taken;
- every feature whose box meets one of those, and so on, so that the repair (dissolving
  overlapping patches of a type, giving cross-type overlaps to one type) sees each group whole
  and names a merged patch as a full read does.

Boxes come from a GeoPackage's geometry headers (by SQL; no shape parsed), or from
:func:`pyogrio.read_bounds` for other formats (a third of the time of reading the shapes, and no
shape kept); a projected file's boxes are turned into lon/lat
boxes that hold the reprojected shapes (edges sampled, a margin of 1 % of the box added). Where
the elements and projects spread over the whole layer, or anything about the file is odd, the
whole layer is read: the answer is the same either way.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely import STRtree

from .arrays import unique
from .crs import lonlat_as_is
from .io.vector import encoding_of, resolve_layer
from .overlap import first_vertex, scale_bounds, to_zone

#: Points sampled on each edge of a projected box, and the margin added (share of the box's size).
EDGE_SAMPLES = 5
BOX_MARGIN = 0.01
_SLACK = 1e-7  # degrees (~1 cm): as in spatial.overlap, an edge's curvature between readings


@dataclass
class Selection:
    """The features to read (GDAL feature ids, in the layer's order) and the row each is in the
    layer; the layer's attributes, every row (index: row numbers from 0), and which rows have a
    shape: what a full read would take ids, types and the official flag from; the attribute
    encoding they were read with."""

    fids: np.ndarray
    rows: np.ndarray
    attributes: pd.DataFrame
    shaped: np.ndarray
    encoding: str | None


def lonlat_boxes(bounds: np.ndarray, crs: CRS) -> np.ndarray:
    """Lon/lat boxes (rows x0, y0, x1, y1) that hold the shapes within ``bounds`` (rows, in ``crs``) reprojected."""
    if lonlat_as_is(crs):
        return bounds
    t = np.linspace(0.0, 1.0, EDGE_SAMPLES)
    x0, y0, x1, y1 = (bounds[:, i:i + 1] for i in range(4))
    xs = np.hstack([x0 + (x1 - x0) * t, x1 + 0 * t, x1 - (x1 - x0) * t, x0 + 0 * t])
    ys = np.hstack([y0 + 0 * t, y0 + (y1 - y0) * t, y1 + 0 * t, y1 - (y1 - y0) * t])
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(xs.ravel(), ys.ravel())
    lon, lat = lon.reshape(xs.shape), lat.reshape(ys.shape)
    out = np.column_stack([lon.min(axis=1), lat.min(axis=1), lon.max(axis=1), lat.max(axis=1)])
    pad = BOX_MARGIN * np.maximum(out[:, 2] - out[:, 0], out[:, 3] - out[:, 1])[:, None] + 1e-5
    return out + np.hstack([-pad, -pad, pad, pad])


def _small(boxes: np.ndarray, shapes: np.ndarray) -> tuple[np.ndarray, STRtree]:
    """The boxes no larger than nine in ten of them, and a tree of them."""
    size = np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    small = np.flatnonzero(size <= np.quantile(size, 0.9))
    return small, STRtree(shapes[small])


def _corner_bound(ref: np.ndarray, boxes: np.ndarray, which: np.ndarray, tree: STRtree) -> np.ndarray:
    """For each point ``ref``, the lon/lat distance to the farthest corner of the nearest box of ``boxes[which]``
    (in ``tree``): a bound from above on its distance to that feature's edge, so to its nearest red-line edge."""
    qi, ti = tree.query_nearest(shapely.points(ref), all_matches=False)
    near = boxes[which[ti]]
    corner_x = np.maximum(np.abs(ref[qi, 0] - near[:, 0]), np.abs(ref[qi, 0] - near[:, 2]))
    corner_y = np.maximum(np.abs(ref[qi, 1] - near[:, 1]), np.abs(ref[qi, 1] - near[:, 3]))
    bound = np.full(len(ref), np.inf)
    bound[qi] = np.hypot(corner_x, corner_y)
    return bound


def reach(placed: np.ndarray, boxes: np.ndarray, shapes: np.ndarray, tree: STRtree, epsg: int, *,
          points: np.ndarray | None = None) -> np.ndarray:
    """For each of the ``placed`` projects (lon/lat geometries), a lon/lat distance within which its nearest
    red-line edge lies, among the features of lon/lat ``boxes`` (``shapes`` and ``tree``: theirs), as the
    engine measures it in zone ``epsg``: the farthest corner of the nearest box, or the nearest of
    ``points`` (lon/lat points on red lines, when given) if nearer, widened by the Gauss-Kruger scale
    range of the area (and x 1.02: the engine's zone may be the next one)."""
    ref = first_vertex(placed)
    bound = np.minimum(_corner_bound(ref, boxes, np.arange(len(boxes)), tree),
                       _corner_bound(ref, boxes, *_small(boxes, shapes)))
    if points is not None and len(points):
        (qi, _), near = STRtree(points).query_nearest(shapely.points(ref), return_distance=True, all_matches=False)
        bound[qi] = np.minimum(bound[qi], near)
    far = float(bound.max()) * 2
    x0, y0, x1, y1 = shapely.total_bounds(placed)
    low, high = scale_bounds(np.array([x0 - far, y0 - far, x1 + far, y1 + far]), to_zone(epsg))
    return bound * high / low * 1.02 + _SLACK


def needed(boxes: np.ndarray, targets: np.ndarray, projects: np.ndarray, epsg: int) -> np.ndarray:
    """Which of the features (lon/lat ``boxes``) the overlap of ``targets`` (elements) and ``projects``
    (lon/lat geometries) needs; see the module docstring."""
    shapes = shapely.box(*boxes.T)
    tree = STRtree(shapes)
    need = np.zeros(len(boxes), dtype=bool)
    where = np.concatenate([targets, projects])
    where = where[~(shapely.is_missing(where) | shapely.is_empty(where))]
    need[tree.query(shapely.box(*shapely.bounds(where).T))[1]] = True
    placed = projects[~(shapely.is_missing(projects) | shapely.is_empty(projects))]
    if len(placed) and not need.all():
        rest = np.flatnonzero(~need)  # among the features not yet needed
        near = STRtree(shapes[rest]).query(placed, predicate="dwithin", distance=reach(placed, boxes, shapes, tree, epsg))
        need[rest[near[1]]] = True
    frontier = np.flatnonzero(need) if not need.all() else np.empty(0, dtype=int)
    while len(frontier):  # boxes that meet a needed one, until none is added
        hit = unique(tree.query(shapes[frontier], predicate="intersects")[1])
        frontier = hit[~need[hit]]
        need[frontier] = True
    return need


def _within(box: np.ndarray, geoms: np.ndarray) -> bool:
    """Whether the lon/lat ``box`` lies within the box of ``geoms`` widened by a tenth of its size."""
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    pad = 0.1 * max(x1 - x0, y1 - y0)
    return bool(x0 - pad <= box[0] and y0 - pad <= box[1] and box[2] <= x1 + pad and box[3] <= y1 + pad)


def select_redlines(path: str | Path, *, layer: str | None, crs: str | None, option: str,
                    targets: np.ndarray, projects: np.ndarray, epsg: int) -> Selection | None:
    """The features of a red-line file that the overlap of ``targets`` (elements) and ``projects``
    (lon/lat geometries) needs, or None to read them all: when it needs them all or none (a full
    read then says what the layer holds), when the layer lies within the elements' and projects'
    area anyway, or when the file declares no CRS and ``crs`` gives none (the full read says so)."""
    src, layer = resolve_layer(path, layer=layer, geometry="polygon", option=option)
    try:
        return _select(path, src, layer, crs, targets, projects, epsg)
    except (DataSourceError, DataLayerError, CRSError, OSError, ValueError, KeyError, zlib.error):  # the full read says what is wrong
        return None


def _select(path: str | Path, src: str, layer: str | None, crs: str | None, targets: np.ndarray,
            projects: np.ndarray, epsg: int) -> Selection | None:
    """:func:`select_redlines` on an opened layer."""
    info = pyogrio.read_info(src, layer=layer)
    declared = declared_crs(info, crs)
    if declared is None:
        return None
    extent = info.get("total_bounds")
    if extent is not None and _within(lonlat_boxes(np.array([extent], dtype=float), declared)[0],
                                      np.concatenate([targets, projects])):
        return None  # the elements and projects spread over the whole layer: it is (nearly) all needed
    fids, boxes, shaped = layer_boxes(src, layer, declared, info)
    keep = np.zeros(len(boxes), dtype=bool)
    keep[shaped] = needed(boxes[shaped], targets, projects, epsg)
    if keep[shaped].all() or not keep.any():
        return None
    rows = np.flatnonzero(keep)
    return Selection(fids=fids[rows], rows=rows, shaped=shaped, **layer_attributes(path, src, layer, fids))


def declared_crs(info: dict, crs: str | None) -> CRS | None:
    """The CRS a layer declares (``info``: :func:`pyogrio.read_info`'s), else ``crs``, else None."""
    declared = info["crs"] or crs
    return None if declared is None else CRS.from_user_input(declared)


def layer_boxes(src: str, layer: str | None, declared: CRS, info: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every feature's GDAL id, lon/lat box (rows x0, y0, x1, y1; NaN without a shape) and whether it
    has a shape (``info``: the layer's :func:`pyogrio.read_info`)."""
    fids, bounds = _gpkg_bounds(src, info) or pyogrio.read_bounds(src, layer=layer)
    bounds = np.asarray(bounds, dtype=float).T
    shaped = np.isfinite(bounds).all(axis=1) & (bounds[:, 2] > bounds[:, 0]) & (bounds[:, 3] > bounds[:, 1])
    boxes = np.full(bounds.shape, np.nan)
    boxes[shaped] = lonlat_boxes(bounds[shaped], declared)
    return np.asarray(fids), boxes, shaped


def sql_name(name: str) -> str:
    """``name`` as an SQL identifier (double-quoted)."""
    return '"' + str(name).replace('"', '""') + '"'


def _gpkg_bounds(src: str, info: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """For a GeoPackage layer, :func:`pyogrio.read_bounds`'s answer (ids; rows x0, y0, x1, y1, NaN
    without a shape) from the envelopes its geometry blobs carry in their headers (GDAL's ``ST_MinX``
    and kin: no shape is parsed unless a blob lacks one), in about half the time; else None."""
    if info.get("driver") != "GPKG" or not info.get("fid_column") or not info.get("geometry_name"):
        return None
    fid, geom = sql_name(info["fid_column"]), sql_name(info["geometry_name"])
    # GDAL types a computed column by its first value, so an empty shape gives +inf, not NULL
    box = ", ".join(f"COALESCE(ST_{f}({geom}), 1e999) AS {n}"
                    for f, n in zip(("MinX", "MinY", "MaxX", "MaxY"), ("x0", "y0", "x1", "y1")))
    try:
        meta, table = pyogrio.read_arrow(src, sql=f"SELECT {fid} AS {fid}, {box} FROM {sql_name(info['layer_name'])} "
                                                  f"ORDER BY {fid}", return_fids=True)
    except (DataLayerError, DataSourceError):  # (an older GDAL, an odd file): read_bounds reads the shapes
        return None
    bounds = np.vstack([table[n].to_numpy() for n in ("x0", "y0", "x1", "y1")])
    bounds[~np.isfinite(bounds)] = np.nan
    return table[meta["fid_column"]].to_numpy(), bounds


def layer_attributes(path: str | Path, src: str, layer: str | None, fids: np.ndarray) -> dict:
    """The layer's attributes, every row in the order of ``fids`` (index: row numbers from 0), and
    their encoding: the ``attributes`` and ``encoding`` of a :class:`Selection`."""
    encoding = encoding_of(path)
    attributes = pyogrio.read_dataframe(src, layer=layer, encoding=encoding, read_geometry=False, fid_as_index=True,
                                        use_arrow=True)  # (the same columns; a quarter of the time without shapes)
    return {"attributes": attributes.loc[fids].reset_index(drop=True), "encoding": encoding}
