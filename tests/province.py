"""A province of red lines for tests of reading parts of a layer (spatial.nearby, spatial.chunks): small
patches on a grid and the awkward cases at a county's edge, with elements and projects."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
from click.testing import CliRunner
from shapely.geometry import Point, box

from spatial.cli import main

AOI = (114.40, 25.90, 114.60, 26.10)  # the county: elements and most projects


def province(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Red lines over 114-116°E, 25-27°N: a grid of small patches and the awkward cases at the county's edge."""
    rows = []
    for i, x in enumerate(np.arange(114.0, 116.0, 0.05)):
        for j, y in enumerate(np.arange(25.0, 27.0, 0.05)):
            s = rng.uniform(0.005, 0.02)
            rows.append((f"g{i:02d}-{j:02d}", "水源涵养" if (i + j) % 2 else "水土保持", box(x, y, x + s, y + s)))
    # same type, overlapping, across the county's edge; the member far outside comes first: its id names the merge
    rows.insert(0, ("edge-far", "生物多样性维护", box(114.62, 26.00, 114.90, 26.02)))
    rows.append(("edge-near", "生物多样性维护", box(114.58, 26.005, 114.70, 26.015)))
    # a cross-type overlap just outside the county, and a long thin patch reaching in from far away
    rows.append(("cross-a", "水源涵养", box(114.30, 25.80, 114.36, 25.86)))
    rows.append(("cross-b", "水土保持", box(114.33, 25.83, 114.39, 25.89)))
    rows.append(("river", "水源涵养", box(115.50, 26.051, 115.9, 26.052).union(box(114.55, 26.051, 115.5, 26.0515))))
    ids, types, shapes = zip(*rows)
    return gpd.GeoDataFrame({"id": ids, "type": types}, geometry=list(shapes), crs=4490)


#: The province's extent with a margin: elements and projects spread over it with ``everywhere``.
PROVINCE = (113.9, 24.9, 116.1, 27.1)


def inputs(tmp_path, rng: np.random.Generator, *, epsg: int, with_ids: bool, everywhere: bool = False,
           shapefile: bool = False):
    """Red lines (GeoPackage in ``epsg``, or a Shapefile with GBK attributes and no .cpg, as official
    exports come), elements (GeoJSON) and projects (GeoPackage): in the county (:data:`AOI`), or with
    ``everywhere`` over the whole province, one project without a shape."""
    red = province(rng)
    if not with_ids:
        red = red.drop(columns="id")
    red_path = tmp_path / f"red-{epsg}-{with_ids}.{'shp' if shapefile else 'gpkg'}"
    pyogrio.write_dataframe(red.to_crs(epsg), red_path, promote_to_multi=True,
                            **({"encoding": "GBK"} if shapefile else {}))
    red_path.with_suffix(".cpg").unlink(missing_ok=True)
    x0, y0, x1, y1 = PROVINCE if everywhere else AOI
    elements = gpd.GeoDataFrame({"id": ["e1", "e2", "e3"]}, geometry=[
        box(x0, y0, (x0 + x1) / 2, y1), box((x0 + x1) / 2, y0, x1, (y0 + y1) / 2),
        box((x0 + x1) / 2, (y0 + y1) / 2, x1, y1)], crs=4326)
    points = [Point(p) for p in rng.uniform((x0, y0), (x1, y1), size=(300, 2))]
    points += [Point(114.47, 26.3), Point(113.5, 26.0)]  # far from the county; the second west of all red lines
    parcels = [box(x, y, x + 0.004, y + 0.003) for x, y in rng.uniform((x0, y0), (x1, y1), size=(30, 2))]
    shapes = points + parcels + ([None] if everywhere else [])
    projects = gpd.GeoDataFrame({"id": [f"p{i}" for i in range(len(shapes))]}, geometry=shapes, crs=4326)
    elements.to_file(tmp_path / "elements.geojson")
    projects.to_file(tmp_path / "projects.gpkg")
    return tmp_path / "elements.geojson", red_path, tmp_path / "projects.gpkg"


def overlap_run(elements, red, projects, out, *extra):
    result = CliRunner().invoke(main, ["overlap", "--elements", str(elements), "--redlines", str(red), "--projects",
                                       str(projects), "--buffer-m", "500", "--out", str(out), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return out
