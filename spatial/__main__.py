"""``python -m spatial``: the same as the ``spatial`` command."""

from .cli import main

main()
