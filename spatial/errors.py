"""The one error type users see: what is wrong, where, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    """One problem in one input: file, location (element, row, field), what, fix."""

    file: str
    where: str
    what: str
    fix: str

    def __str__(self) -> str:
        loc = f"{self.file}: {self.where}" if self.where else self.file
        return f"{loc}: {self.what}; fix: {self.fix}"


@dataclass
class InputError(Exception):
    """Bad input. ``str()`` gives one line per problem; the CLI exits 2 on it."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @classmethod
    def one(cls, file: str, where: str, what: str, fix: str) -> "InputError":
        """An error with a single problem."""
        return cls([Problem(str(file), where, what, fix)])

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def option(prefix: str, name: str) -> str:
    """The command-line option ``name`` of an input file's option family: ``--redlines`` + ``crs`` is
    ``--redlines-crs``; no prefix gives ``--crs``. Fixes name the option the command really has."""
    return f"{prefix}-{name}" if prefix else f"--{name}"


class ProblemList:
    """Collects problems so that validation reports all of them at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: str, where: str, what: str, fix: str) -> None:
        self.items.append(Problem(str(file), where, what, fix))

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError(list(self.items))
