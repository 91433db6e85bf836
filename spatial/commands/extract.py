"""``spatial extract``: draft a plan spec (YAML) from a plan's text."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ..extract import run_extract
from ..gazetteer import name_index, places_from_table
from ..io import files
from ..io.tables import read_table


@click.command("extract")
@click.argument("plan", type=click.Path(path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the draft spec YAML here (default: print it).")
@click.option("--adcode", help="District code: its gazetteer names (data/gazetteer/<adcode>.csv) are recognised as members.")
@click.option("--data", "data_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("data"),
              show_default=True, help="The data folder holding gazetteer/.")
def extract(plan: Path, out_path: Path | None, adcode: str | None, data_dir: Path) -> None:
    """Find the spatial structures of a plan text (UTF-8 or GBK) and write a draft plan spec.

    Slogans (一核两带三区) and named structures (沿江文旅产业带, 专栏 boxes) are listed with
    their offsets, confidence and TODOs to finish by hand; a summary goes to stderr.
    """
    if not plan.is_file():
        raise InputError.one(plan, "", "no such file", "give the path of the plan's text file")
    known: list[str] = []
    if adcode is not None:
        gaz = data_dir / "gazetteer" / f"{adcode}.csv"
        if not gaz.is_file():
            raise InputError.one(gaz, "", f"no gazetteer for adcode {adcode}",
                                 "check --adcode and --data, or leave --adcode out")
        known = list(name_index(places_from_table(read_table(gaz), file=str(gaz))))
    data = plan.read_bytes()
    if not data.strip():
        raise InputError.one(plan, "", "the file is empty", "give the plan's text (UTF-8 or GBK)")
    draft, yaml_text = run_extract(data, str(plan), known, adcode=adcode or "TODO")
    if out_path is None:
        click.echo(yaml_text, nl=False)
    else:
        files.write_text(out_path, yaml_text)
    slogans = [s for s in draft.structures if s.form == "slogan"]
    parts = sum(len(n.name) > 0 for s in slogans for p in s.parts for n in p.names)
    click.echo(f"{plan.name}: {len(slogans)} slogans, {len(draft.structures) - len(slogans)} named structures, "
               f"{parts} parts named, {len(draft.unresolved)} unresolved"
               + (f"; draft written to {out_path}" if out_path else ""), err=True)
