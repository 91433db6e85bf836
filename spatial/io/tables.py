"""Reading project tables (CSV/XLSX, UTF-8/UTF-8-BOM/GBK) and writing result tables (CSV/XLSX)."""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from charset_normalizer import from_bytes

from ..errors import InputError

#: Suffixes read as spreadsheets (openpyxl) and as delimited text.
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
#: Timestamp written into every XLSX so that the same tables give byte-identical files.
_FIXED_TIME = dt.datetime(2000, 1, 1)


def detect_text_encoding(raw: bytes) -> str:
    """Encoding of a text table: ``utf-8-sig`` (BOM), ``utf-16`` (BOM), ``utf-8`` or ``gb18030``.

    GB18030 is the superset of GBK and GB2312, so GBK files exported by Excel on Chinese
    Windows decode with it unchanged. Anything else is left to charset-normalizer.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw).best()
    if best is None:
        raise UnicodeError("no text encoding fits")
    return best.encoding


def _delimiter(first_line: str) -> str:
    """The most frequent of comma, tab and semicolon in the header line."""
    return max((",", "\t", ";"), key=first_line.count)


def _cell_text(value) -> str:
    """A spreadsheet cell as the text a CSV would hold (integral floats without '.0')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        encoding = detect_text_encoding(raw)
        text = raw.decode(encoding)
    except (UnicodeError, LookupError):
        raise InputError.one(path, "", "the text encoding is neither UTF-8 nor GBK",
                             "save the table as 'CSV UTF-8' (Excel) or as XLSX") from None
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    try:
        df = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), sep=_delimiter(first), dtype=str,
                         keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError.one(path, "", f"not a readable table ({str(exc).splitlines()[0][:120]})",
                             "save the table as CSV with one header row") from None
    df.attrs["encoding"] = encoding
    return df


def _read_xlsx(path: Path, sheet: str | None) -> pd.DataFrame:
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError.one(path, "", f"not a readable Excel workbook ({str(exc)[:120]})",
                             "save it again as .xlsx from Excel or WPS") from None
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            raise InputError.one(path, "sheet", f"no sheet '{sheet}'; sheets: {', '.join(wb.sheetnames)}",
                                 "choose one of the sheets")
        rows = [[_cell_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    if not rows:
        raise InputError.one(path, f"sheet {ws.title}", "the sheet is empty", "put a header row and the projects in it")
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    while width and not any(r[width - 1] for r in rows):  # empty trailing columns
        width -= 1
    header, body = rows[0][:width], [r[:width] for r in rows[1:]]
    df = pd.DataFrame(body, columns=header, dtype=str)
    df.attrs["encoding"] = "xlsx"
    return df


def read_table(path: str | Path, *, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV or XLSX table with every cell as text.

    Parameters
    ----------
    path
        ``.csv``/``.txt``/``.tsv`` (UTF-8, UTF-8 with BOM, UTF-16 or GBK/GB18030; comma, tab or
        semicolon separated, detected from the header line) or ``.xlsx``/``.xlsm``.
    sheet
        Worksheet name for workbooks; default the first sheet.

    Returns
    -------
    DataFrame
        Columns as in the header (names stripped), cells as stripped text ("" when empty).
        The index is the row number a spreadsheet shows: the header is row 1, so the first
        data row is row 2. ``attrs["encoding"]`` names the encoding found.

    Raises
    ------
    InputError
        Missing, empty, undecodable or unreadable file; unknown sheet.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError.one(path, "", "file not found", "check the path")
    if path.stat().st_size == 0:
        raise InputError.one(path, "", "the file is empty", "export the table again")
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        df = _read_xlsx(path, sheet)
    elif suffix in CSV_SUFFIXES:
        df = _read_csv(path)
    else:
        raise InputError.one(path, "", f"'{path.suffix}' is not a table format",
                             "give a .csv or .xlsx file (or a vector file: .shp, .gpkg, .geojson)")
    encoding = df.attrs["encoding"]
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    df = df.apply(lambda col: col.str.strip()) if len(df) else df
    df.index = pd.RangeIndex(2, 2 + len(df))
    filled = np.flatnonzero((df != "").any(axis=1).to_numpy())
    df = df.iloc[: filled[-1] + 1 if len(filled) else 0]  # trailing empty rows
    df.attrs["encoding"] = encoding
    return df
