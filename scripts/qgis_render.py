"""Render a district's QGIS project as QGIS prints it: its A3 layout exported to PNG, headless.

    /usr/bin/python3 scripts/qgis_render.py layers/360104/360104.qgz docs/qgis.png [--dpi 96]

Run with the system Python that has QGIS (Debian ``python3-qgis``); the project is opened
exactly as a technician opens it (``QgsProject.read``), then its first print layout is
exported as an image.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication, QgsLayoutExporter, QgsProject  # noqa: E402


def render(qgz: Path, png: Path, dpi: int) -> None:
    """Export the first print layout of ``qgz`` to ``png`` at ``dpi``; exit 1 with a message on failure."""
    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    if not project.read(str(qgz)):
        sys.exit(f"error: QGIS could not read {qgz}: {project.error()}")
    layouts = project.layoutManager().printLayouts()
    if not layouts:
        sys.exit(f"error: {qgz} has no print layout")
    settings = QgsLayoutExporter.ImageExportSettings()
    settings.dpi = dpi
    png.parent.mkdir(parents=True, exist_ok=True)
    result = QgsLayoutExporter(layouts[0]).exportToImage(str(png), settings)
    if result != QgsLayoutExporter.Success:
        sys.exit(f"error: exporting {qgz} failed (QgsLayoutExporter result {result})")
    print(png, flush=True)
    os._exit(0)  # QGIS 3.22 may crash while tearing down layers at exit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qgz", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--dpi", type=int, default=96)
    args = parser.parse_args()
    render(args.qgz, args.png, args.dpi)


if __name__ == "__main__":
    main()
