"""Overlap tables for reports: CSV (UTF-8 with BOM, so Excel reads Chinese), Excel workbooks, GIS pieces.

Every file is written atomically (see :func:`spatial.io.files.atomic_path`) and reproducibly:
the same input gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from .cells import neutralised, risky
from .csvt import write_csvt
from .files import as_multi, atomic_files, atomic_path, write_geojson, write_geoparquet
from .gpkg import write_gpkg
from .precision import rounded

#: Encoding of every CSV written here: UTF-8 with a byte-order mark, which Excel needs to show Chinese.
CSV_ENCODING = "utf-8-sig"
#: Formats of the overlap pieces, the first the default: file ``overlaps.<format>``.
OVERLAP_FORMATS = ("gpkg", "parquet", "geojson")
#: Rows a worksheet holds, header included.
XLSX_MAX_ROWS = 1_048_576
#: xlsxwriter: rows streamed to disk as written; text always stored as text, never as a formula, link or number.
_XLSX_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                 "strings_to_numbers": False}
_FIXED_TIME = datetime(2000, 1, 1)
_WIDTH_SAMPLE = 200
_BLOCK_ROWS = 10_000


def write_csv(path: str | Path, df: pd.DataFrame) -> Path:
    """Write a table as CSV: UTF-8 with BOM, ``\\n`` line ends, floats rounded, NULL as empty, text
    that would run as a formula quoted (:mod:`spatial.io.cells`)."""
    with atomic_path(path) as tmp:
        neutralised(rounded(df)).to_csv(tmp, index=False, lineterminator="\n", encoding=CSV_ENCODING)
    return Path(path)


def write_xlsx(path: str | Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """Write a workbook with one sheet per table, streamed row by row in bounded memory.

    Bold frozen header row, column widths fitted to the header and the first 200 values,
    floats rounded as :func:`spatial.io.precision.rounded` does, NaN/NA as empty cells; text is always stored as
    text (``=HYPERLINK(...)`` stays a string). Written atomically; the same tables give the
    same bytes (fixed document time; xlsxwriter fixes the zip entries' times).

    Raises
    ------
    ValueError
        When a table has more rows than a worksheet holds (:data:`XLSX_MAX_ROWS`).
    """
    for name, df in sheets.items():
        if len(df) >= XLSX_MAX_ROWS:
            raise ValueError(f"table {name!r} has {len(df)} rows; an Excel sheet holds {XLSX_MAX_ROWS - 1} "
                             "below its header: use the CSV")
    with atomic_path(path) as tmp, xlsxwriter.Workbook(tmp, _XLSX_OPTIONS) as wb:
        wb.set_properties({"created": _FIXED_TIME})
        bold, quoted = wb.add_format({"bold": True}), wb.add_format({"quote_prefix": True})
        for name, df in sheets.items():
            _write_sheet(wb.add_worksheet(name), df, bold, quoted)
    return Path(path)


def _write_sheet(ws: Worksheet, df: pd.DataFrame, bold: Format, quoted: Format) -> None:
    """``df`` into ``ws`` in row order (as constant_memory requires), converted a block of rows at a time."""
    ws.freeze_panes(1, 0)
    head = rounded(df.iloc[:_WIDTH_SAMPLE])
    for c, col in enumerate(df.columns):
        width = max([len(str(col))] + [len(str(v)) for v in _cells(head[col])])
        ws.set_column(c, c, min(max(width + 2, 8), 80))
        ws.write_string(0, c, str(col), bold)
    writers = [_cell_writer(ws, df[col], quoted) for col in df.columns]
    for start in range(0, len(df), _BLOCK_ROWS):
        block = rounded(df.iloc[start:start + _BLOCK_ROWS])
        for r, row in enumerate(zip(*[_cells(block[col]) for col in block.columns]), start=start + 1):
            for c, (write, value) in enumerate(zip(writers, row)):
                if value is not None:
                    write(r, c, value)


def _cells(col: pd.Series) -> list:
    """A column's values as Python scalars, None where missing or empty text (an empty cell)."""
    return [None if missing or value == "" else value for value, missing in zip(col.tolist(), col.isna().tolist())]


def _cell_writer(ws: Worksheet, col: pd.Series, quoted: Format) -> Callable:
    """The worksheet method for a column's values: by dtype, or by value for mixed columns; text
    that would run as a formula gets the quote-prefix style (kept as typed, never evaluated)."""
    if pd.api.types.is_bool_dtype(col):
        return ws.write_boolean
    if pd.api.types.is_numeric_dtype(col):
        return ws.write_number
    write = ws.write_string if pd.api.types.is_string_dtype(col) and not pd.api.types.is_object_dtype(col) else ws.write
    return lambda r, c, v: ws.write_string(r, c, v, quoted) if risky(v) else write(r, c, v)


def notes_table(notes: list[tuple[str, str]]) -> pd.DataFrame:
    """(topic, note) pairs as the notes sheet."""
    return pd.DataFrame(notes, columns=["topic", "note"])


def _write_pieces(path: Path, overlaps: gpd.GeoDataFrame, fmt: str) -> None:
    """Write the overlap pieces as MultiPolygons in ``fmt``; as GeoPackage, layer ``overlaps`` (spatial index, style)."""
    if fmt == "gpkg":
        write_gpkg(path, {"overlaps": overlaps}, epsg=4326, compact=False, multi=True)
    elif fmt == "parquet":
        write_geoparquet(path, as_multi(overlaps))
    else:
        write_geojson(path, overlaps, name="overlaps", multi=True)


def write_overlap_report(out_dir: str | Path, *, elements: pd.DataFrame, projects: pd.DataFrame,
                         notes: list[tuple[str, str]], overlaps: gpd.GeoDataFrame, fmt: str = "gpkg") -> list[Path]:
    """Write elements.csv, projects.csv (each with its ``.csvt``), overlap.xlsx and ``overlaps.<fmt>`` into ``out_dir``.

    All four are complete before the first replaces an older file; on an error none is
    written and no temporary file is left behind. Pieces are sorted by id, in EPSG:4326.

    Parameters
    ----------
    fmt
        Format of the overlap pieces, one of :data:`OVERLAP_FORMATS`.

    Returns
    -------
    The paths written.
    """
    if fmt not in OVERLAP_FORMATS:
        raise ValueError(f"unknown overlap format {fmt!r}: choose one of {', '.join(OVERLAP_FORMATS)}")
    names = ["elements.csv", "projects.csv", "overlap.xlsx", f"overlaps.{fmt}", "elements.csvt", "projects.csvt"]
    with atomic_files(out_dir, names) as (elements_csv, projects_csv, workbook, pieces, elements_csvt, projects_csvt), \
            ThreadPoolExecutor(1) as pool:
        # GDAL writes the pieces (releasing the GIL) while Python writes the tables
        pieces_written = pool.submit(_write_pieces, pieces, overlaps, fmt)
        write_csv(elements_csv, elements)
        write_csv(projects_csv, projects)
        write_csvt(elements_csvt, elements)
        write_csvt(projects_csvt, projects)
        if len(projects) >= XLSX_MAX_ROWS:  # more than a sheet holds: the CSV has them all
            notes = [*notes, ("projects", f"{len(projects)} projects: more rows than an Excel sheet holds; "
                              "see projects.csv")]
            projects = projects.iloc[:0]
        write_xlsx(workbook, {"elements": elements, "projects": projects, "notes": notes_table(notes)})
        pieces_written.result()
    return [Path(out_dir) / name for name in names]
