"""Run by the system Python with QGIS: render a district GeoPackage with its default styles, as QGIS does.

Usage: python3 render_labels.py FILE.gpkg EPSG WIDTH HEIGHT [OUT.png]  -> JSON on stdout: per layer
the labels QGIS placed (feature ``id`` and label rectangle in map units), and the pairs of placed
labels whose rectangles overlap. Layers are stacked in spatial.qgis.STYLED_LAYERS order (passed
as the ``SPATIAL_LAYER_ORDER`` environment variable, comma-separated); the map is drawn in EPSG
(the district's Gauss-Kruger zone) over the boundary's extent.
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsCoordinateTransform,  # noqa: E402
                       QgsMapRendererSequentialJob, QgsMapSettings, QgsProject, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
path, epsg, width, height = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
png = sys.argv[5] if len(sys.argv) > 5 else None
import sqlite3  # noqa: E402

present = {r[0] for r in sqlite3.connect(path).execute(
    "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")}
layers = []
for name in os.environ["SPATIAL_LAYER_ORDER"].split(","):
    if name in present:
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        assert layer.isValid(), name
        QgsProject.instance().addMapLayer(layer, False)
        layers.append(layer)
crs = QgsCoordinateReferenceSystem(f"EPSG:{epsg}")
settings = QgsMapSettings()
settings.setLayers(layers)
settings.setDestinationCrs(crs)
settings.setOutputSize(QSize(width, height))
settings.setOutputDpi(96)
settings.setBackgroundColor(QColor("#f7f4ec"))
boundary = next(layer for layer in layers if layer.name() == "boundary")
extent = QgsCoordinateTransform(boundary.crs(), crs, QgsProject.instance()).transformBoundingBox(boundary.extent())
extent.scale(1.05)
settings.setExtent(extent)
job = QgsMapRendererSequentialJob(settings)
job.start()
job.waitForFinished()
if png:
    job.renderedImage().save(png)
results = job.takeLabelingResults()
by_id = {layer.id(): layer for layer in layers}
placed = [p for p in results.allLabels() if not p.isUnplaced]
report = {"layers": {}, "overlaps": []}
rects = []
for p in placed:
    layer = by_id[p.layerID]
    fid = str(layer.getFeature(p.featureId)["id"])
    r = p.labelRect
    report["layers"].setdefault(layer.name(), []).append(
        {"id": fid, "text": p.labelText, "rect": [r.xMinimum(), r.yMinimum(), r.xMaximum(), r.yMaximum()]})
    rects.append((layer.name(), fid, r))
for i, (la, ia, ra) in enumerate(rects):
    for lb, ib, rb in rects[i + 1:]:
        inter = ra.intersect(rb)
        if not inter.isEmpty() and inter.width() > 1e-6 and inter.height() > 1e-6:
            report["overlaps"].append([la, ia, lb, ib])
print(json.dumps(report, ensure_ascii=False), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down layers at exit
