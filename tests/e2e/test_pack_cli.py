"""`followup demo` and `followup summary --month/--quarter` as processes, on the demo week:
the demo says where its weekly summary and packs are, and the monthly pack's victim letters
agree with `followup obligations` counted independently."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from tests.e2e.conftest import Followup

pytestmark = pytest.mark.e2e

AREA = "thames-and-chiltern"


def test_demo_packs_and_the_monthly_pack_agree_with_obligations(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    followup = Followup(
        {
            "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
            "FOLLOWUP_DATABASE_URL": database_url,
            "FOLLOWUP_REDIS_URL": redis_server,
            "FOLLOWUP_NAMESPACE": namespace,
        },
        tmp_path,
    )
    demo = followup.run("demo", "--weeks", "2").stdout  # the last two: 2017-W29 and W30
    printed = dict(
        re.findall(
            r"^(Weekly summary|Monthly performance review pack|"
            r"Quarterly Area Performance Review pack): (\S+)$",
            demo,
            re.M,
        )
    )
    assert [Path(p).name for p in printed.values()] == [
        "weekly-2017-W30.html",
        "monthly-2017-07.html",
        "quarterly-2017-Q3.html",
    ]
    for path in printed.values():
        page = Path(path).read_text()
        assert "data:image/png;base64," in page and "<table>" in page

    args = ("summary", "--area", AREA, "--month", "2017-07")
    data = followup.json(*args, "--format", "json")
    assert (data["kind"], data["period"], data["as_of"]) == ("monthly", "2017-07", "2017-07-31")
    rows = followup.json("obligations", "--json", "--as-of", "2017-07-31")
    july = [
        r
        for r in rows
        if r["area"] == AREA
        and r["rule"] == "victim-letter"
        and date(2017, 7, 1) <= date.fromisoformat(r["due"]) <= date(2017, 7, 31)
        and r["state"] != "cancelled"
    ]
    expected = Counter(r["state"] for r in july)
    [letters] = [s for s in data["sections"] if s["kind"] == "victim-letters"]
    total = letters["total"]["current"]
    assert total["due"] == len(july) > 0
    assert (total["met"], total["late"], total["lapsed"], total["open"]) == tuple(
        expected[s] for s in ("met", "met-late", "lapsed", "open")
    )

    table = list(csv.DictReader(io.StringIO(followup.run(*args, "--format", "csv").stdout)))
    [line] = [
        r
        for r in table
        if (r["section"], r["table"], r["group"], r["period"])
        == ("victim-letters", "team", "all", "2017-07")
    ]
    assert int(line["due"]) == total["due"] and int(line["met"]) == total["met"]
    text = followup.run(*args, "--format", "md").stdout
    assert text.startswith(f"# Monthly performance review 2017-07: Area {AREA}")
    chart = tmp_path / "q.png"
    page = followup.run(
        "summary",
        "--area",
        AREA,
        "--quarter",
        "2017-Q3",
        "--format",
        "html",
        "--as-of",
        "2017-08-04",
        "--chart",
        str(chart),
    ).stdout
    assert "Area Performance Review 2017-Q3" in page and chart.read_bytes().startswith(b"\x89PNG")

    for bad, words in (
        (("--month", "2017-13"), "01 to 12"),
        (("--quarter", "2017-08"), "use --month"),
        (("--week", "2017-W30", "--month", "2017-07"), "not --week and --month"),
        (("--month", "2017-07", "--unit", "crown"), "an Area's"),
        (("--month", "2017-07", "--format", "pdf"), "md, html, json, csv"),
        (("--month", "2017-09", "--as-of", "2017-08-04"), "after the as-of date"),
        ((), "give one of --week"),
    ):
        failed = followup.run("summary", "--area", AREA, *bad, check=False)
        assert failed.returncode == 2, bad
        said = re.sub(r"[\s\u2500-\u257f]+", " ", failed.stderr)  # box drawing and wraps
        assert words in said, (bad, failed.stderr)
