"""Benchmark: one million user points (GCJ-02 input) joined to ~40 element polygons.

Times, in the same run, our assignment (:func:`spatial.projects.element_pairs`: one STRtree
bulk query with the ``intersects`` predicate, vectorised) next to plain ``geopandas.sjoin``,
checks that both give identical (point, element) assignments, and times the full
:func:`spatial.projects.join_projects` (fit, names, nearest element for the points outside).

Run: /work/venv/bin/python benchmarks/join.py [--points N]
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import shapely

from spatial.crs import from_wgs84, gk_zone_epsg, to_wgs84
from spatial.projects import element_pairs, join_projects

CATEGORIES = ("工业", "科创", "交通", "生态", "文旅", "住房更新", "农业")


def make_elements(rng: np.random.Generator, count: int = 40) -> gpd.GeoDataFrame:
    """Irregular element polygons around 115°E 26°N, three structures overlapping each other."""
    epsg = gk_zone_epsg(115.0)
    centre = gpd.GeoSeries([shapely.Point(115.0, 26.0)], crs=4326).to_crs(epsg).iloc[0]
    geoms, rows = [], []
    for k in range(count):
        cx = centre.x + rng.uniform(-20000, 20000)
        cy = centre.y + rng.uniform(-20000, 20000)
        pts = shapely.points(cx + rng.normal(0, 3000, 12), cy + rng.normal(0, 3000, 12))
        geoms.append(shapely.convex_hull(shapely.multipoints(pts)).buffer(800, quad_segs=16))
        rows.append({"id": f"360000-s{k % 3}-e{k:02d}", "name": f"要素{k:02d}", "structure_id": f"s{k % 3}",
                     "role": "zone", "categories": "、".join(rng.choice(CATEGORIES, 2, replace=False))})
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=epsg).to_crs(4326)


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    elements = make_elements(rng)
    # the user's input: WGS84 truth shifted to GCJ-02, as AMap exports it
    lon_w = rng.uniform(114.75, 115.25, args.points)
    lat_w = rng.uniform(25.75, 26.25, args.points)
    lon_g, lat_g = from_wgs84(lon_w, lat_w, "gcj02")

    (lon, lat), t_conv = timed(lambda: to_wgs84(lon_g, lat_g, "gcj02"))
    err = float(np.max(np.hypot(lon - lon_w, lat - lat_w)))
    geoms, t_pts = timed(lambda: shapely.points(lon, lat))
    cats = rng.choice(CATEGORIES, args.points)
    points = gpd.GeoDataFrame({"id": np.char.add("u", np.arange(args.points).astype(str)), "category": cats},
                              geometry=geoms, crs=4326)

    (ours_p, ours_e, _), t_ours = timed(lambda: element_pairs(geoms, elements))
    joined, t_sjoin = timed(lambda: gpd.sjoin(points[["geometry"]], elements[["id", "geometry"]],
                                              how="inner", predicate="intersects"))
    ours = np.column_stack([ours_p, ours_e])
    theirs = np.column_stack([joined.index.to_numpy(), joined["index_right"].to_numpy()])
    ours = ours[np.lexsort((ours[:, 1], ours[:, 0]))]
    theirs = theirs[np.lexsort((theirs[:, 1], theirs[:, 0]))]
    identical = ours.shape == theirs.shape and bool((ours == theirs).all())

    (projects, per_element), t_full = timed(lambda: join_projects(points, elements))
    inside = int((projects["element_ids"] != "").sum())

    print(f"points: {args.points:,} (GCJ-02 input), elements: {len(elements)}, "
          f"pairs: {len(ours):,}, points in >=1 element: {inside:,}")
    print(f"GCJ-02 -> WGS84 conversion: {t_conv:.3f} s (max error vs truth {err:.1e} deg); "
          f"point construction: {t_pts:.3f} s")
    print(f"ours  (STRtree bulk query, intersects): {t_ours:.3f} s")
    print(f"geopandas.sjoin (intersects, inner):    {t_sjoin:.3f} s")
    print(f"ratio sjoin/ours: {t_sjoin / t_ours:.2f}x; identical assignments: {identical}")
    print(f"full join_projects (fit, names, nearest for {args.points - inside:,} outside): {t_full:.3f} s; "
          f"conflicts: {int((projects['fit'] == 'conflict').sum()):,}")
    if not identical:
        raise SystemExit("assignments differ")


if __name__ == "__main__":
    main()
