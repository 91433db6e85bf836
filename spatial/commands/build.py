"""``spatial build``: the main job, layers and maps for every district with a spec."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console

from ..io.layers import write_district
from ..pipeline import DataDir, build_district, load_district


@click.command()
@click.argument("adcodes", nargs=-1)
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data"),
              show_default=True, help="Input folder: plans/, gazetteer/, features/, projects/, boundaries/.")
@click.option("--seeds", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the plans' texts, to check citations [default: $SPATIAL_SEEDS or ../shared/seeds].")
@click.option("--layers", "layers_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("layers"),
              show_default=True, help="Output folder for the GIS layers.")
@click.option("--maps", "maps_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("maps"),
              show_default=True, help="Output folder for the HTML maps.")
def build(adcodes: tuple[str, ...], data_dir: Path, seeds: Path | None, layers_dir: Path, maps_dir: Path) -> None:
    """Build layers/ and maps/ for ADCODES (default: every plan in data/plans/)."""
    console = Console(stderr=True)
    data = DataDir.default(data_dir, seeds)
    if data.seeds is None:
        console.print("[yellow]note:[/] seed texts not found; citations are not checked (give --seeds)")
    codes = list(adcodes) or data.adcodes()
    loaded = {code: load_district(data, code) for code in codes}
    for code, inp in loaded.items():
        t0 = time.perf_counter()
        layers = build_district(inp)
        write_district(layers, layers_dir)
        console.print(f"{code} {layers.district}: {len(layers.elements)} elements, "
                      f"{len(layers.structures)} structures ({time.perf_counter() - t0:.1f} s)")
