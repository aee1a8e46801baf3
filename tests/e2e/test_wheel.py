"""The built wheel is the product: installed outside the checkout, it runs the demo and the
inspection report from an empty folder with nothing but its own package data."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT),
         cwd=out)  # fmt: skip
    (built,) = out.glob("followup-*.whl")
    return built


def test_every_package_data_pattern_ships_a_file(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    for package, globs in patterns.items():
        for pattern in globs:
            assert any(fnmatch(name, f"{package}/{pattern}") for name in names), pattern
    assert any(name.endswith("licenses/LICENSE") for name in names)
    assert sum(name.startswith("services/audit/seeds/") for name in names) == 7


def test_the_installed_wheel_runs_the_demo_and_the_report_from_an_empty_folder(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=tmp_path)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # The dependencies come from the test's own environment as a plain path: its .pth files
    # (the checkout's editable install among them) are not read, so `services` can only come
    # from the wheel.
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    python = str(venv / "bin" / "python")
    _run(python, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", str(wheel),
         cwd=tmp_path)  # fmt: skip
    where = _run(python, "-c", "import services; print(services.__file__)", cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(venv), where

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    followup = str(venv / "bin" / "followup")
    demo = _run(followup, "demo", "--weeks", "1", cwd=empty, env=env)
    assert "Inspection recommendations by status" in demo
    report = _run(followup, "audit", "report", "--inspection", "HMCPSI-AAP-TC-2017",
                  "--as-of", "2017-08-04", "--format", "md", cwd=empty, env=env)  # fmt: skip
    assert "TC-2017-07" in report
    assert (empty / "var").is_dir()
