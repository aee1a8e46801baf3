"""constraints.txt pins what the Docker image installs (`pip install -c constraints.txt`) and
what `make setup` installs: every runtime dependency, direct or not, the `otel` extra's too,
is pinned there, within pyproject.toml's ranges, at the version the tests run on."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
FIX = "run `make setup && make constraints` and commit constraints.txt"


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, equals, pinned = line.partition("==")
            assert equals, f"constraints.txt: {line!r} is not NAME==VERSION"
            found[canonicalize_name(name)] = pinned.strip()
    return found


def runtime_requirements() -> list[Requirement]:
    """pyproject.toml's dependencies and its `otel` extra (the image's optional part)."""
    listed = [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["otel"]]
    return [Requirement(text) for text in listed]


def closure(roots: list[Requirement]) -> dict[str, set[str]]:
    """Every distribution the roots need on this platform, with the extras asked of it,
    from the installed packages' metadata."""
    needed: dict[str, set[str]] = {}
    queue = [(requirement, "") for requirement in roots]
    while queue:
        requirement, extra = queue.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        asked = needed.setdefault(name, set())
        fresh = ({""} | set(requirement.extras)) - asked
        if not fresh:
            continue
        asked |= fresh
        for text in requires(name) or []:
            queue.extend((Requirement(text), wanted) for wanted in fresh)
    return needed


def test_every_direct_dependency_is_pinned_within_its_range() -> None:
    pinned = pins()
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in constraints.txt: {FIX}"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"constraints.txt pins {name}=={pinned[name]}, outside pyproject's "
            f"{requirement.specifier}: {FIX}"
        )


def test_every_dependency_of_a_dependency_is_pinned_at_the_version_tested() -> None:
    pinned = pins()
    for name in sorted(closure(runtime_requirements())):
        try:
            installed = version(name)
        except PackageNotFoundError:
            raise AssertionError(f"{name} is needed but not installed: {FIX}") from None
        assert name in pinned, f"{name} (needed at run time) is not in constraints.txt: {FIX}"
        assert pinned[name] == installed, (
            f"constraints.txt pins {name}=={pinned[name]} but the tests run {installed}: {FIX}"
        )
