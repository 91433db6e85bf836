"""The gazetteer: named places as points, and the linear/areal features, in WGS84."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import LONLAT_CRS, to_wgs84, transform_geometries
from .errors import ProblemList

GAZETTEER_COLUMNS = ("name", "aliases", "level", "kind", "lon", "lat", "crs", "precision_m", "basis", "outside")
#: Optional: ``basis`` said in Chinese for planners (when the column is there, every row fills it).
GAZETTEER_OPTIONAL = ("basis_zh",)
FEATURE_PROPERTIES = ("id", "name", "kind", "crs", "precision_m", "basis")
FEATURE_KINDS = ("road", "railway", "river", "lake", "wetland", "park", "forest", "scenic", "water-source",
                 "zone", "other")


def places_from_table(df: pd.DataFrame, *, file: str) -> gpd.GeoDataFrame:
    """Validate a gazetteer table and return its places as WGS84 points.

    Every bad row is reported (row numbers as a spreadsheet shows them: the header is row 1).
    """
    p = ProblemList()
    missing = [c for c in GAZETTEER_COLUMNS if c not in df.columns]
    if missing:
        p.add(file, "header", f"missing columns {', '.join(missing)}", f"use the columns {','.join(GAZETTEER_COLUMNS)}")
        p.raise_if_any()
    df = df.copy()
    chinese = "basis_zh" in df.columns
    if not chinese:
        df["basis_zh"] = ""
    for col in ("aliases", "basis", "basis_zh", "outside", "kind"):
        df[col] = df[col].fillna("").astype(str).str.strip()
    df["name"] = df["name"].fillna("").astype(str).str.strip()
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    prec = pd.to_numeric(df["precision_m"], errors="coerce")
    seen: dict[str, int] = {}
    for i, row in enumerate(df.itertuples(index=False)):
        where = f"row {i + 2} ({row.name or 'no name'})"
        if not row.name:
            p.add(file, where, "empty name", "give the place's name")
        for name in [row.name, *[a for a in row.aliases.split("|") if a]]:
            if name in seen and seen[name] != i:
                p.add(file, where, f"name '{name}' also used on row {seen[name] + 2}", "make names and aliases unique")
            seen.setdefault(name, i)
        if row.level not in ("township", "place"):
            p.add(file, where, f"level '{row.level}'", "use township or place")
        if row.crs not in LONLAT_CRS:
            p.add(file, where, f"crs '{row.crs}'", f"use one of {', '.join(LONLAT_CRS)}")
        if not (73 <= lon.iloc[i] <= 136 and 3 <= lat.iloc[i] <= 54):
            p.add(file, where, f"lon/lat {row.lon}, {row.lat} are not a point in China",
                  "give decimal degrees (lon 73-136, lat 3-54; swapped?)")
        if not prec.iloc[i] > 0:
            p.add(file, where, f"precision_m '{row.precision_m}'", "give the uncertainty in metres (> 0)")
        if not row.basis:
            p.add(file, where, "empty basis", "say where the coordinates come from")
        if chinese and not row.basis_zh:
            p.add(file, where, "empty basis_zh", "say in Chinese where the coordinates come from, as basis says")
    p.raise_if_any()
    x, y = lon.to_numpy(float, copy=True), lat.to_numpy(float, copy=True)
    for crs in LONLAT_CRS:
        sel = (df["crs"] == crs).to_numpy()
        if sel.any():
            x[sel], y[sel] = to_wgs84(x[sel], y[sel], crs)
    out = gpd.GeoDataFrame(
        df[["name", "aliases", "level", "kind", "basis", "basis_zh", "outside"]].assign(
            precision_m=prec.to_numpy(float), source_crs=df["crs"].to_numpy()),
        geometry=gpd.points_from_xy(x, y), crs=4326)
    return out.reset_index(drop=True)


def name_index(places: gpd.GeoDataFrame) -> dict[str, int]:
    """Row position of every name and alias."""
    index: dict[str, int] = {}
    for i, (name, aliases) in enumerate(zip(places["name"], places["aliases"])):
        index[name] = i
        for a in aliases.split("|"):
            if a:
                index.setdefault(a, i)
    return index


def features_from_frame(gdf: gpd.GeoDataFrame, *, file: str) -> gpd.GeoDataFrame:
    """Validate the features file and convert GCJ-02/BD-09 features to WGS84."""
    p = ProblemList()
    missing = [c for c in FEATURE_PROPERTIES if c not in gdf.columns]
    if missing:
        p.add(file, "properties", f"missing properties {', '.join(missing)}",
              f"give every feature {', '.join(FEATURE_PROPERTIES)}")
        p.raise_if_any()
    gdf = gdf.copy()
    for col, default in (("ecological", False), ("width_m", np.nan), ("outside", "")):
        if col not in gdf.columns:
            gdf[col] = default
    gdf["ecological"] = gdf["ecological"].fillna(False).astype(bool)
    gdf["outside"] = gdf["outside"].fillna("").astype(str)
    gdf["precision_m"] = pd.to_numeric(gdf["precision_m"], errors="coerce")
    for i, row in enumerate(gdf.itertuples(index=False)):
        where = f"feature #{i + 1} ({row.id})"
        if row.kind not in FEATURE_KINDS:
            p.add(file, where, f"kind '{row.kind}'", f"use one of {', '.join(FEATURE_KINDS)}")
        if row.crs not in LONLAT_CRS:
            p.add(file, where, f"crs '{row.crs}'", f"use one of {', '.join(LONLAT_CRS)}")
        if not row.precision_m > 0:
            p.add(file, where, f"precision_m '{row.precision_m}'", "give the uncertainty in metres (> 0)")
        if row.geometry is None or row.geometry.is_empty:
            p.add(file, where, "no geometry", "draw the feature")
    for fid in gdf["id"][gdf["id"].duplicated()]:
        p.add(file, f"feature {fid}", "id used twice", "give each feature its own id")
    p.raise_if_any()
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    for crs in ("gcj02", "bd09"):
        sel = (gdf["crs"] == crs).to_numpy()
        if sel.any():
            geoms[sel] = transform_geometries(geoms[sel], crs)
    gdf = gdf.set_geometry(shapely.make_valid(geoms), crs=4326)
    return gdf.reset_index(drop=True)
