"""The raster value at each project (class at the site, elevation, slope) and the user's flags on it.

A flag is a rule on a named value: ``slope>25``, ``elevation<=50``, ``class in 1,2``,
``class != 0``. Each becomes a True/False column named as written; a project without a value
(outside the raster, on nodata) gets an empty flag, not False.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

from ..errors import InputError

_COMPARE = {">=": operator.ge, "<=": operator.le, "!=": operator.ne, "==": operator.eq, "=": operator.eq,
            ">": operator.gt, "<": operator.lt}
_FLAG = re.compile(r"^\s*([A-Za-z_]\w*)\s*(>=|<=|!=|==|=|>|<|\bin\b)\s*(.+?)\s*$")


@dataclass(frozen=True)
class Flag:
    """One rule: ``name op value(s)``; ``text`` is how the user wrote it (the column name)."""

    text: str
    name: str
    op: str
    values: tuple[float, ...]

    def apply(self, column: pd.Series) -> pd.Series:
        """True/False per row, <NA> where the value is missing."""
        x = column.astype("float64")
        hit = x.isin(self.values) if self.op == "in" else _COMPARE[self.op](x, self.values[0])
        return pd.Series(hit, index=column.index, dtype="boolean").mask(x.isna())


def parse_flag(text: str, names: list[str]) -> Flag:
    """A :class:`Flag` from ``--flag`` text whose name is one of ``names``.

    Raises
    ------
    InputError
        Not of the form NAME OP NUMBER or NAME in N,N,...; unknown name; a value that is not a number.
    """
    m = _FLAG.match(text)
    fix = f"write --flag like \"{names[0]}>25\" or \"{names[0]} in 1,2\" (names: {', '.join(names)})"
    if not m:
        raise InputError.one("--flag", "", f"{text!r} is not NAME OP NUMBER or NAME in N,N", fix)
    name, op, rest = m.groups()
    if name not in names:
        raise InputError.one("--flag", "", f"{text!r} names {name!r}, which is not a value here", fix)
    parts = [p.strip() for p in rest.split(",")] if op == "in" else [rest]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise InputError.one("--flag", "", f"{text!r}: {rest!r} is not a number (or list of numbers)", fix) from None
    return Flag(text.strip(), name, op, values)


def sample_points(ds: rasterio.io.DatasetReader, projects: gpd.GeoDataFrame, *, band: int = 1) -> np.ndarray:
    """The value of ``band`` under each project (a parcel by its representative point), NaN off the raster or on nodata.

    The points are reprojected to the raster's CRS; the raster is read one cell per point.
    """
    pts = projects.geometry.representative_point().to_crs(ds.crs)
    out = np.full(len(pts), np.nan)
    if not len(pts):
        return out
    rows, cols = rasterio.transform.rowcol(ds.transform, pts.x.to_numpy(), pts.y.to_numpy())
    rows, cols = np.asarray(rows), np.asarray(cols)
    inside = (rows >= 0) & (rows < ds.height) & (cols >= 0) & (cols < ds.width) & ~pts.is_empty.to_numpy()
    xy = list(zip(pts.x.to_numpy()[inside], pts.y.to_numpy()[inside]))
    got = np.array([v[0] for v in ds.sample(xy, indexes=band, masked=True)], dtype=object) if xy else []
    out[inside] = [np.nan if v is np.ma.masked else float(v) for v in got]
    return out


def flag_table(values: pd.DataFrame, flags: list[Flag]) -> pd.DataFrame:
    """``values`` (columns named as the flags' names) with one boolean column per flag appended."""
    out = values.copy()
    for flag in flags:
        out[flag.text] = flag.apply(values[flag.name])
    return out
