"""Wheel build hook: the embedded default and the map assets become package data.

Configuration lives in pyproject.toml; this file only extends ``build_py`` so that a wheel
carries ``spatial/_default`` (the five plans' inputs from ``data/``) and ``spatial/_vendor``
(Leaflet and its plugins from the pinned npm packages in ``node_modules``, checked against
``spatial/assets.sha256``). Editable installs read both from the checkout instead.
"""

import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: The folders of data/ that make up the embedded default.
DEFAULT_INPUTS = ("plans", "gazetteer", "features", "boundaries", "projects")


class BuildPy(build_py):
    """``build_py`` plus the embedded default and the vendored map assets."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        package = Path(self.build_lib) / "spatial"
        for name in DEFAULT_INPUTS:
            shutil.copytree(ROOT / "data" / name, package / "_default" / name, dirs_exist_ok=True)
        sys.path.insert(0, str(ROOT))
        from spatial.assets import vendor  # stdlib only: no dependency is needed at build time

        vendor(ROOT / "node_modules", package / "_vendor")


setup(cmdclass={"build_py": BuildPy})
