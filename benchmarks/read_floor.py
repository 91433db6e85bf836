"""The floor under any Python overlap tool on these libraries: start-up, imports and reading the inputs.

Usage: python benchmarks/read_floor.py ELEMENTS REDLINES PROJECTS

Imports pandas, pyogrio and shapely, reads the three files with GDAL through Arrow and turns their
WKB into shapes; measures nothing and writes nothing. Time it as a whole process
(``/usr/bin/time -v``) beside ``spatial overlap`` and ``benchmarks/plain_overlap.py``.
"""

import sys

import pandas  # noqa: F401 - imported as every geopandas tool imports it
import pyogrio
import shapely

for path in sys.argv[1:4]:
    meta, table = pyogrio.read_arrow(path)
    shapely.from_wkb(table[meta["geometry_name"] or "wkb_geometry"].to_numpy(zero_copy_only=False))
