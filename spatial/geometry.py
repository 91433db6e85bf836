"""Element geometry: township cells and the five drawing methods (see docs/data-format.md).

All shapes are made in the district's CGCS2000 Gauss-Kruger zone (metres) and returned in
EPSG:4326. Every feature says how it was drawn (``basis``) and how precise it is
(``precision_m``).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint
from shapely.ops import linemerge

from . import basis
from .crs import ellipsoidal_area_m2, gk_zone_epsg, to_lonlat
from .gazetteer import name_index
from .layers import ELEMENT_COLUMNS, LIST_SEP
from .plans import DEFAULT_BUFFER_M, DEFAULT_WIDTH_M, Element, PlanSpec, element_id

#: Decimal places of stored lon/lat (6 ≈ 0.1 m); areas are computed on the rounded shapes.
PRECISION = 6


@dataclass(frozen=True)
class Frame:
    """The district's projected frame: WGS84 <-> its Gauss-Kruger zone, and its boundary."""

    epsg: int
    boundary: shapely.Geometry  # in the GK zone

    @classmethod
    def for_boundary(cls, boundary_wgs84: shapely.Geometry) -> "Frame":
        epsg = gk_zone_epsg(boundary_wgs84.centroid.x)
        # A straight edge in lon/lat is a curve in the projection: densify (≈100 m) so both agree.
        dense = gpd.GeoSeries([shapely.segmentize(boundary_wgs84, 0.001)], crs=4326)
        return cls(epsg, dense.to_crs(epsg).iloc[0])

    def to_gk(self, geoms) -> np.ndarray:
        """Lon/lat shapes in the Gauss-Kruger zone."""
        return gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=4326).to_crs(self.epsg).values.to_numpy()

    def to_wgs84(self, geoms) -> np.ndarray:
        """Back to lon/lat (densified first, see :func:`spatial.crs.to_lonlat`)."""
        return to_lonlat(gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=self.epsg)).values.to_numpy()


def finish(geoms) -> np.ndarray:
    """Round WGS84 shapes to :data:`PRECISION` decimals and repair what rounding broke."""
    rounded = shapely.transform(np.asarray(geoms, dtype=object), lambda c: np.round(c, PRECISION))
    bad = ~shapely.is_valid(rounded)
    if bad.any():
        rounded[bad] = shapely.make_valid(rounded[bad])
    return rounded


def township_cells(places: gpd.GeoDataFrame, frame: Frame,
                   official: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """One polygon per township: official polygons when given, else Voronoi cells of the seats.

    ``official`` must carry a ``name`` column matching the gazetteer's township names (it is
    prepared by :func:`spatial.townships.match_official`).
    """
    seats = places[places["level"] == "township"].reset_index(drop=True)
    if official is not None:
        cells = official[["name", "geometry"]].copy()
        cells["basis"] = official["basis"]
        cells["basis_zh"] = official["basis_zh"]
        cells["precision_m"] = official["precision_m"]
        cells["approximate"] = False
        geoms = frame.to_gk(cells.geometry.values)
    else:
        pts = frame.to_gk(seats.geometry.values)
        env = shapely.box(*frame.boundary.buffer(20000).bounds)
        regions = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(list(pts)), extend_to=env))
        tree = shapely.STRtree(regions)
        order = tree.query(pts, predicate="within")
        by_seat = dict(zip(order[0], order[1]))
        geoms = np.array([shapely.intersection(regions[by_seat[i]], frame.boundary) for i in range(len(pts))],
                         dtype=object)
        cells = seats[["name"]].copy()
        cells["basis"] = basis.VORONOI_CELL.en
        cells["basis_zh"] = basis.VORONOI_CELL.zh
        half_side = np.sqrt(shapely.area(geoms)) / 2
        cells["precision_m"] = np.maximum(np.round(half_side, -2), seats["precision_m"].to_numpy())
        cells["approximate"] = True
    out = gpd.GeoDataFrame(cells, geometry=finish(frame.to_wgs84(geoms)), crs=4326)
    out["area_km2"] = np.round(ellipsoidal_area_m2(out.geometry.values) / 1e6, 6)
    out["id"] = out["name"]
    return out.sort_values("name").reset_index(drop=True)


