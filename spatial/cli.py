"""The ``spatial`` command line: one click group; each command lives in ``spatial/commands/``.

Commands are imported when they run, so that ``spatial --help`` and ``spatial overlap`` load
neither the map renderer nor anything else they do not use.
"""

from __future__ import annotations

import importlib
import sys

import click

from .errors import InputError
from .memory import limit_arenas

#: Command name -> (module in spatial.commands, one-line help shown by ``spatial --help``).
COMMANDS = {
    "build": ("build", "Build layers, tables and maps for the districts in the data folder."),
    "overlap": ("overlap", "Measure how much of each element lies in red lines, and where projects lie."),
    "extract": ("extract", "Draft a plan spec (YAML) from a plan's text: slogans, parts, members."),
    "figure": ("figure", "Draw a structure as a print-quality planning diagram (PNG, PDF, SVG)."),
    "init": ("init", "Write a starter data folder (plan spec, gazetteer, projects) for a new district."),
    "zonal": ("zonal", "Class areas or statistics of a raster in each element, and its value at projects."),
    "slope": ("slope", "Slope in degrees from a DEM in any CRS."),
    "rasterize": ("rasterize", "The layout and red lines on exactly a template raster's grid."),
}


class _Group(click.Group):
    """Click group with lazily imported commands that turns :class:`InputError` (and OS errors
    and click's usage errors) into one ``error:`` line per problem and exit code 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f".commands.{COMMANDS[name][0]}", __package__)
        return getattr(module, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(2)
        except OSError as exc:  # a file the command could not read or write (no space, no permission, no folder)
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}; fix: check the path, its permissions and free space, "
                       "or choose another", err=True)
            sys.exit(2)
        except click.UsageError as exc:  # a bad option value: one line too, with the command's help as fix
            name = f"spatial {exc.ctx.info_name}" if exc.ctx is not None and exc.ctx.parent is not None else "spatial"
            click.echo(f"error: {exc.format_message().rstrip('.')}; fix: see {name} --help", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="spatial-layout")
def main() -> None:
    """Spatial layouts of Chinese district plans as GIS layers, overlap tables and maps."""
    limit_arenas()  # before any thread starts: see spatial.memory
