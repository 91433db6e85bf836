"""Run by the system Python with QGIS: open every Shapefile and GeoJSON of a folder as QGIS does.

Usage: python3 open_files.py FOLDER...  -> JSON on stdout: per file its validity, CRS, count,
field names, field aliases and renderer (QGIS loads the .qml beside a file as its default
style), and the values that hold U+FFFD (text cut inside a character).
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication, QgsVectorLayer  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
report = {}
for folder in sys.argv[1:]:
    for path in sorted(Path(folder).glob("*")):
        if path.suffix not in (".shp", ".geojson"):
            continue
        layer = QgsVectorLayer(str(path), path.stem, "ogr")
        bad = [str(v) for f in layer.getFeatures() for v in f.attributes() if isinstance(v, str) and "\ufffd" in v]
        renderer = layer.renderer()
        report[str(path)] = {
            "valid": layer.isValid(), "crs": layer.crs().authid(), "count": layer.featureCount(),
            "fields": [f.name() for f in layer.fields()],
            "aliases": {f.name(): layer.attributeAlias(i) for i, f in enumerate(layer.fields())},
            "renderer": renderer.type() if renderer else None, "labels": layer.labelsEnabled(),
            "replacement_chars": bad,
            "longest_text": max((len(v.encode("utf-8")) for f in layer.getFeatures() for v in f.attributes()
                                 if isinstance(v, str)), default=0),
        }
print(json.dumps(report, ensure_ascii=False), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down layers at exit
