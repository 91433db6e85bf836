"""``spatial overlap``: red-line overlap tables for elements and projects (CSV, Excel, overlap pieces)."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import click
import numpy as np
import pandas as pd

from ..chunks import default_chunk_bytes, overlap_in_chunks, plan_chunks
from ..errors import InputError
from ..io.report import CSV_ENCODING, OVERLAP_FORMATS, add_projects, overlap_workbook, write_overlap_report
from ..io.vector import read_vector, with_ids
from ..nearby import select_redlines
from ..overlap import gk_epsg_of, lonlat, overlap_elements, overlap_projects
from ..progress import Stages
from ..redlines import load_redlines
from .options import finite_metres


@click.command("overlap")
@click.option("--elements", "elements_path", required=True, type=click.Path(path_type=Path),
              help="Polygons to measure (e.g. layers/<adcode>/elements.geojson).")
@click.option("--redlines", "redlines_path", required=True, type=click.Path(path_type=Path),
              help="Red-line polygons: Shapefile (.shp or .zip), GeoPackage or GeoJSON, any CRS, UTF-8 or GBK.")
@click.option("--projects", "projects_path", type=click.Path(path_type=Path),
              help="Projects: points or parcels (polygons).")
@click.option("--buffer-m", type=float, default=0.0, show_default=True, callback=finite_metres,
              help="within_buffer marks projects this close to a red line (metres).")
@click.option("--id-field", default="id", show_default=True, help="Id field of the elements and projects.")
@click.option("--layer", help="Layer of the red-line file, when it holds several.")
@click.option("--crs", help="CRS of the red-line file when it declares none, e.g. EPSG:4547.")
@click.option("--elements-layer", help="Layer of the elements file, when it holds several.")
@click.option("--elements-crs", help="CRS of the elements file when it declares none.")
@click.option("--projects-layer", help="Layer of the projects file, when it holds several.")
@click.option("--projects-crs", help="CRS of the projects file when it declares none.")
@click.option("--format", "fmt", type=click.Choice(OVERLAP_FORMATS), default="gpkg", show_default=True,
              help="File format of the overlap pieces (overlaps.gpkg, .parquet or .geojson).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Run on a local Dask cluster of N worker processes (on one small machine it does not pay: README, scale-out).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (see README: scale-out).")
@click.option("--all-redlines", is_flag=True,
              help="Read every red-line feature, not only those that can change the results (the ones near the "
                   "elements and projects): slower on a large file, the same tables; the repair notes then "
                   "cover the whole layer.")
@click.option("--chunk-mb", type=click.FloatRange(min=0, min_open=True), metavar="MB",
              help="Read, repair and measure the red lines in chunks of about this many MB of the file, one after "
                   "the other, with the overlap pieces spilled to a temporary file (TMPDIR): for red-line files "
                   "larger than memory. Default: an eighth of the memory available; smaller needs are read at once.")
@click.option("--quiet", is_flag=True, help="Print no progress, only the paths written.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for elements.csv, projects.csv, overlap.xlsx and overlaps.<format>.")
def overlap(elements_path: Path, redlines_path: Path, projects_path: Path | None, buffer_m: float,
            id_field: str, layer: str | None, crs: str | None, fmt: str, workers: int | None,
            scheduler: str | None, all_redlines: bool, chunk_mb: float | None, quiet: bool, out_dir: Path, elements_layer: str | None, elements_crs: str | None,
            projects_layer: str | None, projects_crs: str | None) -> None:
    """Measure how much of each element lies in ecological protection red lines, and where projects lie.

    Areas are ellipsoidal (CGCS2000/GRS80); distances are metres in the Gauss-Kruger zone of
    the data. Overlapping red-line patches are dissolved first. Nothing is written on an error.
    Progress goes to stderr (--quiet: none); the paths written go to stdout.
    """
    if workers is not None and scheduler is not None:
        raise InputError.one("--workers", "", "given together with --scheduler",
                             "use --workers N for a local cluster or --scheduler ADDRESS for an existing one")
    if chunk_mb is not None and (workers is not None or scheduler is not None):
        raise InputError.one("--chunk-mb", "", f"given together with {'--workers' if workers else '--scheduler'}",
                             "read in chunks on this machine (--chunk-mb) or share the work on Dask, not both")
    # the workbook's worker starts now and writes each table on the other core as soon as it is ready
    with Stages(quiet=quiet) as stages, overlap_workbook() as book, ExitStack() as scratch:
        with stages.stage("reading elements and projects"):
            elements = with_ids(read_vector(elements_path, geometry="polygon", layer=elements_layer, crs=elements_crs,
                                             option="--elements"), elements_path, id_field)
            projects = with_ids(read_vector(projects_path, layer=projects_layer, crs=projects_crs, option="--projects"),
                                 projects_path, id_field) if projects_path else None
        with stages.stage("reading and repairing red lines"):
            hint = float(elements.to_crs(4326).total_bounds[[0, 2]].mean())
            near = [g for g in (elements, projects) if g is not None]
            selection = None if all_redlines else select_redlines(
                redlines_path, layer=layer, crs=crs, option="", targets=lonlat(elements),
                projects=lonlat(projects) if projects is not None else np.empty(0, dtype=object),
                epsg=gk_epsg_of(*near))
            plan = None if workers is not None or scheduler is not None else plan_chunks(
                redlines_path, layer=layer, crs=crs, option="", selection=selection,
                chunk_bytes=int(chunk_mb * 2**20) if chunk_mb else default_chunk_bytes())
            if plan is None:
                redlines, report = load_redlines(redlines_path, layer=layer, crs=crs, hint_lon=hint,
                                                 selection=selection)
        ptable = pd.DataFrame(columns=["id", "in_redline", "redline_share", "redline_distance_m",
                                       "within_buffer", "nearest_redline_id"])  # no projects file
        chunk_notes = []
        if plan is not None:
            done = overlap_in_chunks(plan, redlines_path, layer=layer, crs=crs, hint_lon=hint, elements=elements,
                                     projects=projects, buffer_m=buffer_m, stages=stages,
                                     spill_dir=scratch.enter_context(tempfile.TemporaryDirectory(prefix="spatial-")))
            table, overlaps, report, epsg = done.elements, done.overlaps, done.report, done.epsg
            ptable = _named(done.projects, projects) if projects is not None else ptable
            sheet_notes = add_projects(book, ptable)
            chunk_notes = [("red lines", done.note)]
        elif workers is not None or scheduler is not None:
            from ..scale import overlap_on_dask

            epsg = gk_epsg_of(elements, redlines)
            with stages.stage(f"intersecting on Dask ({scheduler or f'{workers} local workers'})"):
                table, overlaps, located = overlap_on_dask(elements, redlines, projects, buffer_m=buffer_m,
                                                           workers=workers, scheduler=scheduler, types=report.types)
            ptable = _named(located, projects) if projects is not None else ptable
            sheet_notes = add_projects(book, ptable)
        else:
            epsg = gk_epsg_of(elements, redlines)
            # both questions at once: much of each is GEOS and numpy, which let the other thread run
            with stages.stage("locating projects and intersecting elements with red lines" if projects is not None
                              else "intersecting elements with red lines"), ThreadPoolExecutor(1) as pool:
                intersected = pool.submit(overlap_elements, elements, redlines, types=report.types)
                if projects is not None:
                    ptable = _named(overlap_projects(projects, redlines, buffer_m=buffer_m, epsg=epsg), projects)
                sheet_notes = add_projects(book, ptable)  # the workbook's worker writes them meanwhile
                table, overlaps = intersected.result()
        project_note = f"{projects_path.name}: {len(projects)} projects; within_buffer = within {buffer_m:g} m" \
            if projects is not None else "no projects file given (--projects)"
        notes = [
            ("elements", f"{elements_path.name}: {len(elements)} polygons, ids from field {id_field!r}"),
            ("projects", project_note),
            ("red lines", str(redlines_path.name)),
            ("official", "yes: official red lines" if report.official else
             "NO: illustrative, not the official ecological protection red lines"),
            ("CRS", f"red lines read in {report.crs}; all layers reprojected to EPSG:4326 (WGS84 lon/lat)"),
            ("area method", "ellipsoidal (geodesic) on CGCS2000/GRS80; 1 亩 = 2000/3 m²"),
            ("distances", f"metres in EPSG:{epsg} (CGCS2000 3-degree Gauss-Kruger zone of the data)"),
            *chunk_notes,
            *[("red-line repairs", line) for line in report.notes],
            ("CSV encoding", f"UTF-8 with byte-order mark ({CSV_ENCODING}) so that Excel shows Chinese correctly"),
            *sheet_notes,
        ]
        with stages.stage("writing tables and overlap pieces"):
            written = write_overlap_report(out_dir, elements=table, projects=ptable, notes=notes, overlaps=overlaps,
                                           fmt=fmt, book=book)
    for path in written:
        click.echo(str(path))


def _named(ptable: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    """The project table with the projects' names as its second column, when they have names."""
    if "name" in projects.columns:
        ptable.insert(1, "name", projects["name"].to_numpy())
    return ptable
