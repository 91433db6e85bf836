"""Benchmark: our overlap engine against the plain geopandas way, on a realistic synthetic case.

    python benchmarks/overlap.py [--scale N] [--skip-geopandas]

The case, in lon/lat near 115°E 26°N: about 10,000 disjoint red-line patches of a few hundred
vertices each covering ~25 % of a 100 x 100 km area; 40 elements (30 Voronoi zones, 10 buffered
lines); 10,000 projects (9,000 points, 1,000 parcels). ``--scale N`` multiplies patches and
projects by N over an area N times larger, to check that memory stays bounded.

The geopandas way is what an analyst writes: ``to_crs`` to the Gauss-Kruger zone,
``geopandas.overlay`` and a ``groupby`` of planar areas, ``sjoin`` and ``sjoin_nearest``.
"""

from __future__ import annotations

import argparse
import resource
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from spatial.crs import gk_zone_epsg
from spatial.overlap import overlap_elements, overlap_projects
from spatial.redlines import prepare_redlines

LON0, LAT0 = 115.0, 26.0


def make_case(scale: int, seed: int = 7) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Elements, red-line patches and projects in EPSG:4326."""
    rng = np.random.default_rng(seed)
    epsg = gk_zone_epsg(LON0)
    x0, y0 = gpd.GeoSeries.from_xy([LON0], [LAT0], crs=4326).to_crs(epsg).iloc[0].coords[0]
    cells = int(round(100 * np.sqrt(scale)))  # 1 km cells, one patch in each
    side = cells * 1000.0
    # patches: star-shaped blobs of 240-360 vertices, mean radius ~280 m, inside their cell
    gx, gy = np.meshgrid(np.arange(cells), np.arange(cells))
    cx = x0 + gx.ravel() * 1000.0 + 500.0 + rng.uniform(-120, 120, gx.size)
    cy = y0 + gy.ravel() * 1000.0 + 500.0 + rng.uniform(-120, 120, gx.size)
    patches = []
    for i in range(gx.size):
        k = int(rng.integers(240, 360))
        t = np.linspace(0.0, 2 * np.pi, k, endpoint=False)
        wobble = sum(rng.uniform(0.03, 0.09) * np.sin(m * t + rng.uniform(0, 6.3)) for m in (2, 3, 5, 9))
        r = 282.0 * (1.0 + wobble)
        ring = np.column_stack([cx[i] + r * np.cos(t), cy[i] + r * np.sin(t)])
        patches.append(shapely.Polygon(ring))
    redlines = gpd.GeoDataFrame({"id": [f"rl-{i:06d}" for i in range(len(patches))],
                                 "type": rng.choice(["水源涵养", "生物多样性维护", "水土保持"], len(patches))},
                                geometry=patches, crs=epsg)
    # elements: 30 Voronoi zones (edges every 200 m) and 10 buffered polylines
    box = shapely.box(x0, y0, x0 + side, y0 + side)
    seeds = shapely.multipoints(np.column_stack([x0 + rng.uniform(0, side, 30), y0 + rng.uniform(0, side, 30)]))
    cells_v = [shapely.segmentize(c.intersection(box), 200.0)
               for c in shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=box))]
    lines = []
    for _ in range(10):
        pts = np.column_stack([x0 + rng.uniform(0, side, 5), y0 + rng.uniform(0, side, 5)])
        lines.append(shapely.segmentize(shapely.LineString(pts).buffer(rng.uniform(500, 2000)).intersection(box), 200.0))
    elements = gpd.GeoDataFrame({"id": [f"zone-{i:02d}" for i in range(len(cells_v))]
                                 + [f"belt-{i:02d}" for i in range(len(lines))]},
                                geometry=cells_v + lines, crs=epsg)
    # projects: points and small square parcels
    n = 10_000 * scale
    px, py = x0 + rng.uniform(0, side, n), y0 + rng.uniform(0, side, n)
    half = rng.uniform(50, 150, n)
    geoms = np.where(np.arange(n) % 10 == 0, shapely.box(px - half, py - half, px + half, py + half),
                     shapely.points(px, py))
    projects = gpd.GeoDataFrame({"id": [f"p{i:06d}" for i in range(n)]}, geometry=geoms, crs=epsg)
    return elements.to_crs(4326), redlines.to_crs(4326), projects.to_crs(4326)


def geopandas_way(elements, redlines, projects) -> tuple[pd.Series, pd.Series, float, float]:
    """What an analyst writes: project, overlay, group areas, spatial joins; (areas, distances, times)."""
    t = time.perf_counter()
    epsg = gk_zone_epsg(LON0)
    el, rl = elements.to_crs(epsg), redlines.to_crs(epsg)
    ov = gpd.overlay(el[["id", "geometry"]], rl.rename(columns={"id": "rid"})[["rid", "type", "geometry"]],
                     how="intersection", keep_geom_type=True)
    ov["a"] = ov.area
    red = ov.groupby("id")["a"].sum().reindex(el["id"]).fillna(0.0)
    ov.groupby(["id", "type"])["a"].sum().unstack(fill_value=0.0)
    t_elements = time.perf_counter() - t
    t = time.perf_counter()
    pr = projects.to_crs(epsg)  # the red lines are projected once, above
    inside = gpd.sjoin(pr, rl[["id", "geometry"]].rename(columns={"id": "rid"}), predicate="intersects", how="left")
    inside.groupby(level=0)["rid"].count()
    near = gpd.sjoin_nearest(pr, rl[["id", "geometry"]].rename(columns={"id": "rid"}), distance_col="d")
    near = near[~near.index.duplicated()]
    parcels = pr[pr.geom_type == "Polygon"]
    pov = gpd.overlay(parcels, rl[["geometry"]], how="intersection", keep_geom_type=True)
    pov["a"] = pov.area
    pov.groupby("id")["a"].sum()
    return red, near["d"], t_elements, time.perf_counter() - t


def crossing_step(elements, redlines) -> tuple[float, int]:
    """Time of intersecting only the boundary-crossing pairs (pairs found beforehand), and their number."""
    e, r = elements.geometry.to_numpy(), redlines.geometry.to_numpy()
    shapely.prepare(e)
    ti, pi = STRtree(r).query(e, predicate="intersects")
    cross = ~shapely.contains_properly(e[ti], r[pi])
    a, b = e[ti[cross]], r[pi[cross]]
    t = time.perf_counter()
    shapely.intersection(a, b)
    return time.perf_counter() - t, len(a)


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="multiply patches and projects by N")
    parser.add_argument("--skip-geopandas", action="store_true", help="time only our engine (for --scale)")
    args = parser.parse_args()

    t = time.perf_counter()
    elements, redlines, projects = make_case(args.scale)
    print(f"case: {len(elements)} elements, {len(redlines)} red-line patches "
          f"({int(shapely.get_num_coordinates(redlines.geometry.to_numpy()).sum())} vertices), "
          f"{len(projects)} projects; built in {time.perf_counter() - t:.1f} s")

    rss_case = _max_rss_mib()
    t = time.perf_counter()
    prepared, report = prepare_redlines(redlines, source="synthetic", official=False)
    t_prepare = time.perf_counter() - t
    t = time.perf_counter()
    table, overlaps = overlap_elements(elements, prepared)
    t_elements = time.perf_counter() - t
    t = time.perf_counter()
    ptable = overlap_projects(projects, prepared, buffer_m=500)
    t_projects = time.perf_counter() - t
    ours = t_elements + t_projects
    print(f"ours: prepare_redlines {t_prepare:.2f} s (validity, overlaps: {report.overlap_pairs} pairs; no geopandas "
          f"equivalent); overlap_elements {t_elements:.2f} s; overlap_projects {t_projects:.2f} s; "
          f"total {ours:.2f} s (elements + projects, from the EPSG:4326 layers), {ours + t_prepare:.2f} s with prepare")
    print(f"ours: {len(overlaps)} element/patch pieces; {int(ptable['in_redline'].sum())} projects in red lines; "
          f"process peak RSS {rss_case:.0f} MiB with the case built, {_max_rss_mib():.0f} MiB after ours")
    t_cross, n_cross = crossing_step(elements, prepared)
    print(f"crossing pairs alone (shapely.intersection of the {n_cross} boundary-crossing element/patch pairs, found "
          f"beforehand): {t_cross:.2f} s; overlap_elements is {t_elements / t_cross:.2f}x that step")
    if args.skip_geopandas:
        return
    red, dist, g_elements, g_projects = geopandas_way(elements, redlines, projects)
    theirs = g_elements + g_projects
    print(f"geopandas way: elements (to_crs of elements and red lines, overlay, groupby) {g_elements:.2f} s; "
          f"projects (to_crs of projects, sjoin, sjoin_nearest, overlay of parcels) {g_projects:.2f} s; "
          f"total {theirs:.2f} s (from the same EPSG:4326 layers)")
    print(f"speed-up: elements {g_elements / t_elements:.1f}x, projects {g_projects / t_projects:.1f}x, "
          f"total {theirs / ours:.1f}x (target >= 5x); {theirs / (ours + t_prepare):.1f}x counting prepare_redlines")
    mine = table.set_index("id")["redline_m2"]
    rel = ((mine - red) / red).abs()[red > 0]
    dd = (ptable.set_index("id")["redline_distance_m"] - dist.set_axis(projects["id"].to_numpy()[dist.index])).abs()
    print(f"largest relative difference of red-line area per element (ours ellipsoidal vs planar GK): "
          f"{rel.max() * 100:.4f} % (target <= 0.2 %); largest distance difference {dd.max():.3f} m")


if __name__ == "__main__":
    main()
