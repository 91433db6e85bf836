"""Coordinate systems, ellipsoidal areas and distances.

Conventions: everything is stored in EPSG:4326 (WGS84 lon/lat). Areas are ellipsoidal on the
CGCS2000 ellipsoid (GRS80; the two differ by far less than a square metre per km²), as official
land statistics are, and agree with geodesic areas (pyproj.Geod) to about 1e-7. Buffers and
distances are computed in the district's CGCS2000 3-degree Gauss-Kruger zone.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely
from pyproj import CRS

from .arrays import THREADS

M2_PER_MU = 2000.0 / 3.0
#: Names of coordinate systems that input files may declare for lon/lat columns.
LONLAT_CRS = ("wgs84", "gcj02", "bd09")


def gk_zone_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Kruger zone (CM form, no zone prefix).

    EPSG:4534 is CM 75°E, ..., EPSG:4547 is CM 114°E, EPSG:4548 is CM 117°E, EPSG:4554 is CM 135°E.
    """
    cm = 3 * round(lon / 3.0)
    if not 75 <= cm <= 135:
        raise ValueError(f"longitude {lon} lies outside China's Gauss-Kruger zones (75-135°E)")
    return 4534 + (cm - 75) // 3


#: GRS80 (= CGCS2000) semi-major axis and first eccentricity.
_GRS80_A = 6378137.0
_GRS80_E = np.sqrt(0.0066943800229008)
#: Edges longer than this (degrees) are densified before measuring areas.
MAX_EDGE_DEG = 0.01
#: Vertices measured at once by :func:`ellipsoidal_area_m2` (a few floats each), on :data:`spatial.arrays.THREADS`.
AREA_CHUNK_VERTICES = 1 << 18
#: Edges at least this long (squared degrees) go through ``shapely.segmentize``, which decides
#: exactly which are longer than :data:`MAX_EDGE_DEG`; shorter ones are left as they are.
_SHORT_EDGE_SQ = (MAX_EDGE_DEG * (1.0 - 1e-9)) ** 2


def _ring_areas(coords: np.ndarray, ring: np.ndarray, n: int) -> np.ndarray:
    """Absolute area (m²) of each of ``n`` closed lon/lat rings; ``ring`` numbers each coordinate (ascending).

    The shoelace formula in Lambert cylindrical equal-area coordinates of the ellipsoid
    (x = a·λ, y = a·q(φ)/2), taken from each ring's first vertex for precision.
    """
    if not len(coords):
        return np.zeros(n)
    # in place, but the same operations in the same order as the textbook form (reproducible areas)
    s = np.sin(np.radians(coords[:, 1]))
    es = _GRS80_E * s
    y = np.square(es)
    np.subtract(1, y, out=y)
    np.divide(s, y, out=y)
    ratio = 1 + es
    np.subtract(1, es, out=es)
    ratio /= es
    np.log(ratio, out=ratio)
    ratio /= 2 * _GRS80_E
    y += ratio
    y *= _GRS80_A * (1 - _GRS80_E ** 2) / 2  # y = a·q(φ)/2
    start = np.flatnonzero(np.diff(ring, prepend=-1))
    length = np.diff(np.r_[start, len(ring)])
    y -= np.repeat(y[start], length)
    x = np.radians(coords[:, 0])
    x -= np.repeat(x[start], length)
    x *= _GRS80_A
    cross = x[:-1] * y[1:]
    cross -= x[1:] * y[:-1]
    cross[ring[1:] != ring[:-1]] = 0.0
    return np.abs(np.bincount(ring[:-1], weights=cross, minlength=n)) / 2


def _polygon_areas(arr: np.ndarray) -> np.ndarray:
    """Ellipsoidal area of each geometry of ``arr`` with every edge densified: (multi)polygons, holes, collections."""
    out = np.zeros(len(arr))
    parts, owner = shapely.get_parts(shapely.segmentize(arr, MAX_EDGE_DEG), return_index=True)
    if (shapely.get_type_id(parts) == 7).any():  # members of nested collections
        parts, sub = shapely.get_parts(parts, return_index=True)
        owner = owner[sub]
    poly = shapely.get_type_id(parts) == 3
    parts, owner = parts[poly], owner[poly]
    if not len(parts):
        return out
    rings, ring_poly = shapely.get_rings(parts, return_index=True)
    exterior = np.diff(ring_poly, prepend=-1) != 0
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    ring_area = _ring_areas(coords, ring, len(rings))
    poly_area = np.bincount(ring_poly, weights=np.where(exterior, ring_area, -ring_area), minlength=len(parts))
    np.add.at(out, owner, poly_area)
    return out


def _simple_or_dense_areas(arr: np.ndarray) -> np.ndarray:
    """:func:`ellipsoidal_area_m2` of one chunk: polygons without holes or long edges read directly, others densified."""
    out = np.empty(len(arr))
    simple = np.flatnonzero((shapely.get_type_id(arr) == 3) & (shapely.get_num_interior_rings(arr) == 0))
    coords, ring = shapely.get_coordinates(arr[simple], return_index=True)
    step = np.diff(coords, axis=0)
    long = (step[:, 0] ** 2 + step[:, 1] ** 2 >= _SHORT_EDGE_SQ) & (ring[1:] == ring[:-1])
    short = np.ones(len(simple), dtype=bool)
    short[ring[1:][long]] = False
    out[simple[short]] = _ring_areas(coords, ring, len(simple))[short]
    rest = np.ones(len(arr), dtype=bool)
    rest[simple[short]] = False
    out[rest] = _polygon_areas(arr[rest])
    return out


