"""Benchmark: ``spatial zonal`` and ``spatial rasterize`` on a 20,000 x 20,000 land-cover raster.

Makes (once, in --dir) a categorical GeoTIFF in EPSG:4547 (10 m cells, 200 km square, tiled,
DEFLATE, a nodata block) whose classes are cell-aligned rectangles, and 41 element polygons in
EPSG:4326 (40 scattered hulls and one polygon over most of the raster). Runs each command as a
whole process under ``/usr/bin/time -v`` (wall time, peak RSS) and checks the class areas
against the exact answer from the polygons alone (the element, reprojected as the command does,
intersected with each class's rectangles; planar area in EPSG:4547, as the raster's cells are).

With ``--slope`` it also makes a plane DEM (float32) of the same size and times ``spatial slope``
on it, checking the slope of every inner cell against the plane's.

Run: .venv/bin/python benchmarks/raster.py [--size 20000] [--dir /tmp/spatial-raster-bench] [--slope]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.transform import from_origin
from rasterio.windows import Window

CELL = 10.0
ORIGIN = (400_000.0, 3_200_000.0)
BLOCK = (733, 911)  # rows, cols of one class rectangle
CLASSES = 6
NODATA = 255


def class_of(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The class (1..6) of cells, from the rectangle they lie in."""
    return (1 + ((rows // BLOCK[0]) * 7 + (cols // BLOCK[1]) * 3) % CLASSES).astype(np.uint8)


def hole(size: int) -> tuple[int, int, int, int]:
    """Rows and columns (r0, r1, c0, c1) of the nodata block."""
    return size // 3, size // 3 + size // 20, size // 2, size // 2 + size // 10


def make_raster(path: Path, size: int) -> None:
    transform = from_origin(*ORIGIN, CELL, CELL)
    r0, r1, c0, c1 = hole(size)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint8", crs="EPSG:4547",
                       transform=transform, nodata=NODATA, tiled=True, blockxsize=512, blockysize=512,
                       compress="deflate", bigtiff="yes") as dst:
        cols = np.arange(size)
        for top in range(0, size, 512):
            rows = np.arange(top, min(size, top + 512))
            block = class_of(rows[:, None], cols[None, :])
            inside = (rows >= r0) & (rows < r1)
            block[inside, c0:c1] = NODATA
            dst.write(block, 1, window=Window(0, top, size, len(rows)))


def make_dem(path: Path, size: int) -> None:
    """A plane rising 0.3 m per metre east and 0.4 m per metre north: slope atan(0.5) = 26.565°."""
    transform = from_origin(*ORIGIN, CELL, CELL)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32", crs="EPSG:4547",
                       transform=transform, tiled=True, blockxsize=512, blockysize=512, compress="deflate",
                       predictor=3, bigtiff="yes") as dst:
        x = (np.arange(size) + 0.5) * CELL
        for top in range(0, size, 512):
            y = (size - np.arange(top, min(size, top + 512)) - 0.5) * CELL
            dst.write((0.3 * x[None, :] + 0.4 * y[:, None]).astype("float32"), 1,
                      window=Window(0, top, size, len(y)))


def make_elements(size: int, seed: int = 20240601) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    extent = size * CELL
    geoms = []
    for _ in range(40):
        cx, cy = ORIGIN[0] + rng.uniform(0.1, 0.9) * extent, ORIGIN[1] - rng.uniform(0.1, 0.9) * extent
        pts = shapely.points(cx + rng.normal(0, extent / 40, 12), cy + rng.normal(0, extent / 40, 12))
        geoms.append(shapely.convex_hull(shapely.multipoints(pts)).buffer(extent / 200, quad_segs=16))
    geoms.append(shapely.Polygon([(ORIGIN[0] + f * extent, ORIGIN[1] - g * extent) for f, g in
                                  [(0.05, 0.1), (0.9, 0.05), (0.95, 0.8), (0.5, 0.95), (0.1, 0.7)]]).segmentize(500))
    return gpd.GeoDataFrame({"id": [f"e{k:02d}" for k in range(41)], "role": ["zone"] * 40 + ["belt"]},
                            geometry=geoms, crs=4547).to_crs(4326)


def exact_class_areas(elements: gpd.GeoDataFrame, size: int) -> pd.Series:
    """(id, class) -> m² from the polygons alone (planar in EPSG:4547)."""
    r0, r1, c0, c1 = hole(size)

    def box(ra: int, rb: int, ca: int, cb: int) -> shapely.Polygon:
        return shapely.box(ORIGIN[0] + ca * CELL, ORIGIN[1] - rb * CELL, ORIGIN[0] + cb * CELL, ORIGIN[1] - ra * CELL)

    nodata = box(r0, r1, c0, c1)
    tops, lefts = range(0, size, BLOCK[0]), range(0, size, BLOCK[1])
    rects = {c: [] for c in range(1, CLASSES + 1)}
    for top in tops:
        for left in lefts:
            cls = int(class_of(np.array(top), np.array(left)))
            rects[cls].append(box(top, min(size, top + BLOCK[0]), left, min(size, left + BLOCK[1])))
    regions = {c: shapely.union_all(r).difference(nodata) for c, r in rects.items()}
    local = elements.set_geometry(elements.geometry.segmentize(0.001)).to_crs(4547)
    out = {}
    for fid, geom in zip(local["id"], local.geometry):
        for cls, region in regions.items():
            area = shapely.intersection(geom, region).area
            if area > 0:
                out[(fid, cls)] = area
    return pd.Series(out)


def timed_run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a whole process, from /usr/bin/time -v."""
    run = subprocess.run(["/usr/bin/time", "-v", *args], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(run.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", run.stderr)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())
    rss = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1)) / 1024
    return h * 3600 + m * 60 + s, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/spatial-raster-bench"))
    parser.add_argument("--slope", action="store_true", help="also time spatial slope on a plane DEM of the same size")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    raster = args.dir / f"landcover_{args.size}.tif"
    if not raster.exists():
        make_raster(raster, args.size)
    elements = make_elements(args.size)
    elements.to_file(args.dir / "elements.geojson")
    spatial = str(Path(sys.executable).with_name("spatial"))
    out = args.dir / "zonal"
    z_wall, z_rss = timed_run([spatial, "zonal", "--raster", str(raster), "--elements",
                               str(args.dir / "elements.geojson"), "--categorical", "--out", str(out)])
    r_wall, r_rss = timed_run([spatial, "rasterize", "--elements", str(args.dir / "elements.geojson"),
                               "--template", str(raster), "--out", str(args.dir / "layout.tif")])
    ours = pd.read_csv(out / "zonal.csv", encoding="utf-8-sig").set_index(["id", "class"])["area_m2"]
    exact = exact_class_areas(elements, args.size)
    big = exact[exact > 1e6]
    rel = (ours.reindex(big.index) - big).abs() / big
    print(f"raster {args.size:,} x {args.size:,} cells ({raster.stat().st_size / 2**20:.0f} MiB on disk), "
          f"{len(elements)} elements, {len(ours)} (element, class) rows; exact pairs {len(exact)}")
    print("| command | wall s | peak RSS MiB |\n|---|---:|---:|")
    print(f"| spatial zonal --categorical | {z_wall:.1f} | {z_rss:.0f} |")
    print(f"| spatial rasterize | {r_wall:.1f} | {r_rss:.0f} |")
    if args.slope:
        dem = args.dir / f"dem_{args.size}.tif"
        if not dem.exists():
            make_dem(dem, args.size)
        s_wall, s_rss = timed_run([spatial, "slope", "--dem", str(dem), "--out", str(args.dir / "slope.tif")])
        worst = 0.0
        with rasterio.open(args.dir / "slope.tif") as src:
            for top in range(0, args.size, 256):  # every cell but the raster's outer ring (edges use the centre)
                strip = src.read(1, window=Window(0, top, args.size, min(256, args.size - top)))[:, 1:-1]
                rows = np.arange(top, top + len(strip))
                strip = strip[(rows > 0) & (rows < args.size - 1)]
                worst = max(worst, float(np.abs(strip - np.degrees(np.arctan(0.5))).max()))
        print(f"| spatial slope | {s_wall:.1f} | {s_rss:.0f} |  (largest slope error {worst:.1e}° off the outer ring)")
    print(f"class areas vs exact: max relative error {rel.max():.2e} over {len(big)} pairs > 1 km²; "
          f"total |error| / total area {(ours.reindex(exact.index).fillna(0) - exact).abs().sum() / exact.sum():.2e}; "
          f"pairs missing {len(exact.index.difference(ours.index))}, extra {len(ours.index.difference(exact.index))}")


if __name__ == "__main__":
    main()