class _Builder:
    """Draws one spec's elements in a district frame."""

    def __init__(self, spec: PlanSpec, places: gpd.GeoDataFrame, features: gpd.GeoDataFrame,
                 cells: gpd.GeoDataFrame, frame: Frame) -> None:
        self.spec, self.frame = spec, frame
        self.places = places
        self.index = name_index(places)
        self.place_gk = frame.to_gk(places.geometry.values)
        self.features = features.set_index("id") if len(features) else features
        self.feature_gk = dict(zip(features["id"], frame.to_gk(features.geometry.values))) if len(features) else {}
        self.cell_gk = dict(zip(cells["name"], frame.to_gk(cells.geometry.values)))
        self.cells = cells.set_index("name")

    def place(self, name: str) -> tuple[shapely.Geometry, float, str]:
        i = self.index[name]
        return self.place_gk[i], float(self.places["precision_m"].iloc[i]), self.places["name"].iloc[i]

    def draw(self, e: Element) -> tuple[shapely.Geometry, shapely.Geometry | None, shapely.Geometry | None,
                                        basis.Basis, float]:
        """(polygon, centreline or None, point or None, basis, precision_m) in the GK frame."""
        d = e.draw
        if d.method == "townships":
            names = [self.places["name"].iloc[self.index[m]] for m in e.members]
            poly = shapely.union_all([self.cell_gk[n] for n in names])
            prec = float(max(self.cells.loc[n, "precision_m"] for n in names))
            return poly, None, None, basis.township_union(bool(self.cells.loc[names[0], "approximate"])), prec
        if d.method == "landmarks":
            pts = [self.place(m) for m in e.members]
            buf = d.buffer_m if d.buffer_m is not None else DEFAULT_BUFFER_M["landmarks"]
            hull = MultiPoint([p for p, _, _ in pts]).convex_hull
            poly = hull.buffer(buf).intersection(self.frame.boundary)
            return poly, None, None, basis.hull([n for _, _, n in pts], buf), max(max(p for _, p, _ in pts), buf / 2)
        if d.method == "corridor":
            width = d.width_m or DEFAULT_WIDTH_M.get(e.role, DEFAULT_WIDTH_M["corridor"])
            if d.feature:
                line = self.feature_gk[d.feature]
                line = linemerge(line) if line.geom_type == "MultiLineString" else line
                if line.geom_type in ("Polygon", "MultiPolygon"):
                    line = line.boundary
                prec = float(self.features.loc[d.feature, "precision_m"])
                how = basis.band(width, feature=self.features.loc[d.feature, "name"])
            else:
                pts = [self.place(w) for w in d.waypoints]
                line = LineString([p for p, _, _ in pts])
                prec = max(p for _, p, _ in pts)
                how = basis.band(width, through=[n for _, _, n in pts])
            centre = line.intersection(self.frame.boundary)
            poly = line.buffer(width / 2, cap_style="round").intersection(self.frame.boundary)
            return poly, centre, None, how, prec
        if d.method == "feature":
            geom = self.feature_gk[d.feature]
            buf = d.buffer_m if d.buffer_m is not None else DEFAULT_BUFFER_M["feature"]
            if geom.geom_type not in ("Polygon", "MultiPolygon") or buf > 0:
                geom = geom.buffer(max(buf, 1.0))
            poly = geom.intersection(self.frame.boundary)
            prec = float(self.features.loc[d.feature, "precision_m"])
            return poly, None, None, basis.feature_shape(self.features.loc[d.feature, "name"], buf), prec
        at = d.at or e.members[0]
        pt, prec, name = self.place(at)
        buf = d.buffer_m if d.buffer_m is not None else DEFAULT_BUFFER_M["node"]
        poly = pt.buffer(buf).intersection(self.frame.boundary)
        return poly, None, pt, basis.node(name, buf), prec

    def anchors(self, e: Element) -> list[shapely.Geometry]:
        """Points that stand for an element when its zone must be split from a neighbour's."""
        names = e.members or ([e.draw.at] if e.draw.at else [])
        pts = [self.place(m)[0] for m in names if m in self.index]
        if not pts and e.draw.feature:
            pts = [self.feature_gk[e.draw.feature].representative_point()]
        return pts


