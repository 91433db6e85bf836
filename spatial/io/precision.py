"""Numbers written at the precision they mean: one rule for GeoJSON, GeoPackage, GeoParquet, CSV and XLSX.

Writing full doubles makes files differ between machines in digits nobody measured (a 14th
digit from another numpy or GEOS build); writing what the number means makes them agree and
reads better. Coordinates: 6 decimals in degrees (≈ 0.1 m), 3 in metres. Attributes by the
unit their column name carries (see :data:`UNIT_DECIMALS`), 6 decimals otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

#: Decimal places of coordinates in degrees (6 ≈ 0.1 m) and in metres (mm).
DEGREE_DECIMALS = 6
METRE_DECIMALS = 3
#: Unit token of a column name (``area_km2``, ``redline_m2_nature_reserve``, ``redline_distance_m``)
#: -> decimal places: m² to 0.01, km² to 6, ha to 4, 亩 to 0.01, shares to 6, metres to 0.01.
UNIT_DECIMALS = {"km2": 6, "m2": 2, "ha": 4, "mu": 2, "share": 6, "m": 2}
#: Decimal places of float columns with no unit token (lon/lat among them).
DEFAULT_DECIMALS = 6


def decimals(column: object) -> int:
    """Decimal places for a float column, from the last unit token in its name."""
    tokens = str(column).lower().split("_")
    return next((UNIT_DECIMALS[t] for t in reversed(tokens) if t in UNIT_DECIMALS), DEFAULT_DECIMALS)


def rounded(df: pd.DataFrame) -> pd.DataFrame:
    """The table with every float column rounded to :func:`decimals` places (other columns as they are)."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(decimals(col))
    return out


def rounded_geometries(geoms: np.ndarray, crs: object) -> np.ndarray:
    """Coordinates rounded to :data:`DEGREE_DECIMALS` (geographic ``crs``) or :data:`METRE_DECIMALS` places.

    Point by point, as GDAL's ``COORDINATE_PRECISION`` does when it writes GeoJSON: areas
    and overlaps are measured before writing, on the unrounded shapes.
    """
    places = coordinate_decimals(crs)
    return shapely.transform(np.asarray(geoms, dtype=object), lambda c: np.round(c, places))


def coordinate_decimals(crs: object) -> int:
    """Decimal places of coordinates in ``crs``: :data:`DEGREE_DECIMALS` if geographic, else :data:`METRE_DECIMALS`."""
    return DEGREE_DECIMALS if CRS.from_user_input(crs).is_geographic else METRE_DECIMALS
