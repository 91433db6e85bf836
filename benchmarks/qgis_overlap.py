"""QGIS's own Overlap analysis (native:calculatevectoroverlaps) of elements against red lines.

Usage: /usr/bin/python3 benchmarks/qgis_overlap.py ELEMENTS REDLINES OUTDIR

Run by the system Python with QGIS (Debian python3-qgis). Areas are ellipsoidal on GRS80
(= CGCS2000). Writes OUTDIR/elements.csv (id, redline_m2): the element overlap only, QGIS
has no one-step equivalent of the projects table.
"""

import csv
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.append("/usr/share/qgis/python/plugins")
from qgis.core import QgsApplication, QgsProcessingContext, QgsProject, QgsVectorLayer  # noqa: E402

elements_path, redlines_path, out = sys.argv[1:4]
app = QgsApplication([], False)
app.initQgis()
from processing.core.Processing import Processing  # noqa: E402

Processing.initialize()
import processing  # noqa: E402

elements = QgsVectorLayer(elements_path, "elements", "ogr")
redlines = QgsVectorLayer(redlines_path, "redlines", "ogr")  # output field: redlines_area
for layer in (elements, redlines):
    if not layer.isValid():
        print(f"QGIS cannot open {layer.source()}", file=sys.stderr, flush=True)
        os._exit(1)
context = QgsProcessingContext()
context.setProject(QgsProject.instance())
context.setEllipsoid("GRS80")
result = processing.run("native:calculatevectoroverlaps",
                        {"INPUT": elements, "LAYERS": [redlines], "OUTPUT": "memory:"}, context=context)
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "elements.csv"), "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f)
    writer.writerow(["id", "redline_m2"])
    for feature in result["OUTPUT"].getFeatures():
        writer.writerow([feature["id"], feature["redlines_area"]])
os._exit(0)  # QGIS 3.22 may crash while tearing down layers at exit
