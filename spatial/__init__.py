"""spatial: spatial-layout slogans of Chinese district plans as GIS layers, overlaps and maps.

The public API, by stage::

    data = DataDir.default()                       # data/ and ../shared/seeds
    inp = load_district(data, "360704")            # read + validate once, at the edge
    layers = build_district(inp)                   # element geometry (EPSG:4326)
    red, report = prepare_redlines(sample_redlines(inp.features, inp.boundary, adcode="360704"),
                                   source="sample", official=False)
    table, overlaps = overlap_elements(layers.elements, red)

Everything reads and returns GeoDataFrames; files are read and written only by ``spatial.io``.
"""

from .crs import ellipsoidal_area_m2, from_wgs84, gk_zone_epsg, to_wgs84
from .errors import InputError, Problem
from .extract import extract, run_extract
from .layers import DistrictLayers
from .overlap import overlap_elements, overlap_projects
from .pipeline import DataDir, analyse, build_district, load_district, locate_plan_projects
from .projects import join_projects, locate_projects, read_user_projects
from .redlines import load_redlines, prepare_redlines, sample_redlines
from .render import render_district, render_index

__all__ = [
    "DataDir", "DistrictLayers", "InputError", "Problem",
    "analyse", "build_district", "ellipsoidal_area_m2", "extract", "from_wgs84", "gk_zone_epsg",
    "join_projects", "load_district", "load_redlines", "locate_plan_projects", "locate_projects",
    "overlap_elements", "overlap_projects", "prepare_redlines", "read_user_projects", "render_district",
    "render_index", "run_extract", "sample_redlines", "to_wgs84",
]
