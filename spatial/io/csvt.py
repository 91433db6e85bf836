"""Column types of a CSV for GDAL and QGIS: the ``.csvt`` file beside it, so that columns load typed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .files import write_text

#: Largest value GDAL's ``Integer`` holds; larger integers are ``Integer64``.
_INT32_MAX = 2**31 - 1


def csvt_type(col: pd.Series) -> str:
    """The GDAL CSV type of a column: by dtype, or by its values for object columns (NULLs ignored)."""
    values = col.dropna()
    if pd.api.types.is_bool_dtype(col) or (len(values) and all(isinstance(v, (bool, np.bool_)) for v in values)):
        return "Integer(Boolean)"
    if pd.api.types.is_integer_dtype(col) or (len(values) and col.dtype == object and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)):
        return "Integer64" if len(values) and abs(values.astype("int64")).max() > _INT32_MAX else "Integer"
    if pd.api.types.is_float_dtype(col):
        return "Real"
    return "String"


def csvt_text(df: pd.DataFrame) -> str:
    """One line: the quoted type of each column, in order (GDAL's CSVT format)."""
    return ",".join(f'"{csvt_type(df[c])}"' for c in df.columns) + "\n"


def write_csvt(path: str | Path, df: pd.DataFrame) -> Path:
    """Write the ``.csvt`` of the CSV holding ``df`` (``path`` is the ``.csvt`` file), atomically."""
    write_text(path, csvt_text(df))
    return Path(path)
