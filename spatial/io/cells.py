"""User text as data in spreadsheets: the OWASP rule against CSV (formula) injection.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, WPS and LibreOffice when a CSV is opened (``=HYPERLINK(...)``, ``=cmd|...``).
Text cells that start so get a leading single quote in CSV files; in workbooks they keep their
text and get Excel's quote-prefix style (shown as typed, never evaluated). Numbers are numbers:
numeric columns are left alone, and so is text that is a plain decimal number (``-12.5``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is not imported at run time: the workbook worker loads this module without it
    import pandas as pd

#: First characters that make a spreadsheet cell a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def risky(value: object) -> bool:
    """Whether a cell value is text that a spreadsheet would run as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value)


def neutralised(df: pd.DataFrame) -> pd.DataFrame:
    """The table with every risky text cell prefixed by a single quote (numeric columns untouched)."""
    text = [c for c in df.columns if df[c].dtype.kind not in "biufc"]  # numbers and booleans (numpy or pandas dtypes) stay
    if not text:
        return df
    out = df.copy()
    for c in text:
        out[c] = out[c].map(lambda v: "'" + v if risky(v) else v, na_action="ignore")
    return out
