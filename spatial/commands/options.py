"""Option checks shared by the commands: they raise InputError, so the CLI prints one ``error:`` line."""

from __future__ import annotations

import math

import click

from ..errors import InputError


def finite_metres(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A click callback: a distance option must be a finite number of 0 or more metres (not nan/inf)."""
    if value is not None and (not math.isfinite(value) or value < 0):
        raise InputError.one(f"--{param.name.replace('_', '-')}", "", f"{value} is not a distance in metres",
                             f"give --{param.name.replace('_', '-')} a finite number of 0 or more")
    return value
