"""``spatial build``: the main job, layers and maps for every district with a spec."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd
from rich.console import Console

from ..assets import default_node_modules
from ..errors import InputError
from ..io.files import write_text
from ..io.layers import write_district
from ..io.vector import read_vector
from ..layers import DistrictLayers
from ..progress import Stages
from ..pipeline import (DataDir, DistrictInputs, analyse, build_district, load_district, load_spec,
                        locate_plan_projects)
from ..projects import read_user_projects
from ..redlines import REDLINE_COLUMNS, check_reach, extent, load_redlines, prepare_redlines, sample_redlines
from ..render import IndexEntry, render_district, render_index
from ..townships import match_official
from ..transaction import Outputs, transaction
from .options import finite_metres

BASEMAPS = ("none", "osm", "imagery", "tianditu", "amap", "custom")


def _clip(redlines: gpd.GeoDataFrame, inp: DistrictInputs) -> gpd.GeoDataFrame:
    """The red lines cut to one district."""
    boundary = inp.boundary.geometry.iloc[0]
    clipped = redlines[redlines.intersects(boundary)].copy()
    clipped["geometry"] = clipped.geometry.intersection(boundary)
    return clipped.reset_index(drop=True)


def _notes(layers: DistrictLayers, redline_notes: list[str], official: bool) -> list[str]:
    approx = bool(layers.townships["approximate"].all())
    return [
        f"plan: {layers.plan.title} ({layers.plan.period}), seed {layers.plan.seed}",
        f"district boundary: {layers.boundary['source'].iloc[0]}",
        "areas: ellipsoidal (geodesic) on the CGCS2000 ellipsoid (GRS80); 1 亩 = 2000/3 m²; "
        "distances and buffers in the district's CGCS2000 3-degree Gauss-Kruger zone",
        "township cells: " + ("approximate (Voronoi of township seats clipped to the district)" if approx
                              else "official polygons supplied by the user"),
        "element geometry: approximate, drawn from the gazetteer and features in data/ (see basis, precision_m)",
        ("red lines: OFFICIAL data supplied by the user" if official else
         "red lines: ILLUSTRATIVE sample built from ecological features the plan names - not the official "
         "生态保护红线; give the official file with --redlines"),
        *redline_notes,
        "CSV files are UTF-8 with BOM so that Excel shows Chinese correctly",
    ]


def _carry_figures(current: Path, stage: Path, codes: set[str]) -> None:
    """Copy the figures of districts not built now (``<adcode>_<structure>.png``) into the staged folder."""
    stage.mkdir(parents=True, exist_ok=True)
    for path in sorted(current.glob("*")) if current.is_dir() else []:
        if path.is_file() and path.name.split("_", 1)[0] not in codes:
            shutil.copy2(path, stage / path.name)


@click.command()
@click.argument("adcodes", nargs=-1)
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Input folder: plans/, gazetteer/, features/, projects/, boundaries/ "
                   "[default: ./data when it has plans/, else the five plans embedded in the package].")
@click.option("--seeds", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the plans' texts, to check citations [default: $SPATIAL_SEEDS or ../shared/seeds].")
@click.option("--layers", "layers_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("layers"),
              show_default=True, help="Output folder for the GIS layers and tables.")
@click.option("--maps", "maps_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("maps"),
              show_default=True, help="Output folder for the HTML maps.")
@click.option("--offline", is_flag=True, help="Inline every script and stylesheet: maps open with no internet.")
@click.option("--basemap", type=click.Choice(BASEMAPS), default="none", show_default=True,
              help="Background tiles; 'none' draws vector context only and works offline.")
@click.option("--tile-url", default=None, help="XYZ template for --basemap custom (e.g. an intranet tile server).")
@click.option("--tile-crs", type=click.Choice(["wgs84", "gcj02"]), default="wgs84", show_default=True,
              help="Coordinate system of the custom tiles.")
@click.option("--cdn", default="jsdelivr", show_default=True,
              help="Where online maps load scripts: jsdelivr, unpkg, npmmirror (China) or a URL template.")
@click.option("--assets", "assets_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="node_modules folder with the map assets for --offline [default: the repository's].")
@click.option("--projects", "projects_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="User project file (CSV/XLSX with lon/lat, or points/parcels in any vector format).")
@click.option("--projects-crs", default=None, help="wgs84, gcj02 or bd09 for lon/lat tables; EPSG:NNNN for a file without CRS.")
@click.option("--projects-layer", default=None, help="Layer of a multi-layer project file.")
@click.option("--projects-id-field", default=None, help="Id column of the project file [default: id/编号].")
@click.option("--projects-name-field", default=None, help="Name column of the project file [default: name/名称/项目名称].")
@click.option("--projects-lon-field", default=None, help="Longitude column of a project table [default: lon/经度/x].")
@click.option("--projects-lat-field", default=None, help="Latitude column of a project table [default: lat/纬度/y].")
@click.option("--projects-category-field", default=None, help="Category column of the project file [default: category/类别].")
@click.option("--strict", is_flag=True, help="Stop on any bad project row instead of skipping it.")
@click.option("--redlines", "redlines_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Official red-line file (Shapefile, zip, GeoPackage, GeoJSON; any CRS).")
@click.option("--redlines-layer", default=None, help="Layer of a multi-layer red-line file.")
@click.option("--redlines-crs", default=None, help="CRS to assume when the red-line file declares none.")
@click.option("--buffer-m", type=float, default=500.0, show_default=True, callback=finite_metres,
              help="Distance from a red line within which a project is flagged.")
@click.option("--townships", "townships_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Official township polygons (replace the approximate Voronoi cells).")
@click.option("--township-field", default=None, help="Name field of the township file.")
@click.option("--raster", "landcover_path", type=click.Path(path_type=Path), default=None,
              help="Land-cover raster (class codes, any CRS): class shares in each element's table and popup.")
@click.option("--classes", "classes_path", type=click.Path(path_type=Path), default=None,
              help="Class table for --raster (.csv/.xlsx, columns class,name).")
@click.option("--dem", "dem_path", type=click.Path(path_type=Path), default=None,
              help="DEM (metres, any CRS): elevation and slope at each project.")
@click.option("--figures", is_flag=True, help="Also draw each structure as an A4 planning diagram: maps/figures/<adcode>_<structure>.png.")
@click.option("--townships-layer", default=None, help="Layer of a multi-layer township file.")
@click.option("--townships-crs", default=None, help="CRS to assume when the township file declares none (no .prj).")
@click.option("--no-wait", is_flag=True, help="Stop with an error, instead of waiting, while another build writes the same outputs.")
@click.option("--embed-token", is_flag=True,
              help="Write $TIANDITU_TOKEN into maps built with --basemap tianditu (default: the map asks for the key).")
@click.option("--quiet", is_flag=True, help="Print no progress or summary, only warnings and errors.")
def build(adcodes: tuple[str, ...], data_dir: Path | None, seeds: Path | None, layers_dir: Path, maps_dir: Path,
          offline: bool, basemap: str, tile_url: str | None, tile_crs: str, cdn: str, assets_dir: Path | None,
          projects_path: Path | None,
          projects_crs: str | None, projects_layer: str | None, strict: bool, redlines_path: Path | None,
          redlines_layer: str | None, redlines_crs: str | None, buffer_m: float, townships_path: Path | None,
          township_field: str | None, landcover_path: Path | None, classes_path: Path | None, dem_path: Path | None,
          figures: bool, quiet: bool, projects_id_field: str | None, projects_name_field: str | None,
          projects_lon_field: str | None, projects_lat_field: str | None, projects_category_field: str | None,
          townships_layer: str | None, townships_crs: str | None, no_wait: bool, embed_token: bool) -> None:
    """Build layers/ and maps/ for ADCODES (default: every plan in the data folder).

    Everything is read and computed before the first file is written, so a bad input leaves
    the previous outputs as they were.
    """
    console = Console(stderr=True, soft_wrap=True, quiet=quiet)
    warn = Console(stderr=True, soft_wrap=True, highlight=False)  # skipped rows, missing red lines: even with --quiet
    if figures:
        from ..figure import check_fonts, write_figures  # matplotlib only when asked for
        check_fonts()  # before any file is written
    with Stages(quiet=quiet, console=console) as stages:
        data = DataDir.default(data_dir, seeds)
        if data.seeds is None:
            console.print("[yellow]note:[/] seed texts not found; citations are not checked (give --seeds)")
        codes = list(adcodes) or data.adcodes()
        if not codes:
            raise InputError.one(data.root / "plans", "", "no plan spec (*.yaml) found; nothing was built or rewritten",
                                 "run spatial build in the project folder, or pass --data FOLDER holding plans/")
        token = os.environ.get("TIANDITU_TOKEN") if embed_token else None
        if embed_token and not token:
            raise InputError.one("--embed-token", "", "given, but TIANDITU_TOKEN is not set",
                                 "set TIANDITU_TOKEN to your 天地图 key, or leave out --embed-token (the map asks for it)")
        t0 = time.perf_counter()
        with stages.stage("reading plans, gazetteers and boundaries"):
            loaded = {code: load_district(data, code) for code in codes}
        hint_lon = next(iter(loaded.values())).boundary.geometry.iloc[0].centroid.x
        official_townships = (read_vector(townships_path, geometry="polygon", layer=townships_layer,
                                          crs=townships_crs, hint_lon=hint_lon, option="--townships")
                              if townships_path else None)
        user_projects = None
        if projects_path is not None:
            boundaries = gpd.GeoDataFrame(pd.concat([i.boundary for i in loaded.values()], ignore_index=True), crs=4326)
            user_projects, problems = read_user_projects(
                projects_path, crs=projects_crs, layer=projects_layer, strict=strict, boundary=boundaries,
                id_field=projects_id_field, name_field=projects_name_field, lon_field=projects_lon_field,
                lat_field=projects_lat_field, category_field=projects_category_field)
            for p in problems:
                warn.print(f"skipped: {p}", markup=False)
        official_redlines = None
        if redlines_path is not None:  # read and repaired once, cut per district below
            official_redlines, official_report = load_redlines(redlines_path, layer=redlines_layer, crs=redlines_crs,
                                                               hint_lon=hint_lon, option="--redlines")
            check_reach(official_redlines, official_report, {c: i.boundary for c, i in loaded.items()},
                        file=redlines_path)
        results: dict[str, DistrictLayers] = {}
        for code, inp in loaded.items():
            with stages.stage(f"{code} {inp.spec.plan.district}: geometry, projects, red lines"):
                cells = (match_official(official_townships, inp.places, inp.boundary, file=str(townships_path),
                                        name_field=township_field) if official_townships is not None else None)
                layers = build_district(inp, official_townships=cells)
                projects = locate_plan_projects(inp, file=str(data.root / "projects" / f"{code}.csv"))
                if user_projects is not None:
                    mine = user_projects[user_projects.intersects(inp.boundary.geometry.iloc[0])]
                    clash = sorted(set(mine["id"]) & set(projects["id"] if projects is not None else []))
                    if clash:
                        raise InputError.one(projects_path, "id", f"ids also used by the plan's projects: {', '.join(clash[:5])}",
                                             "give your projects their own ids")
                    projects = mine if projects is None else gpd.GeoDataFrame(
                        pd.concat([projects, mine], ignore_index=True), crs=4326)
                if official_redlines is not None:
                    redlines, red_notes = _clip(official_redlines, inp), official_report.notes
                    if redlines.empty:
                        miss = f"the red lines in {redlines_path.name} ({extent(official_redlines)}) miss {code} " \
                               f"{inp.spec.plan.district}: zero red-line overlap there"
                        warn.print(f"warning: {miss}", markup=False)
                        red_notes = [*red_notes, miss]
                    official, source = True, redlines_path.name
                else:
                    source = "示意：由规划提及的生态要素生成（非官方生态保护红线）"
                    sample, official = sample_redlines(inp.features, inp.boundary, adcode=code), False
                    if sample.empty:  # a plan without ecological features (a new district): nothing to draw
                        redlines = gpd.GeoDataFrame({c: [] for c in REDLINE_COLUMNS}, geometry=[], crs=4326)
                        red_notes = [f"no ecological feature in the features of {code}: no illustrative red line, "
                                     "zero red-line overlap; give the official file with --redlines"]
                        warn.print(f"warning: {red_notes[0]}", markup=False)
                    else:
                        redlines, report = prepare_redlines(sample, source=source, official=False)
                        red_notes = report.notes
                results[code] = analyse(layers, projects=projects, redlines=redlines, redlines_official=official,
                                        redlines_source=source, notes=_notes(layers, red_notes, official), buffer_m=buffer_m)
            if landcover_path is not None or dem_path is not None:
                from ..raster.district import add_rasters  # rasterio and exactextract only when asked for

                with stages.stage(f"{code}: land cover and terrain"):
                    results[code] = add_rasters(results[code], landcover=landcover_path, classes=classes_path,
                                                dem=dem_path)
        with stages.stage("rendering maps"):
            html = {code: render_district(layers, basemap=basemap, tile_url=tile_url, tile_crs=tile_crs,
                                          offline=offline, cdn=cdn, tianditu_token=token,
                                          assets_dir=(assets_dir or default_node_modules()) if offline else None)
                    for code, layers in results.items()}
        outputs = Outputs({layers_dir: "--layers", maps_dir: "--maps"}, no_wait=no_wait,
                          say=lambda text: warn.print(text, markup=False))
        with stages.stage("writing layers, tables and maps (one transaction)"), transaction(outputs) as staged:
            for code, layers in results.items():
                write_district(layers, staged(layers_dir))
                write_text(staged(maps_dir) / f"{code}.html", html[code])
            # The index lists every district with a spec and a map, built now or before.
            specs = [loaded[c].spec if c in loaded else load_spec(data, c) for c in data.adcodes()
                     if c in loaded or (Path(maps_dir) / f"{c}.html").exists()]
            write_text(staged(maps_dir) / "index.html", render_index([IndexEntry.from_spec(s) for s in specs]))
            if figures:  # maps/figures/ is switched whole: other districts' figures are carried over
                _carry_figures(Path(maps_dir) / "figures", staged(maps_dir) / "figures", set(results))
                for layers in results.values():
                    write_figures(layers, staged(maps_dir) / "figures")
        for code, layers in results.items():
            console.print(f"{code} {layers.plan.district}: {len(layers.structures)} structures, {len(layers.elements)} elements, "
                          f"{0 if layers.projects is None else len(layers.projects)} projects, "
                          f"{len(layers.redlines)} red-line patches ({'official' if layers.redlines_official else 'illustrative'})")
        console.print(f"built {len(results)} districts in {time.perf_counter() - t0:.1f} s")