def _separate_zones(polys: list[shapely.Geometry], anchors: list[list[shapely.Geometry]], frame: Frame) -> list:
    """Make zones of one structure disjoint: contested area goes to the nearest member anchor."""
    if len(polys) < 2 or not any(
        shapely.area(shapely.intersection(a, b)) > 1.0 for i, a in enumerate(polys) for b in polys[i + 1:]
    ):
        return polys
    pts, owner = [], []
    for k, group in enumerate(anchors):
        for p in group or [polys[k].representative_point()]:
            pts.append(p)
            owner.append(k)
    env = shapely.box(*frame.boundary.buffer(20000).bounds)
    regions = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(pts), extend_to=env))
    tree = shapely.STRtree(regions)
    idx = tree.query(np.array(pts, dtype=object), predicate="within")
    cells = [[] for _ in polys]
    for pi, ri in zip(idx[0], idx[1]):
        cells[owner[pi]].append(regions[ri])
    return [shapely.intersection(poly, shapely.union_all(c)) if c else poly for poly, c in zip(polys, cells)]


def build_elements(spec: PlanSpec, places: gpd.GeoDataFrame, features: gpd.GeoDataFrame,
                   cells: gpd.GeoDataFrame, frame: Frame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(elements as polygons, axis centrelines, node points) of every structure of a spec."""
    b = _Builder(spec, places, features, cells, frame)
    rows, polys, lines, points = [], [], [], []
    for s in spec.structures:
        drawn = [b.draw(e) for e in s.elements]
        zone_idx = [i for i, e in enumerate(s.elements) if e.role in ("zone", "group")]
        separated = _separate_zones([drawn[i][0] for i in zone_idx], [b.anchors(s.elements[i]) for i in zone_idx], frame)
        for i, poly in zip(zone_idx, separated):
            drawn[i] = (poly, *drawn[i][1:])
        for e, (poly, centre, point, how, prec) in zip(s.elements, drawn):
            rows.append({
                "id": element_id(spec.plan.adcode, s.id, e.id), "adcode": spec.plan.adcode,
                "structure_id": s.id, "structure": s.slogan, "structure_name": s.name, "kind": s.kind,
                "role": e.role, "term": e.slogan_term, "name": e.name, "members": LIST_SEP.join(e.members),
                "function": e.function, "categories": LIST_SEP.join(e.categories),
                "defined_in_text": s.defined_in_text, "interpretation": e.interpretation or s.interpretation or "",
                "interpretation_zh": e.interpretation_zh or s.interpretation_zh or "",
                "seed": spec.plan.seed, "offset": e.cite.offset, "section": e.cite.section or "",
                "draw": e.draw.method, "basis": how.en, "basis_zh": how.zh,
                "precision_m": float(round(prec)), "approximate": True,
            })
            polys.append(poly)
            lines.append(centre)
            points.append(point)
    base = gpd.GeoDataFrame(rows)
    elements = gpd.GeoDataFrame(base, geometry=finish(frame.to_wgs84(np.array(polys, dtype=object))), crs=4326)
    elements["area_km2"] = np.round(ellipsoidal_area_m2(elements.geometry.values) / 1e6, 6)
    has_line = np.array([g is not None and not g.is_empty for g in lines])
    has_point = np.array([g is not None for g in points])
    axes = gpd.GeoDataFrame(base[has_line].reset_index(drop=True),
                            geometry=finish(frame.to_wgs84(np.array(lines, dtype=object)[has_line])), crs=4326)
    nodes = gpd.GeoDataFrame(base[has_point].reset_index(drop=True),
                             geometry=finish(frame.to_wgs84(np.array(points, dtype=object)[has_point])), crs=4326)
    for gdf in (axes, nodes):
        gdf["area_km2"] = elements.set_index("id").loc[gdf["id"], "area_km2"].to_numpy() if len(gdf) else []
    return tuple(g[ELEMENT_COLUMNS + ["geometry"]].sort_values("id").reset_index(drop=True)
                 for g in (elements, axes, nodes))
