"""Run by the system Python with QGIS: open a district's .qgz and export its print layout to PDF.

Usage: python3 open_project.py FILE.qgz OUT.pdf  -> JSON on stdout: project CRS, layers in
layer-tree order (name, valid, CRS, feature count, source, visible, group), the layout's
items, page size and the PDF export result.
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import (QgsApplication, QgsLayoutExporter, QgsLayoutItemLabel, QgsLayoutItemLegend,  # noqa: E402
                       QgsLayoutItemMap, QgsLayoutItemPicture, QgsLayoutItemScaleBar, QgsProject)

app = QgsApplication([], False)
app.initQgis()
path, pdf = sys.argv[1], sys.argv[2]
project = QgsProject.instance()
ok = project.read(path)
root = project.layerTreeRoot()
layers = []
for node in root.findLayers():
    layer = node.layer()
    parent = node.parent()
    layers.append({
        "name": node.name(), "valid": bool(layer and layer.isValid()), "crs": layer.crs().authid() if layer else "",
        "count": layer.featureCount() if layer else -1, "source": layer.source() if layer else "",
        "visible": node.isVisible(), "group": parent.name() if parent is not root else None,
        "title": layer.metadata().title() if layer else "", "subset": layer.subsetString() if layer else "",
        "aliases": {f.name(): layer.attributeAlias(i) for i, f in enumerate(layer.fields())} if layer else {},
    })
report = {"read": ok, "crs": project.crs().authid(), "layers": layers,
          "relative": not project.readBoolEntry("Paths", "Absolute", True)[0]}
layouts = project.layoutManager().printLayouts()
report["layouts"] = [lay.name() for lay in layouts]
if layouts:
    layout = layouts[0]
    page = layout.pageCollection().page(0).pageSize()
    report["page_mm"] = [round(page.width(), 1), round(page.height(), 1)]
    items = layout.items()
    report["labels"] = [i.text() for i in items if isinstance(i, QgsLayoutItemLabel)]
    legends = [i for i in items if isinstance(i, QgsLayoutItemLegend)]
    report["legend"] = {"title": legends[0].title(), "layers": [n.name() for n in legends[0].model().rootGroup().findLayers()],
                        "filter_by_map": legends[0].legendFilterByMapEnabled()} if legends else None
    report["scalebars"] = [i.unitLabel() for i in items if isinstance(i, QgsLayoutItemScaleBar)]
    report["pictures"] = [i.picturePath() for i in items if isinstance(i, QgsLayoutItemPicture)]
    maps = [i for i in items if isinstance(i, QgsLayoutItemMap)]
    report["map_crs"] = maps[0].crs().authid() if maps else ""
    report["map_scale"] = round(maps[0].scale()) if maps else 0
    settings = QgsLayoutExporter.PdfExportSettings()
    settings.dpi = 150
    report["pdf"] = QgsLayoutExporter(layout).exportToPdf(pdf, settings)  # 0 = Success
print(json.dumps(report, ensure_ascii=False), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down layers at exit
