"""The seed inspections: events transcribed from published HMCPSI reports and CPS responses
(the README beside this file says what each holds and what was assumed), shipped as package
data so an installed `followup` has them wherever it runs."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


class SeedsMissing(RuntimeError):
    """The package was installed without its data: an empty demo would hide that."""


def seed_files() -> list[Traversable]:
    """Every seed file, by name."""
    found = sorted(
        (path for path in files(__name__).iterdir() if path.name.endswith(".jsonl")),
        key=lambda path: path.name,
    )
    if not found:
        raise SeedsMissing(
            f"no seed inspections (*.jsonl) in the package {__name__}: reinstall followup"
        )
    return found


def seed_lines() -> list[str]:
    """Every event line of every seed file, in file order."""
    return [
        line
        for path in seed_files()
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]
