"""Run by the system Python with QGIS: QGIS's own Zonal statistics (native:zonalstatisticsfb) of a raster
over polygons, and its Zonal histogram (native:zonalhistogram) for class counts. Both count a cell
when its centre lies in the polygon.

Usage: python3 zonal_statistics.py RASTER POLYGONS [--histogram]
       -> JSON {id: {"count", "mean", "min", "max"[, "hist": {class: cells}]}}
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.append("/usr/share/qgis/python/plugins")
from qgis.core import QgsApplication, QgsRasterLayer, QgsVectorLayer  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
from processing.core.Processing import Processing  # noqa: E402

Processing.initialize()
import processing  # noqa: E402

raster = QgsRasterLayer(sys.argv[1], "raster")
polygons = QgsVectorLayer(sys.argv[2], "polygons", "ogr")
stats = processing.run("native:zonalstatisticsfb", {
    "INPUT": polygons, "INPUT_RASTER": raster, "RASTER_BAND": 1, "COLUMN_PREFIX": "q_",
    "STATISTICS": [0, 2, 5, 6], "OUTPUT": "memory:"})["OUTPUT"]
out = {f["id"]: {"count": f["q_count"], "mean": f["q_mean"], "min": f["q_min"], "max": f["q_max"]}
       for f in stats.getFeatures()}
if "--histogram" in sys.argv:
    hist = processing.run("native:zonalhistogram", {
        "INPUT_VECTOR": polygons, "INPUT_RASTER": raster, "RASTER_BAND": 1, "COLUMN_PREFIX": "h_",
        "OUTPUT": "memory:"})["OUTPUT"]
    for f in hist.getFeatures():
        out[f["id"]]["hist"] = {name[2:]: f[name] for name in f.fields().names() if name.startswith("h_")}
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down layers at exit
