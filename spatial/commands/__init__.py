"""CLI commands, one module each; :data:`COMMANDS` is what ``spatial`` offers."""

from __future__ import annotations

from .build import build
from .extract import extract
from .overlap import overlap

COMMANDS: list = [build, overlap, extract]
