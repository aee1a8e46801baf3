"""`followup summary` as a process, on the demo's last week (2017-W30, Thames and Chiltern)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from services.entrypoints.demo.plan import demo_plan
from services.simulation import weeks_of
from tests.e2e.conftest import Followup
from tests.summary_checks import missing_from_html

pytestmark = pytest.mark.e2e

AREA = "thames-and-chiltern"
ARGS = ("summary", "--area", AREA, "--week", "2017-W30", "--as-of", "2017-08-04")


def test_summary_formats_agree_with_each_other_and_with_obligations(
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
    demo = followup.run("demo", "--weeks", "2", "--summary", str(tmp_path / "demo.html")).stdout
    assert f"Weekly summary for the DCCP: {tmp_path / 'demo.html'}" in demo

    data = followup.json(*ARGS, "--format", "json")
    assert (data["scope"], data["week_starts"], data["week_ends"]) == (
        {"kind": "area", "id": AREA},
        "2017-07-24",
        "2017-07-30",
    )
    # The same week counted independently from `followup obligations` (contract section 5).
    rows = followup.json("obligations", "--json", "--as-of", "2017-08-04")
    in_week = [
        r
        for r in rows
        if r["area"] == AREA
        and date(2017, 7, 24) <= date.fromisoformat(r["due"]) <= date(2017, 7, 30)
        and r["state"] != "cancelled"
    ]
    expected = Counter((r["rule"], r["state"]) for r in in_week)
    # The demo's reallocations at the week's call, decided in 2017-W30 though recorded now.
    [changes] = [s for s in data["sections"] if s["kind"] == "changes"]
    moves = [
        e["data"]
        for week in weeks_of(demo_plan(weeks=2))
        for e in week
        if e["type"] == "case-reallocated"
        and "2017-07-24" <= e["data"]["reallocated_date"] <= "2017-07-30"
    ]
    assert [(r["urn"], r["to_owner"], r["reason"], r["by"]) for r in changes["reallocations"]] == [
        (m["urn"], m["new_owner"], m["reason"], m["reallocated_by"]) for m in moves
    ]
    # A reallocation moves what the case has open then (none, if its work is done).
    assert all(r["from_owner"] not in (None, r["to_owner"]) for r in changes["reallocations"])
    [timeliness] = [s for s in data["sections"] if s["kind"] == "timeliness"]
    for row in timeliness["rules"]:
        week = row["week"]
        assert (week["met"], week["late"], week["lapsed"], week["open"]) == tuple(
            expected[(row["rule"], state)] for state in ("met", "met-late", "lapsed", "open")
        )
    assert timeliness["all"]["week"]["due"] == len(in_week) > 0
    # The backlog lists every lapse still open on the as-of date, whatever week it fell in.
    [backlog] = [s for s in data["sections"] if s["kind"] == "backlog"]
    lapsed = [r["id"] for r in rows if r["area"] == AREA and r["state"] == "lapsed"]
    assert backlog["total"] == len(lapsed) == len(backlog["items"])
    assert sorted(i["obligation_id"] for i in backlog["items"]) == sorted(lapsed)
    assert {r["id"] for r in in_week if r["state"] == "lapsed"} <= set(lapsed)

    chart = tmp_path / "chart.png"
    page = tmp_path / "summary.html"
    followup.run(*ARGS, "--format", "html", "--output", str(page), "--chart", str(chart))
    html = page.read_text()
    assert missing_from_html(data, html) == []
    assert (tmp_path / "demo.html").read_text().count("<table>") == html.count("<table>")
    assert "data:image/png;base64," in html
    assert chart.read_bytes().startswith(b"\x89PNG")

    text = followup.run(*ARGS, "--format", "md").stdout
    assert text.startswith(f"# Weekly summary 2017-W30: Area {AREA}")
    all_week = timeliness["all"]["week"]
    assert (
        f"| all | {all_week['due']} | {all_week['met']} | {all_week['late']} | "
        f"{all_week['lapsed']} | {all_week['open']} | {all_week['on_time_pct']:.1f}% |"
    ) in text

    # Without --as-of a past week is judged as of its Sunday, not today.
    week_end = followup.json(*ARGS[:5], "--format", "json")
    assert (week_end["as_of"], week_end["as_of_from"]) == ("2017-07-30", "week-end")
    [ages] = [s for s in week_end["sections"] if s["kind"] == "backlog"]
    # Lapses of the weeks and of their history (13 weeks before them): none from the future.
    assert ages["items"] and all(0 < i["age_days"] <= 7 * 15 for i in ages["items"])
    assert "judged as of 2017-07-30 (the week's end)" in followup.run(*ARGS[:5]).stdout

    team = followup.json(*ARGS, "--manager", "TC-MAG-LM1", "--format", "json")
    assert team["scope"] == {"kind": "team", "id": "TC-MAG-LM1"}
    [team_timeliness] = [s for s in team["sections"] if s["kind"] == "timeliness"]
    assert 0 < team_timeliness["all"]["week"]["due"] < timeliness["all"]["week"]["due"]


def test_bad_weeks_and_formats_are_refused_with_a_reason(tmp_path: Path) -> None:
    followup = Followup({"FOLLOWUP_DATA_DIR": str(tmp_path / "var")}, tmp_path)

    def refused(*args: str) -> str:
        done = followup.run("summary", "--area", AREA, *args, check=False)
        assert done.returncode == 2, done.stderr
        return " ".join(re.sub("[│╭╮╰╯─]", " ", done.stderr).split())  # rich's error box

    assert "a week is written YYYY-Www (e.g. 2017-W30), not '2017-30'" in refused(
        "--week", "2017-30"
    )
    assert "2021 has no ISO week 53" in refused("--week", "2021-W53")
    future = refused("--week", "2017-W40", "--as-of", "2017-08-04")
    assert "week 2017-W40 begins on 2017-10-02, after the as-of date 2017-08-04" in future
    assert "--format must be md, html or json, not 'pdf'" in refused(
        "--week", "2017-W30", "--format", "pdf"
    )
