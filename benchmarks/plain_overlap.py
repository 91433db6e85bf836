"""The plain geopandas way: what an analyst writes by hand to measure red lines in plan elements.

Usage: python benchmarks/plain_overlap.py ELEMENTS REDLINES PROJECTS OUTDIR

Writes OUTDIR/elements.csv (id, redline_m2 and m² per red-line type) and OUTDIR/projects.csv.
Areas and distances are planar, in the CGCS2000 3-degree Gauss-Kruger zone of the elements.
"""

import sys
from pathlib import Path

import geopandas as gpd

elements_path, redlines_path, projects_path, out = sys.argv[1:5]
out = Path(out)
out.mkdir(parents=True, exist_ok=True)
elements = gpd.read_file(elements_path, engine="pyogrio")
redlines = gpd.read_file(redlines_path, engine="pyogrio").rename(columns={"id": "redline_id"})
projects = gpd.read_file(projects_path, engine="pyogrio")
lon = elements.to_crs(4326).total_bounds[[0, 2]].mean()
epsg = 4534 + (3 * round(lon / 3) - 75) // 3  # EPSG:4547 is the zone of 114°E, 4548 of 117°E
elements, redlines, projects = elements.to_crs(epsg), redlines.to_crs(epsg), projects.to_crs(epsg)

pieces = gpd.overlay(elements[["id", "geometry"]], redlines, how="intersection")
pieces["redline_m2"] = pieces.area
table = pieces.pivot_table(index="id", columns="type", values="redline_m2", aggfunc="sum", fill_value=0)
table.insert(0, "redline_m2", pieces.groupby("id")["redline_m2"].sum())
table = table.reindex(elements["id"], fill_value=0).reset_index()
table.to_csv(out / "elements.csv", index=False, encoding="utf-8-sig")

redlines = redlines[["redline_id", "geometry"]]
hits = gpd.sjoin(projects, redlines, predicate="intersects", how="left").groupby("id")["redline_id"].count()
near = gpd.sjoin_nearest(projects, redlines, distance_col="redline_distance_m").drop_duplicates("id")
parcels = projects[projects.geom_type == "Polygon"].set_index("id")
parcel_pieces = gpd.overlay(parcels.reset_index(), redlines, how="intersection")
share = parcel_pieces.area.groupby(parcel_pieces["id"]).sum() / parcels.area
table = near.set_index("id")[["redline_distance_m", "redline_id"]].rename(columns={"redline_id": "nearest_redline_id"})
table["in_redline"] = hits > 0
table["within_buffer"] = table["redline_distance_m"] <= 500
table["redline_share"] = share.reindex(table.index).fillna(0.0)
table.reset_index().to_csv(out / "projects.csv", index=False, encoding="utf-8-sig")
