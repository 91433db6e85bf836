"""Run by the system Python with QGIS: QGIS's own Overlap analysis (native:calculatevectoroverlaps)
of a district GeoPackage's elements against its red lines, ellipsoidal on GRS80 (= CGCS2000).

Usage: python3 overlap_analysis.py FILE.gpkg  -> JSON {element id: red-line area in m²}
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.append("/usr/share/qgis/python/plugins")
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsProcessingContext,  # noqa: E402
                       QgsProject, QgsVectorLayer)

app = QgsApplication([], False)
app.initQgis()
from processing.core.Processing import Processing  # noqa: E402

Processing.initialize()
import processing  # noqa: E402

path = sys.argv[1]
elements = QgsVectorLayer(f"{path}|layername=elements", "elements", "ogr")
redlines = QgsVectorLayer(f"{path}|layername=redlines", "redlines", "ogr")
project = QgsProject.instance()
project.setCrs(QgsCoordinateReferenceSystem("EPSG:4490"))
context = QgsProcessingContext()
context.setProject(project)
context.setEllipsoid("GRS80")
result = processing.run("native:calculatevectoroverlaps",
                        {"INPUT": elements, "LAYERS": [redlines], "OUTPUT": "memory:"}, context=context)
out = result["OUTPUT"]
area_field = out.fields().indexOf("redlines_area")
print(json.dumps({f["id"]: f.attributes()[area_field] for f in out.getFeatures()}), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down layers at exit
