"""The ``spatial`` command line: one click group; each command lives in ``spatial/commands/``."""

from __future__ import annotations

import sys

import click

from .errors import InputError


class _Group(click.Group):
    """Click group that turns :class:`InputError` into one line per problem and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="spatial-layout")
def main() -> None:
    """Spatial layouts of Chinese district plans as GIS layers, overlap tables and maps."""


def _register() -> None:
    from .commands import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register()