def ellipsoidal_area_m2(geoms, *, chunk: int = 8192) -> np.ndarray:
    """Ellipsoidal area on CGCS2000/GRS80, in m², of each lon/lat (multi)polygon; 0 for others.

    Vectorised: the shoelace formula in Lambert cylindrical equal-area coordinates of the
    ellipsoid (x = a·λ, y = a·q(φ)/2), which preserve area exactly; edges are taken as straight
    in those coordinates, after densifying edges longer than :data:`MAX_EDGE_DEG` (about 1 km),
    so that it agrees with ``pyproj.Geod`` (geodesic edges) to about 1e-7 of the area.
    Polygons without holes or long edges (most) are measured from their own coordinates, the
    others densified (``shapely.segmentize``) and split into rings. Geometries should be valid
    (``segmentize`` would repair an invalid polygon with long edges first; one without is
    measured as its rings say).

    Inputs are measured in chunks of at most ``chunk`` geometries and :data:`AREA_CHUNK_VERTICES`
    vertices (bounded temporaries), on up to :data:`~spatial.arrays.THREADS` threads (numpy and most of
    shapely release the GIL).
    """
    arr = np.asarray(geoms, dtype=object).ravel()
    total = np.cumsum(shapely.get_num_coordinates(arr))
    cuts = np.unique(np.r_[0, np.searchsorted(total, np.arange(AREA_CHUNK_VERTICES, total[-1] if len(arr) else 0,
                                                               AREA_CHUNK_VERTICES)),
                          np.arange(chunk, len(arr), chunk), len(arr)])
    spans = [arr[begin:end] for begin, end in zip(cuts[:-1], cuts[1:])]
    if len(spans) > 1 and THREADS > 1:
        with ThreadPoolExecutor(min(THREADS, len(spans))) as pool:
            areas = list(pool.map(_simple_or_dense_areas, spans))
    else:
        areas = [_simple_or_dense_areas(span) for span in spans]
    return np.concatenate(areas) if areas else np.zeros(0)


# --- Chinese "encrypted" coordinate systems -------------------------------------------------
# GCJ-02 and BD-09 are published only as forward formulas (WGS84 -> GCJ-02 -> BD-09). cnmaps
# ships the same formulas as scalar functions with a one-step inverse (about 1 m error); we
# need arrays (a million user points) and an inverse good to millimetres, so the forward
# formula is vectorised here and inverted by fixed-point iteration.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> GCJ-02 (AMap, Tencent, Tianditu's Chinese partners), arrays or scalars."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> WGS84 by fixed-point iteration of the forward formula (error < 1 mm)."""
    glon, glat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(8):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (flon - glon), wlat - (flat - glat)
    return wlon, wlat


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 (Baidu) -> GCJ-02."""
    x, y = np.asarray(lon, dtype=float) - 0.0065, np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09 (Baidu)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def to_wgs84(lon, lat, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert lon/lat arrays declared as ``wgs84``, ``gcj02`` or ``bd09`` to WGS84."""
    if crs == "wgs84":
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if crs == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if crs == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    raise ValueError(f"unknown coordinate system {crs!r}; use one of {', '.join(LONLAT_CRS)}")


def from_wgs84(lon, lat, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 lon/lat arrays to ``wgs84``, ``gcj02`` or ``bd09``."""
    if crs == "wgs84":
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if crs == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if crs == "bd09":
        return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    raise ValueError(f"unknown coordinate system {crs!r}; use one of {', '.join(LONLAT_CRS)}")


def transform_geometries(geoms, crs: str, *, inverse: bool = False):
    """Apply :func:`to_wgs84` (or :func:`from_wgs84` when ``inverse``) to shapely geometries."""
    fn = from_wgs84 if inverse else to_wgs84

    def _xy(coords: np.ndarray) -> np.ndarray:
        x, y = fn(coords[:, 0], coords[:, 1], crs)
        return np.column_stack([x, y])

    if crs == "wgs84":
        return geoms
    return shapely.transform(geoms, _xy)


#: Longest edge (metres) of a projected shape written in lon/lat; see :func:`to_lonlat`.
MAX_EDGE_M = 500.0


#: Geographic CRSs whose lon/lat are EPSG:4326's numbers: WGS84 itself, and CGCS2000 (PROJ
#: applies no datum shift between the two).
LONLAT_AS_IS = (4326, 4490)


def lonlat_as_is(crs) -> bool:
    """Whether coordinates in ``crs`` are already EPSG:4326 lon/lat (see :data:`LONLAT_AS_IS`)."""
    return crs is not None and CRS.from_user_input(crs).to_epsg() in LONLAT_AS_IS


def to_lonlat(data):
    """A GeoDataFrame or GeoSeries in EPSG:4326; projected shapes are densified first.

    A straight edge of a Gauss-Kruger shape is a curve in lon/lat: reprojecting only its two
    ends would move it by metres (and change areas by up to 1e-3 for thin patches). Edges are
    cut to :data:`MAX_EDGE_M` before reprojecting, so that geodesic, planar and ellipsoidal
    readings of the result agree to about 1e-7.
    """
    if data.crs is None or data.crs.to_epsg() == 4326:
        return data
    if lonlat_as_is(data.crs):  # CGCS2000 lon/lat: no copy
        return data.set_crs(4326, allow_override=True)
    if data.crs.is_projected:
        data = data.copy()
        data.geometry.values[:] = shapely.segmentize(np.asarray(data.geometry.values, dtype=object), MAX_EDGE_M)
    return data.to_crs(4326)
