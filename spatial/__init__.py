"""spatial: spatial-layout slogans of Chinese district plans as GIS layers, overlaps and maps.

The public API, by stage::

    data = DataDir.default()                       # data/ and ../shared/seeds
    inp = load_district(data, "360704")            # read + validate once, at the edge
    layers = build_district(inp)                   # element geometry (EPSG:4326)
    red, report = prepare_redlines(sample_redlines(inp.features, inp.boundary, adcode="360704"),
                                   source="sample", official=False)
    table, overlaps = overlap_elements(layers.elements, red)

Everything reads and returns GeoDataFrames; files are read and written only by ``spatial.io``.
Names are imported on first use, so that ``import spatial`` (and the command line) loads only
what a task needs: the overlap engine does not load the map renderer.
"""

from __future__ import annotations

import importlib

#: Public name -> module that defines it.
_API = {
    "ellipsoidal_area_m2": "crs", "from_wgs84": "crs", "gk_zone_epsg": "crs", "to_wgs84": "crs",
    "InputError": "errors", "Problem": "errors",
    "extract": "extract", "run_extract": "extract",
    "DistrictLayers": "layers",
    "overlap_elements": "overlap", "overlap_projects": "overlap",
    "overlap_on_dask": "scale",
    "DataDir": "pipeline", "analyse": "pipeline", "build_district": "pipeline", "load_district": "pipeline",
    "locate_plan_projects": "pipeline",
    "join_projects": "projects", "locate_projects": "projects", "read_user_projects": "projects",
    "load_redlines": "redlines", "prepare_redlines": "redlines", "sample_redlines": "redlines",
    "render_district": "render", "render_index": "render",
    "open_raster": "raster.grid", "zonal_categorical": "raster.zonal", "zonal_continuous": "raster.zonal",
    "sample_points": "raster.sample", "rasterize_layout": "raster.rasterize",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'spatial' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
