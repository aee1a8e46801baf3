"""Weekly summaries, pure parts: ISO weeks, reconciliation, rates, assembly, schedule
arithmetic and the renderers (HTML shows what the JSON says)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from markdown_it import MarkdownIt

from services.audit.recommendation_status import STATUSES, RecommendationStatus
from services.rules.calendar import LONDON
from services.summaries.chart import on_time_chart
from services.summaries.model import (
    ZERO,
    Breakdown,
    Counts,
    Custody,
    CustodyLimit,
    Group,
    Lapse,
    Lapses,
    Owner,
    PersonLoad,
    RecommendationItem,
    Recommendations,
    RuleCounts,
    Scope,
    StatusCount,
    Summary,
    Unreconciled,
    Workload,
    rule_timeliness,
    timeliness,
    total,
)
from services.summaries.recommendations import STATUS_ORDER, recommendations_section, shorten
from services.summaries.render_html import summary_html
from services.summaries.render_json import summary_json
from services.summaries.render_md import summary_markdown
from services.summaries.schedule import due_weeks
from services.summaries.sections import escalation_of
from services.summaries.weeks import IsoWeek
from tests.summary_checks import html_cell_numbers, missing_from_html


def test_iso_weeks_parse_and_span_monday_to_sunday() -> None:
    week = IsoWeek.parse("2017-W30")
    assert (week.monday, week.sunday) == (date(2017, 7, 24), date(2017, 7, 30))
    assert str(week) == "2017-W30" and IsoWeek.of(date(2017, 7, 30)) == week


@pytest.mark.parametrize("text", ["2017-30", "2017W30", "17-W30", "2017-W5", "2017-W00"])
def test_malformed_weeks_are_refused_with_the_form_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"YYYY-Www|no ISO week"):
        IsoWeek.parse(text)


def test_week_53_exists_only_in_long_years() -> None:
    w53 = IsoWeek.parse("2020-W53")
    assert (w53.monday, w53.sunday) == (date(2020, 12, 28), date(2021, 1, 3))
    with pytest.raises(ValueError, match="2021 has no ISO week 53"):
        IsoWeek.parse("2021-W53")


def test_weeks_step_across_year_boundaries() -> None:
    assert IsoWeek(2021, 1).previous() == IsoWeek(2020, 53)
    assert IsoWeek(2020, 53).shifted(1) == IsoWeek(2021, 1)
    assert IsoWeek(2019, 1).previous() == IsoWeek(2018, 52)
    window = IsoWeek(2021, 2).window(4)
    assert [str(w) for w in window] == ["2020-W52", "2020-W53", "2021-W01", "2021-W02"]
    assert len(IsoWeek(2021, 10).window(13)) == 13


def test_the_publication_moment_is_london_time_in_summer_and_winter() -> None:
    summer = IsoWeek(2017, 30).moment("friday", time(16, 0))
    winter = IsoWeek(2017, 50).moment("friday", time(16, 0))
    assert summer.utcoffset() == timedelta(hours=1) and summer.date() == date(2017, 7, 28)
    assert winter.utcoffset() == timedelta(0) and winter.hour == 16


def test_counts_reconcile_or_refuse() -> None:
    counts = Counts(10, 5, 2, 1, 2)
    assert counts.on_time_pct == 62.5  # 5 / (5 + 2 + 1)
    with pytest.raises(Unreconciled, match="due 10 != met 5"):
        Counts(10, 5, 2, 1, 1)


def test_rates_leave_out_what_is_not_yet_due() -> None:
    assert Counts.of(open=3).on_time_pct is None
    assert Counts.of(met=1, late=1, lapsed=1, open=7).on_time_pct == 33.3
    assert Counts.of(late=2).on_time_pct == 0.0
    assert Counts.of(met=2, open=1) + Counts.of(lapsed=2) == Counts(5, 2, 0, 2, 1)
    assert total([]) == ZERO


WEEKS = [str(w) for w in IsoWeek(2021, 2).window(13)]


def test_rule_figures_come_from_its_weekly_counts_across_a_year_boundary() -> None:
    weekly = {
        "2021-W02": Counts.of(met=3, late=1, open=1),
        "2021-W01": Counts.of(met=1, lapsed=1),
        "2020-W53": Counts.of(late=2),
        "2020-W52": Counts.of(met=4),
        "2020-W51": Counts.of(lapsed=5),  # in the 13 weeks, not in the last 4
        "2019-W30": Counts.of(met=100),  # outside the window: ignored
    }
    row = rule_timeliness("victim-letter", weekly=weekly, weeks=WEEKS)
    assert row.week == Counts(5, 3, 1, 0, 1) and row.week.on_time_pct == 75.0
    assert row.previous == Counts(2, 1, 0, 1, 0)
    assert row.last_4 == Counts.of(met=3 + 1 + 4, late=1 + 2, lapsed=1, open=1)
    assert row.last_13 == Counts.of(met=8, late=3, lapsed=1 + 5, open=1)
    assert [p.week for p in row.trend] == WEEKS
    assert [(p.due, p.on_time_pct) for p in row.trend[-5:]] == [
        (5, 0.0), (4, 100.0), (2, 0.0), (2, 50.0), (5, 75.0),
    ]  # fmt: skip
    assert row.trend[0].due == 0 and row.trend[0].on_time_pct is None


def test_the_all_rules_row_is_the_sum_of_the_rules() -> None:
    per_rule = {
        "victim-letter": {"2021-W02": Counts.of(met=1, lapsed=1)},
        "hearing-record-sheet": {
            "2021-W02": Counts.of(late=2, open=4),
            "2021-W01": Counts.of(met=3),
        },
    }
    section = timeliness(per_rule=per_rule, week=IsoWeek(2021, 2), weeks=WEEKS)
    assert [r.rule for r in section.rules] == ["hearing-record-sheet", "victim-letter"]
    assert section.all.week == Counts(8, 1, 2, 1, 4)
    assert section.all.previous == Counts(3, 3, 0, 0, 0)
    assert (section.week, section.previous) == ("2021-W02", "2021-W01")
    for row in [*section.rules, section.all]:
        for counts in (row.week, row.previous, row.last_4, row.last_13):
            assert counts.due == counts.met + counts.late + counts.lapsed + counts.open


def test_a_scope_names_its_kind_and_id() -> None:
    assert (Scope("tc").kind, Scope("tc").id) == ("area", "tc")
    assert (Scope("tc", unit="crown").kind, Scope("tc", unit="crown").id) == ("unit", "crown")
    assert (Scope("tc", manager="LM1").kind, Scope("tc", manager="LM1").id) == ("team", "LM1")


FRIDAY = datetime(2017, 7, 28, 16, 0, tzinfo=LONDON)


def test_a_week_is_due_from_its_moment_and_missed_weeks_are_caught_up() -> None:
    def weeks(now: datetime, catch_up: int) -> list[str]:
        return [
            str(d.week) for d in due_weeks(now=now, day="friday", at=time(16), catch_up=catch_up)
        ]

    assert weeks(FRIDAY - timedelta(seconds=1), 0) == []
    assert weeks(FRIDAY, 0) == ["2017-W30"]
    assert weeks(FRIDAY - timedelta(seconds=1), 2) == ["2017-W28", "2017-W29"]
    assert weeks(FRIDAY + timedelta(days=2), 1) == ["2017-W29", "2017-W30"]
    # Sunday night after the moment, then Monday of the next week (its moment not yet come).
    assert weeks(datetime(2017, 7, 31, 0, 30, tzinfo=LONDON), 1) == ["2017-W30"]
    [due] = due_weeks(now=FRIDAY, day="friday", at=time(16), catch_up=0)
    assert due.due_at == FRIDAY


def test_catch_up_across_the_new_year_and_week_53() -> None:
    now = datetime(2021, 1, 8, 17, 0, tzinfo=LONDON)  # Friday of 2021-W01
    found = due_weeks(now=now, day="friday", at=time(16), catch_up=2)
    assert [str(d.week) for d in found] == ["2020-W52", "2020-W53", "2021-W01"]
    assert found[1].due_at.date() == date(2021, 1, 1)


def example() -> Summary:
    week = IsoWeek(2017, 30)
    weeks = [str(w) for w in week.window(13)]
    per_rule = {
        "hearing-record-sheet": {
            "2017-W30": Counts.of(met=15, late=4, lapsed=3, open=1),
            "2017-W29": Counts.of(met=11, late=2),
        },
        "victim-letter": {"2017-W30": Counts.of(met=4, late=1), "2017-W27": Counts.of(lapsed=2)},
    }
    people = [PersonLoad("P1", "Hattie B", "LM1", 7, 2), PersonLoad("P2", None, "LM1", 3, 0)]
    return Summary(
        scope=Scope("thames-and-chiltern"),
        week=week,
        as_of=date(2017, 7, 28),
        sections=[
            timeliness(per_rule=per_rule, week=week, weeks=weeks),
            Breakdown(
                by="unit",
                week=str(week),
                groups=[
                    Group(
                        "crown",
                        "crown",
                        [RuleCounts("victim-letter", Counts.of(met=4, late=1))],
                        Counts.of(met=4, late=1),
                    ),
                ],
            ),
            Lapses(
                week=str(week),
                items=[
                    Lapse(
                        "hearing-record-sheet/U1/H1",
                        "hearing-record-sheet",
                        "U1",
                        "P1",
                        "Hattie B",
                        "LM1",
                        date(2017, 7, 25),
                        3,
                    ),
                ],
            ),
            Workload(
                date(2017, 7, 28),
                date(2017, 8, 10),
                people,
                [PersonLoad("LM1", "Oswin M", "LM1", 10, 2)],
            ),
            Custody(
                date(2017, 7, 28),
                date(2017, 8, 25),
                [
                    CustodyLimit(
                        "custody-time-limit/U2/D1", "U2", "D1", "P2", None, date(2017, 8, 14), 17
                    )
                ],
            ),
            Recommendations(
                counts=[
                    StatusCount(s, n) for s, n in zip(STATUS_ORDER, (1, 2, 0, 4, 5, 6), strict=True)
                ],
                total=18,
                attention=[
                    RecommendationItem(
                        "INS-1-R7",
                        "INS-1",
                        "7",
                        "Improve disclosure.",
                        [Owner("ABM1", "Lionel F"), Owner("DCCP1", None)],
                        "overdue",
                        ["milestone-missed"],
                        None,
                        date(2017, 6, 30),
                    ),
                    RecommendationItem(
                        "INS-1-R9",
                        "INS-1",
                        "9",
                        "Analyse VCL data monthly.",
                        [],
                        "at-risk",
                        ["evidence-missing"],
                        date(2017, 7, 31),
                        date(2017, 12, 31),
                    ),
                ],
            ),
        ],
    )


def test_every_number_in_the_json_is_in_the_html_table_cells() -> None:
    summary = example()
    html = summary_html(summary, chart=b"\x89PNG fake")
    data = summary_json(summary)
    assert missing_from_html(data, html) == []
    cells = html_cell_numbers(html)
    assert {"68.2", "23", "17", "3"} <= cells  # 15 / (15 + 4 + 3), due 23, CTL 17 days
    assert {"18", "6", "7", "9"} <= cells  # recommendations: all, verified, numbers
    assert "data:image/png;base64,iVBORyBmYWtl" in html


def test_the_check_catches_a_number_the_html_does_not_show() -> None:
    summary = example()
    data = summary_json(summary)
    data["sections"][0]["all"]["week"]["due"] = 987654
    assert missing_from_html(data, summary_html(summary, chart=b"png")) == ["987654"]


def test_json_shape() -> None:
    data = summary_json(example())
    assert (data["scope"], data["week"], data["week_starts"], data["as_of"]) == (
        {"kind": "area", "id": "thames-and-chiltern"},
        "2017-W30",
        "2017-07-24",
        "2017-07-28",
    )
    kinds = [s["kind"] for s in data["sections"]]
    assert kinds == ["timeliness", "breakdown", "lapses", "workload", "custody", "recommendations"]
    week = data["sections"][0]["all"]["week"]
    assert week == {"due": 28, "met": 19, "late": 5, "lapsed": 3, "open": 1, "on_time_pct": 70.4}


def test_markdown_has_every_section() -> None:
    text = summary_markdown(example())
    assert text.startswith("# Weekly summary 2017-W30: Area thames-and-chiltern")
    assert "| all | 28 | 19 | 5 | 3 | 1 | 70.4% |" in text
    assert "| hearing-record-sheet/U1/H1 | hearing-record-sheet | U1 | Hattie B (P1) |" in text
    assert "| U2 | D1 | P2 | 2017-08-14 | 17 |" in text
    assert "### Previous week 2017-W29" in text
    assert "| overdue | at-risk | completed-awaiting-verification | on-track |" in text
    assert "| 1 | 2 | 0 | 4 | 5 | 6 | 18 |" in text
    assert (
        "| INS-1 | 7 | Improve disclosure. | Lionel F (ABM1), DCCP1 | overdue | - | 2017-06-30"
        " | milestone-missed |"
    ) in text


def test_html_escapes_what_came_in_events() -> None:
    summary = example()
    lapses = summary.sections[2]
    assert isinstance(lapses, Lapses)
    hostile = Lapse("x", "r", "<script>alert(1)</script>", None, None, None, date(2017, 7, 25), 3)
    changed = Summary(
        summary.scope, summary.week, summary.as_of,
        [*summary.sections[:2], Lapses(lapses.week, [hostile]), *summary.sections[3:]],
    )  # fmt: skip
    html = summary_html(changed, chart=b"png")
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_markdown_escapes_what_came_in_events() -> None:
    summary = example()
    lapses, recommendations = summary.sections[2], summary.sections[5]
    assert isinstance(lapses, Lapses) and isinstance(recommendations, Recommendations)
    hostile = "| a | b |\n[x](javascript:alert(1)) <script>alert(1)</script> **bold** `c`"
    lapse = Lapse("x", "r", hostile, "P1", "# _Hattie_ [B]", None, date(2017, 7, 25), 3)
    item = RecommendationItem(
        "R", "INS-1", "7", hostile, [Owner("A", "*Lionel*")], "overdue", [], None, None
    )
    changed = Summary(
        summary.scope, summary.week, summary.as_of,
        [
            *summary.sections[:2],
            Lapses(lapses.week, [lapse]),
            *summary.sections[3:5],
            Recommendations(recommendations.counts, recommendations.total, [item]),
        ],
    )  # fmt: skip
    rendered = MarkdownIt("commonmark").enable("table").render(summary_markdown(changed))
    for tag in ("<a ", "<script", "<em>", "<code>", "<h1>#", "<img"):
        assert tag not in rendered
    assert rendered.count("<strong>") == 0
    for table in rendered.split("<table>")[1:]:
        head, _, body = table.partition("<tbody>")
        widths = {row.count("<td>") for row in body.split("<tr>")[1:]}
        assert widths == {head.count("<th>")}  # no cell split off or merged
    plain = " ".join(hostile.split())
    assert plain.replace("<", "&lt;").replace(">", "&gt;") in rendered


def test_the_chart_is_a_png() -> None:
    section = example().sections[0]
    png = on_time_chart(section)  # type: ignore[arg-type]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


def _status(number: int, status: str, *flags: str, owners: tuple[str, ...] = ("A",)) -> Any:
    return RecommendationStatus(
        recommendation_id=f"R{number}",
        inspection_id="INS",
        number=str(number),
        kind="recommendation",
        text=f"Recommendation {number}.",
        area="tc",
        owners=owners,
        status=status,
        flags=flags,
        next_due=date(2017, 8, number),
        final_due=date(2017, 9, number),
    )


def test_every_audit_status_has_a_place_in_the_counts() -> None:
    assert sorted(STATUS_ORDER) == sorted(STATUSES)


def test_the_recommendations_section_counts_every_status_and_lists_what_needs_attention() -> None:
    statuses = [
        _status(1, "verified", "completed-without-evidence"),  # settled: not listed
        _status(2, "at-risk", "evidence-missing", owners=("A", "B")),
        _status(3, "on-track"),
        _status(4, "on-track", "completed-without-evidence"),
        _status(5, "completed-awaiting-verification"),
        _status(6, "overdue", "milestone-missed"),
        _status(7, "not-started", "no-response", owners=()),
    ]
    section = recommendations_section(statuses, names={"A": "Ann", "C": "Col"})
    assert [(c.status, c.count) for c in section.counts] == [
        ("overdue", 1), ("at-risk", 1), ("completed-awaiting-verification", 1),
        ("on-track", 2), ("not-started", 1), ("verified", 1),
    ]  # fmt: skip
    assert section.total == 7
    assert [(i.number, i.status) for i in section.attention] == [
        ("6", "overdue"),
        ("2", "at-risk"),
        ("5", "completed-awaiting-verification"),
        ("4", "on-track"),
    ]
    at_risk = section.attention[1]
    assert at_risk.owners == [Owner("A", "Ann"), Owner("B", None)]
    assert (at_risk.flags, at_risk.next_due, at_risk.final_due) == (
        ["evidence-missing"], date(2017, 8, 2), date(2017, 9, 2),
    )  # fmt: skip


def test_long_recommendation_texts_are_cut_at_a_word() -> None:
    assert shorten("Short  and\nsweet.") == "Short and sweet."
    long = "Improve the timeliness, quality and " + "consistency " * 10
    cut = shorten(long, limit=40)
    assert cut == "Improve the timeliness, quality and\u2026" and len(cut) <= 40
    assert shorten("x" * 50, limit=10) == "x" * 9 + "\u2026"


def test_an_area_without_recommendations_says_so() -> None:
    section = recommendations_section([], names={})
    assert section.total == 0 and all(c.count == 0 for c in section.counts)
    summary = example()
    empty = Summary(summary.scope, summary.week, summary.as_of, [*summary.sections[:5], section])
    assert "None recorded." in summary_markdown(empty)
    assert "None recorded." in summary_html(empty, chart=b"png")


def test_the_furthest_escalation_step_names_everyone_told_at_it() -> None:
    assert escalation_of([]) is None
    assert escalation_of([("lapse", "owner"), ("lapse", "legal-manager")]) == (
        "lapse: legal-manager, owner"
    )
    assert escalation_of(
        [("lapse", "owner"), ("escalation-3", "dccp"), ("escalation-3", "ccp"),
         ("escalation-1", "unit-head")]
    ) == "escalation-3: ccp, dccp"  # fmt: skip


def _member(staff_id: str, manager: str | None) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(staff_id=staff_id, name=f"N {staff_id}", unit="u", line_manager=manager)


def test_capacity_is_the_team_members_without_lapses_at_or_below_the_median_load() -> None:
    from services.summaries.sections import capacity

    people = [
        PersonLoad("A", None, "LM", 0, 2, 1),  # load 3, lapsed: never listed
        PersonLoad("B", None, "LM", 0, 0, 2),  # load 2
        PersonLoad("C", None, "LM", 0, 0, 5),  # load 5: above the median
        PersonLoad("E", None, "LM2", 0, 0, 4),
    ]
    members = [_member(s, "LM") for s in "ABCD"] + [_member("E", "LM2")]
    found = capacity(people=people, candidates=members)
    # LM's loads: A 3, B 2, C 5, D 0 (no open obligation): median 2.5.
    assert [(c.team, c.staff_id, c.load, c.team_median) for c in found] == [
        ("LM", "D", 0, 2.5),
        ("LM", "B", 2, 2.5),
        ("LM2", "E", 4, 4.0),
    ]
    assert capacity(people=people, candidates=[]) == []


def test_since_the_last_call_runs_from_the_previous_publication_moment() -> None:
    from services.summaries.sections import CallTime, call_window

    week, call = IsoWeek(2017, 30), CallTime("friday", time(16, 0))
    since, until = call_window(week, date(2017, 7, 28), call)
    assert since == datetime(2017, 7, 21, 16, 0, tzinfo=LONDON)
    assert until == datetime(2017, 7, 28, 16, 0, tzinfo=LONDON)  # this week's moment
    # Judged on Wednesday: up to the end of that day.
    assert call_window(week, date(2017, 7, 26), call)[1] == datetime(
        2017, 7, 27, 0, 0, tzinfo=LONDON
    )
    assert call_window(week, date(2017, 7, 26), None)[0] == datetime(
        2017, 7, 24, 0, 0, tzinfo=LONDON
    )


def test_a_past_week_is_judged_as_of_its_sunday() -> None:
    from services.summaries.build import default_as_of

    assert default_as_of(IsoWeek(2017, 30), date(2026, 12, 3)) == date(2017, 7, 30)
    assert default_as_of(IsoWeek(2026, 49), date(2026, 12, 3)) == date(2026, 12, 3)
