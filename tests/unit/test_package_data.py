"""Every file a package reads at run time ships in the wheel: each non-Python file under a
package is matched by a `package-data` pattern of pyproject.toml (a template left out ran in
the checkout and failed only once installed)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_data_file_is_matched_by_a_package_data_pattern() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    left_out = []
    for package, globs in patterns.items():
        shipped = {path for g in globs for path in (ROOT / package).glob(g)}
        left_out += [
            str(path.relative_to(ROOT))
            for path in sorted((ROOT / package).rglob("*"))
            if path.is_file()
            and path.suffix not in {".py", ".pyc"}
            and "__pycache__" not in path.parts
            and path not in shipped
        ]
    assert not left_out, f"not in [tool.setuptools.package-data]: {left_out}"
