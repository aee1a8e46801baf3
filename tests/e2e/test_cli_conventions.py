"""The command line's conventions, as processes: one line and a documented exit code for each
kind of failure (a traceback only with --debug), `--version`, and `followup doctor`."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.e2e.conftest import Followup, free_port

pytestmark = pytest.mark.e2e

UNREACHABLE_POSTGRES = "postgresql://127.0.0.1:1/nothing"


def followup_in(tmp_path: Path, **env: str) -> Followup:
    # A namespace of its own: tests running side by side share the Redis at REDIS_URL.
    namespace = f"test-{uuid.uuid4().hex[:10]}"
    return Followup(
        {"FOLLOWUP_DATA_DIR": str(tmp_path / "var"), "FOLLOWUP_NAMESPACE": namespace, **env},
        tmp_path,
    )


def test_version() -> None:
    done = Followup({}, Path.cwd()).run("--version")
    assert done.stdout.startswith("followup 0.")


def test_a_bad_setting_is_one_line_naming_it_and_exit_2(tmp_path: Path) -> None:
    done = followup_in(tmp_path, FOLLOWUP_HTTP_PORT="eighty").run("status", check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "FOLLOWUP_HTTP_PORT" in lines[0] and "'eighty'" in lines[0]


def test_an_unreachable_database_is_one_line_naming_it_and_exit_4(tmp_path: Path) -> None:
    followup = followup_in(tmp_path, FOLLOWUP_DATABASE_URL=UNREACHABLE_POSTGRES,
                           FOLLOWUP_REDIS_URL=REDIS_URL)  # fmt: skip
    done = followup.run("obligations", check=False)
    assert done.returncode == 4
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "127.0.0.1:1" in line and "FOLLOWUP_DATABASE_URL" in line

    debug = followup.run("--debug", "obligations", check=False)
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr


def test_an_unreachable_redis_is_one_line_naming_it_and_exit_4(tmp_path: Path) -> None:
    port = free_port()
    followup = followup_in(tmp_path, FOLLOWUP_REDIS_URL=f"redis://127.0.0.1:{port}/0",
                           FOLLOWUP_DATABASE_URL=f"sqlite:///{tmp_path}/given.db")  # fmt: skip
    done = followup.run("status", check=False)
    assert done.returncode == 4, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert f"127.0.0.1:{port}" in line and "FOLLOWUP_REDIS_URL" in line


def test_doctor_reports_each_part_and_fails_on_an_unreachable_database(tmp_path: Path) -> None:
    healthy = followup_in(tmp_path, FOLLOWUP_REDIS_URL=REDIS_URL)
    healthy.run("rules", "list")  # nothing opens the database yet: doctor says so
    fresh = healthy.run("doctor", check=False)
    assert fresh.returncode == 1
    assert "FAIL database: no database at" in " ".join(fresh.stdout.split())

    healthy.run("demo", "--weeks", "1")  # creates the SQLite file and runs the lapse clock
    found = healthy.run("doctor")
    parts = {line.split()[1].rstrip(":"): line.split()[0] for line in found.stdout.splitlines()}
    assert parts == {
        "settings": "OK",
        "database": "OK",
        "migrations": "OK",
        "clock": "OK",
        "redis": "OK",
        "rule": "OK",
        "mail": "OK",
    }, found.stdout

    broken = followup_in(tmp_path, FOLLOWUP_REDIS_URL=REDIS_URL,
                         FOLLOWUP_DATABASE_URL=UNREACHABLE_POSTGRES)  # fmt: skip
    failed = broken.run("doctor", check=False)
    assert failed.returncode == 1
    assert "FAIL database: postgresql://127.0.0.1:1/nothing: cannot connect" in " ".join(
        failed.stdout.split()
    )


def test_read_only_commands_say_where_they_looked_instead_of_creating_a_data_folder(
    tmp_path: Path,
) -> None:
    followup = Followup({"FOLLOWUP_REDIS_URL": REDIS_URL}, tmp_path)  # default ./var
    for command in (["status"], ["obligations"], ["alerts"], ["audit", "verify"],
                    ["summary", "--area", "x", "--week", "2017-W30"]):  # fmt: skip
        done = followup.run(*command, check=False)
        assert done.returncode == 3, (command, done.stderr)
        assert f"looked for {tmp_path / 'var' / 'followup.db'}" in " ".join(done.stderr.split())
    assert not (tmp_path / "var").exists()


def test_an_unknown_area_lists_the_known_ones(tmp_path: Path) -> None:
    followup = followup_in(tmp_path, FOLLOWUP_REDIS_URL=REDIS_URL)
    followup.run("demo", "--weeks", "1")
    done = followup.run("summary", "--area", "thames", "--week", "2017-W30",
                        "--as-of", "2017-08-04", check=False)  # fmt: skip
    assert done.returncode == 3
    assert "no Area 'thames'; known: thames-and-chiltern" in done.stderr


def test_listings_take_format_and_output_and_never_cut_ids(tmp_path: Path) -> None:
    followup = followup_in(tmp_path, FOLLOWUP_REDIS_URL=REDIS_URL)
    followup.run("demo", "--weeks", "1")
    as_json = followup.json("obligations", "--json", "--as-of", "2017-08-04")
    assert followup.json("obligations", "--format", "json", "--as-of", "2017-08-04") == as_json
    longest = max((row["id"] for row in as_json), key=len)
    table = followup.run("obligations", "--as-of", "2017-08-04").stdout  # a pipe, not a terminal
    assert longest in table.split()

    target = tmp_path / "obligations.csv"
    followup.run("obligations", "--format", "csv", "-o", str(target), "--as-of", "2017-08-04")
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [row["id"] for row in rows] == [row["id"] for row in as_json]

    for command in (["alerts"], ["dead-letters", "list"], ["audit", "statuses"], ["rules", "list"],
                    ["status"]):  # fmt: skip
        rows = followup.json(*command, "--format", "json")
        found = list(csv.DictReader(io.StringIO(followup.run(*command, "--format", "csv").stdout)))
        assert len(found) == (len(rows) if isinstance(rows, list) else 1), command
        refused = followup.run(*command, "--format", "xml", check=False)
        assert refused.returncode == 2 and "expected one of table, json, csv" in " ".join(
            refused.stderr.split()
        ), command
