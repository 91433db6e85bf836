"""``spatial init``: starter inputs for a new district."""

from __future__ import annotations

from pathlib import Path

import click

from ..starter import write_starter


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--adcode", required=True, help="The district's six-digit administrative code, e.g. 360102.")
@click.option("--province", required=True, help="Province, full name, e.g. 江西省.")
@click.option("--city", required=True, help="City, full name, e.g. 南昌市.")
@click.option("--district", required=True, help="District, full name, e.g. 东湖区.")
def init(folder: Path, adcode: str, province: str, city: str, district: str) -> None:
    """Write a starter data folder into FOLDER: one plan spec, a gazetteer and a project table,
    commented, at the district's representative point; then `spatial build --data FOLDER`."""
    if not (len(adcode) == 6 and adcode.isdigit()):
        raise click.BadParameter(f"{adcode!r} is not six digits", param_hint="--adcode")
    for path in write_starter(folder, adcode=adcode, province=province, city=city, district=district):
        click.echo(path)
