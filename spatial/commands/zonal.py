"""``spatial zonal``: class areas or statistics of a raster per element, and its value at each project."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from ..errors import InputError
from ..io.files import atomic_files
from ..io.report import CSV_ENCODING, rounded
from ..io.tables import read_table
from ..io.vector import read_vector, with_ids
from ..raster.grid import open_raster
from ..raster.sample import flag_table, parse_flag, sample_points
from ..raster.zonal import read_class_names, zonal_categorical, zonal_continuous


@click.command("zonal")
@click.option("--raster", "raster_path", required=True, type=click.Path(path_type=Path),
              help="Raster (GeoTIFF or any GDAL raster), any CRS: land cover, DEM, slope, night lights ...")
@click.option("--elements", "elements_path", required=True, type=click.Path(path_type=Path),
              help="Polygons to summarise (e.g. layers/<adcode>/elements.geojson), any CRS.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for zonal.csv (and projects.csv with --projects).")
@click.option("--categorical", is_flag=True, help="The raster holds class codes: area of each class per element.")
@click.option("--band", type=click.IntRange(min=1), default=1, show_default=True, help="Band to read.")
@click.option("--classes", "classes_path", type=click.Path(path_type=Path),
              help="Class table (.csv/.xlsx, columns class,name) naming the codes of a categorical raster.")
@click.option("--id-field", default="id", show_default=True, help="Id field of the elements and projects.")
@click.option("--projects", "projects_path", type=click.Path(path_type=Path),
              help="Projects (points or parcels): the raster value at each goes to projects.csv.")
@click.option("--name", "value_name",
              help="Column name of the value at projects [default: class with --categorical, else value].")
@click.option("--flag", "flags", multiple=True, metavar="RULE",
              help='A rule on the value at projects, e.g. "slope>25" or "class in 1,2"; repeatable.')
def zonal(raster_path: Path, elements_path: Path, out_dir: Path, categorical: bool, band: int,
          classes_path: Path | None, id_field: str, projects_path: Path | None, value_name: str | None,
          flags: tuple[str, ...]) -> None:
    """Area of each class (--categorical) or mean/min/max/std/percentiles of a raster in each element.

    Each cell counts by the exact part of it the element covers and by its ground area
    (ellipsoidal when the raster is in degrees); nodata is left out; the elements are
    reprojected to the raster's CRS and the raster is read in windows. Areas in m², km², 亩.
    """
    name = value_name or ("class" if categorical else "value")
    rules = [parse_flag(text, [name]) for text in flags]
    if rules and projects_path is None:
        raise InputError.one("--flag", "", "given without --projects", "add --projects FILE, the sites the flags are about")
    names = read_class_names(read_table(classes_path), str(classes_path)) if classes_path else None
    elements = with_ids(read_vector(elements_path, geometry="polygon"), elements_path, id_field)
    projects = with_ids(read_vector(projects_path), projects_path, id_field) if projects_path else None
    with open_raster(raster_path, band=band) as ds:
        if categorical:
            table = zonal_categorical(ds, elements, band=band, class_names=names)
        else:
            table = zonal_continuous(ds, elements, band=band)
        tables = {"zonal.csv": table}
        if projects is not None:
            values = pd.DataFrame({"id": projects["id"].to_numpy(), name: sample_points(ds, projects, band=band)})
            if categorical:
                values[name] = values[name].astype("Int64")
                if names:
                    values[f"{name}_name"] = values[name].map(names)
            tables["projects.csv"] = flag_table(values, rules)
    with atomic_files(out_dir, list(tables)) as paths:
        for path, df in zip(paths, tables.values()):
            rounded(df).to_csv(path, index=False, lineterminator="\n", encoding=CSV_ENCODING)
    for file in tables:
        click.echo(str(out_dir / file))
