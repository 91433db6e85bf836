"""Run by the system Python with QGIS: open every layer of a GeoPackage as QGIS does and report.

Usage: python3 open_gpkg.py FILE.gpkg  -> JSON on stdout (validity, counts, CRS, default
renderer and its category colours, legend labels, field aliases, title and abstract, whether
labels are on, ids, and ellipsoidal areas measured by QGIS on GRS80).
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication, QgsCoordinateTransformContext, QgsDistanceArea, QgsVectorLayer  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
path = sys.argv[1]
report = {"qgis": app.applicationVersion() if hasattr(app, "applicationVersion") else "", "layers": {}}
import sqlite3  # noqa: E402

names = [r[0] for r in sqlite3.connect(path).execute(
    "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name")]
for name in names:
    layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
    info = {"valid": layer.isValid(), "count": layer.featureCount(), "crs": layer.crs().authid()}
    renderer = layer.renderer()
    info["renderer"] = renderer.type() if renderer else None
    info["legend"] = [item.label() for item in renderer.legendSymbolItems()] if renderer else []
    info["aliases"] = {f.name(): layer.attributeAlias(i) for i, f in enumerate(layer.fields())}
    info["title"], info["abstract"] = layer.metadata().title(), layer.metadata().abstract()
    info["labels"] = layer.labelsEnabled()
    if renderer is not None and renderer.type() == "categorizedSymbol":
        info["attr"] = renderer.classAttribute()
        info["categories"] = {str(c.value()): c.symbol().color().name() for c in renderer.categories()}
    # Ellipsoidal area as QGIS measures it (GRS80 = the CGCS2000 ellipsoid), per feature id.
    da = QgsDistanceArea()
    da.setSourceCrs(layer.crs(), QgsCoordinateTransformContext())
    da.setEllipsoid("GRS80")
    has_id = "id" in [f.name() for f in layer.fields()]
    info["ids"] = sorted(str(f["id"]) for f in layer.getFeatures()) if has_id else []
    if has_id and layer.geometryType() == 2:
        info["area_m2"] = {str(f["id"]): da.measureArea(f.geometry()) for f in layer.getFeatures()}
    report["layers"][name] = info
print(json.dumps(report, ensure_ascii=False), flush=True)
# QGIS 3.22 may crash while tearing down layers at exit; the report is out, so leave at once.
os._exit(0)
