"""`followup generate` as a process: its output is what `followup publish` takes, every line
published and none rejected, the same bytes on standard output and in a file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import FOLLOWUP, Followup

pytestmark = pytest.mark.e2e


def test_generate_piped_into_publish_is_all_published(
    tmp_path: Path, redis_server: str, namespace: str
) -> None:
    followup = Followup(
        {
            "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
            "FOLLOWUP_REDIS_URL": redis_server,
            "FOLLOWUP_NAMESPACE": namespace,
        },
        tmp_path,
    )
    options = ["--area", "Wessex", "--weeks", "1", "--seed", "5", "--scale", "0.3"]
    made = followup.run("generate", *options, "--out", str(tmp_path / "week.jsonl"))
    written = (tmp_path / "week.jsonl").read_text("utf-8")
    lines = written.splitlines()
    assert f"{len(lines):,} events to {tmp_path / 'week.jsonl'}" in made.stderr
    assert "case-registered" in made.stderr and "staff-updated" in made.stderr

    generate = subprocess.Popen(
        [FOLLOWUP, "generate", *options],
        env=followup.env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert generate.stdout is not None
    published = subprocess.run(
        [FOLLOWUP, "publish", "-"],
        stdin=generate.stdout,
        env=followup.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert generate.wait(timeout=60) == 0
    assert published.returncode == 0, published.stderr
    assert f"published {len(lines)} events" in published.stderr
    assert "rejected 0 lines" in published.stderr
    again = followup.run("generate", *options).stdout
    assert again == written


def test_an_unknown_area_lists_the_known_ones(tmp_path: Path) -> None:
    done = subprocess.run(
        [FOLLOWUP, "generate", "--area", "Atlantis"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 3
    assert "no Area 'Atlantis'; known: cymru-wales" in done.stderr
    assert "cps-direct" in done.stderr and not done.stdout
