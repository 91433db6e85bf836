"""Overlap tables for reports: CSV (UTF-8 with BOM, so Excel reads Chinese), Excel workbooks, GIS pieces.

Every file is written atomically (see :func:`spatial.io.files.atomic_path`) and reproducibly:
the same input gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .cells import neutralised
from .csvt import write_csvt
from .files import atomic_files, atomic_path
from .geofiles import write_geojson, write_geoparquet
from .gpkg import write_gpkg
from .precision import rounded
from .stream import Spill
from .xlsx import Sheet, WorkbookProcess, write_workbook

#: Encoding of every CSV written here: UTF-8 with a byte-order mark, which Excel needs to show Chinese.
CSV_ENCODING = "utf-8-sig"
#: Formats of the overlap pieces, the first the default: file ``overlaps.<format>``.
OVERLAP_FORMATS = ("gpkg", "parquet", "geojson")
#: Rows a worksheet holds, header included.
XLSX_MAX_ROWS = 1_048_576
#: Sheets of the overlap workbook, in order.
OVERLAP_SHEETS = ["elements", "projects", "notes"]
#: Rows converted (and handed to a workbook worker) at a time.
_BLOCK_ROWS = 10_000


def write_csv(path: str | Path, df: pd.DataFrame) -> Path:
    """Write a table as CSV: UTF-8 with BOM, ``\\n`` line ends, floats rounded, NULL as empty, text
    that would run as a formula quoted (:mod:`spatial.io.cells`)."""
    with atomic_path(path) as tmp:
        neutralised(rounded(df)).to_csv(tmp, index=False, lineterminator="\n", encoding=CSV_ENCODING)
    return Path(path)


def write_xlsx(path: str | Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """Write a workbook with one sheet per table, in this process, streamed row by row in bounded memory.

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
    with atomic_path(path) as tmp:
        write_workbook(tmp, list(sheets), (block for name, df in sheets.items() for block in sheet_blocks(name, df)))
    return Path(path)


def sheet_blocks(name: str, df: pd.DataFrame) -> Iterator[Sheet]:
    """A table as worksheet blocks of :data:`_BLOCK_ROWS` rows (rounded, missing values empty), converted
    one block at a time; a table without rows gives one block (its header)."""
    kinds = [_kind(df[col]) for col in df.columns]
    for start in range(0, max(len(df), 1), _BLOCK_ROWS):
        block = rounded(df.iloc[start:start + _BLOCK_ROWS])
        yield Sheet(name, [str(c) for c in df.columns], kinds, [_cells(block[col]) for col in block.columns], start)


def _cells(col: pd.Series) -> list:
    """A column's values as Python scalars, None where missing or empty text (an empty cell)."""
    return [None if missing or value == "" else value for value, missing in zip(col.tolist(), col.isna().tolist())]


def _kind(col: pd.Series) -> str:
    """How a column's cells are written (:data:`spatial.io.xlsx.KINDS`): by dtype, or by value for mixed columns."""
    if pd.api.types.is_bool_dtype(col):
        return "bool"
    if pd.api.types.is_numeric_dtype(col):
        return "number"
    return "string" if pd.api.types.is_string_dtype(col) and not pd.api.types.is_object_dtype(col) else "any"


def notes_table(notes: list[tuple[str, str]]) -> pd.DataFrame:
    """(topic, note) pairs as the notes sheet."""
    return pd.DataFrame(notes, columns=["topic", "note"])


def _write_pieces(path: Path, overlaps: gpd.GeoDataFrame | Spill, fmt: str) -> None:
    """Write the overlap pieces as MultiPolygons in ``fmt``, streamed (a spilled layer never whole in memory);
    as GeoPackage, layer ``overlaps`` (spatial index, style)."""
    if fmt == "gpkg":
        write_gpkg(path, {"overlaps": overlaps}, epsg=4326, compact=False, multi=True)
    elif fmt == "parquet":
        write_geoparquet(path, overlaps)
    else:
        write_geojson(path, overlaps, name="overlaps", multi=True)


def _write_tables(tables: list[tuple[Path, Path, pd.DataFrame]]) -> None:
    """Write each (CSV path, CSVT path, table)."""
    for csv, csvt, df in tables:
        write_csv(csv, df)
        write_csvt(csvt, df)


def overlap_workbook() -> WorkbookProcess:
    """A worker for ``overlap.xlsx`` (sheets :data:`OVERLAP_SHEETS`): start it first, hand it the
    projects with :func:`add_projects` as soon as they are located, and give it to
    :func:`write_overlap_report`, which adds the rest."""
    return WorkbookProcess(OVERLAP_SHEETS)


def add_projects(book: WorkbookProcess, projects: pd.DataFrame) -> list[tuple[str, str]]:
    """Hand the projects table to the workbook; return the notes this adds (more rows than a sheet
    holds: the sheet is left empty and the CSV has them all)."""
    if len(projects) < XLSX_MAX_ROWS:
        book.add(sheet_blocks("projects", projects))
        return []
    book.add(sheet_blocks("projects", projects.iloc[:0]))
    return [("projects", f"{len(projects)} projects: more rows than an Excel sheet holds; see projects.csv")]


def write_overlap_report(out_dir: str | Path, *, elements: pd.DataFrame, projects: pd.DataFrame,
                         notes: list[tuple[str, str]], overlaps: gpd.GeoDataFrame | Spill, fmt: str = "gpkg",
                         book: WorkbookProcess | None = None) -> list[Path]:
    """Write elements.csv, projects.csv (each with its ``.csvt``), overlap.xlsx and ``overlaps.<fmt>`` into ``out_dir``.

    All four are complete before the first replaces an older file; on an error none is
    written and no temporary file is left behind. Pieces are sorted by id, in EPSG:4326. The
    workbook is written by a worker process, on another core, while this one writes the rest.

    Parameters
    ----------
    fmt
        Format of the overlap pieces, one of :data:`OVERLAP_FORMATS`.
    book
        A worker from :func:`overlap_workbook` that may already have the projects (then the
        notes include what :func:`add_projects` returned); by default one is started here.

    Returns
    -------
    The paths written.
    """
    if fmt not in OVERLAP_FORMATS:
        raise ValueError(f"unknown overlap format {fmt!r}: choose one of {', '.join(OVERLAP_FORMATS)}")
    names = ["elements.csv", "projects.csv", "overlap.xlsx", f"overlaps.{fmt}", "elements.csvt", "projects.csvt"]
    with nullcontext(book) if book is not None else overlap_workbook() as worker:
        if "projects" not in worker.added:
            notes = [*notes, *add_projects(worker, projects)]
        worker.add(sheet_blocks("elements", elements))
        worker.add(sheet_blocks("notes", notes_table(notes)))
        with atomic_files(out_dir, names) as (elements_csv, projects_csv, workbook, pieces, elements_csvt,
                                              projects_csvt), ThreadPoolExecutor(1) as pool:
            # the tables are written beside while the pieces are rounded and encoded (GEOS releases the
            # GIL); GDAL is called from this thread, where pyogrio turns its errors into exceptions
            # (in another, GDAL prints them too)
            tables = pool.submit(_write_tables, [(elements_csv, elements_csvt, elements),
                                                 (projects_csv, projects_csvt, projects)])
            _write_pieces(pieces, overlaps, fmt)
            tables.result()
            worker.finish(workbook)
    return [Path(out_dir) / name for name in names]
