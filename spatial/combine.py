"""The engine's results on parts of the red lines combined into the tables of the whole layer.

Used where the red lines are measured a part at a time: on Dask (:mod:`spatial.scale`, parts in
parallel) and in chunks read one after the other (:mod:`spatial.chunks`, bounded memory). Each
part's tables come from :func:`spatial.overlap.overlap_elements` and
:func:`spatial.overlap.overlap_projects`; the combined ones have the same columns, dtypes, ids
and numbers as one run on the whole layer (sums of parts are added in another order: equal to
about 1e-15 relative, and equal as written, rounded to 0.01 m²).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .overlap import element_shares


def element_table(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Parts' element tables summed: red-line area, patches and area per type."""
    table = tables[0].copy()
    for column in [c for c in table.columns if c in ("redline_m2", "patches") or c.startswith("redline_m2_")]:
        table[column] = sum(t[column].to_numpy() for t in tables)
    return element_shares(table)


def overlaps(parts: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Parts' overlap pieces in one layer sorted by id (empty ones left out: they carry no dtypes)."""
    found = [o for o in parts if len(o)] or parts[:1]
    return pd.concat(found, ignore_index=True).sort_values("id", kind="mergesort").reset_index(drop=True)


def project_table(tables: list[pd.DataFrame | None], rows: list[np.ndarray], projects: gpd.GeoDataFrame,
                  rank: pd.Series) -> pd.DataFrame:
    """Each project's row from the part that holds its nearest red line; ``in_redline`` and ``redline_share`` of all.

    ``tables[k]`` is the project table of ``projects.iloc[rows[k]]`` on part ``k`` (None for no
    projects); ``rank`` gives each red-line id its place in the whole layer, which breaks ties
    between equally near red lines of different parts as one run does (the first).
    """
    n, at = len(projects), np.concatenate(rows)
    stacked = pd.concat([t for t in tables if t is not None], ignore_index=True)
    order = np.lexsort((rank.reindex(stacked["nearest_redline_id"]).to_numpy(),
                        stacked["redline_distance_m"].to_numpy(), at))
    out = stacked.iloc[order[np.diff(at[order], prepend=-1) != 0]].reset_index(drop=True)  # nearest, then first
    inside = np.bincount(at, weights=stacked["in_redline"].to_numpy(dtype=float, na_value=0.0), minlength=n) > 0
    out["in_redline"] = out["in_redline"].mask(out["in_redline"].notna(), inside)
    share = np.bincount(at, weights=stacked["redline_share"].to_numpy(), minlength=n)
    points = projects.geom_type.isin(["Point", "MultiPoint"]).to_numpy()
    out["redline_share"] = np.where(points, share > 0, share)  # points: 1 if inside any
    return out
