"""Overlap tables for reports: CSV (UTF-8 with BOM, so Excel reads Chinese) and Excel workbooks.

Everything is rendered to bytes first and written afterwards, so that a failure leaves no
half-written set of files; each file is replaced atomically.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .files import geojson_text, write_bytes

#: Decimal places by column-name suffix; other float columns keep 6 places.
DECIMALS = {"_m2": 2, "_km2": 6, "_ha": 4, "_mu": 2, "_share": 6, "_distance_m": 2}
#: Encoding of every CSV written here: UTF-8 with a byte-order mark, which Excel needs to show Chinese.
CSV_ENCODING = "utf-8-sig"
_FIXED_TIME = "2000-01-01T00:00:00Z"


def rounded(df: pd.DataFrame) -> pd.DataFrame:
    """The table with float columns rounded for a report (see :data:`DECIMALS`)."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            places = next((d for suffix, d in DECIMALS.items() if str(col).endswith(suffix)), 6)
            out[col] = out[col].round(places)
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """A table as CSV bytes in UTF-8 with BOM, ``\\n`` line ends, floats rounded."""
    return rounded(df).to_csv(index=False, lineterminator="\n").encode(CSV_ENCODING)


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """A workbook with one sheet per table (bold frozen header, fitted widths), byte-reproducible."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in sheets.items():
        ws = wb.create_sheet(name)
        table = rounded(df)
        ws.append([str(c) for c in table.columns])
        for row in table.itertuples(index=False, name=None):
            ws.append([None if (not isinstance(v, str) and pd.isna(v)) else
                       (v.item() if hasattr(v, "item") else v) for v in row])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for i, col in enumerate(table.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in table[col].head(200)])
            ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 80)
    raw = io.BytesIO()
    wb.save(raw)
    return _fixed_zip(raw.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with fixed timestamps (entries and document properties), for reproducible files."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", _FIXED_TIME.encode(), body)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0)), body,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def notes_table(notes: list[tuple[str, str]]) -> pd.DataFrame:
    """(topic, note) pairs as the notes sheet."""
    return pd.DataFrame(notes, columns=["topic", "note"])


def write_overlap_report(out_dir: str | Path, *, elements: pd.DataFrame, projects: pd.DataFrame,
                         notes: list[tuple[str, str]], overlaps: gpd.GeoDataFrame) -> list[Path]:
    """Write elements.csv, projects.csv, overlap.xlsx and overlaps.geojson into ``out_dir``.

    Every file is rendered before the first one is written; each is written atomically.

    Returns
    -------
    The paths written.
    """
    out_dir = Path(out_dir)
    files = {
        "elements.csv": csv_bytes(elements),
        "projects.csv": csv_bytes(projects),
        "overlap.xlsx": xlsx_bytes({"elements": elements, "projects": projects, "notes": notes_table(notes)}),
        "overlaps.geojson": geojson_text(overlaps, sort_by="id", name="overlaps").encode("utf-8"),
    }
    for name, data in files.items():
        write_bytes(out_dir / name, data)
    return [out_dir / name for name in files]
