"""Police file quality and Disclosure Record Sheet measures (services/summaries/file_quality.py;
docs/contract.md section 9, "Added: police file quality and disclosure"), with expected values
worked out by hand in the comments."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.summaries.file_quality import (
    Assessment,
    by_area,
    by_force,
    disclosure_records,
    file_quality,
    file_rows,
    latest_per_file,
)
from services.summaries.model import Counts
from services.summaries.packs.model import DISCLOSURE, FILE_FEEDBACK, FileRow, Item
from services.summaries.packs.periods import PackPeriod

NOV = PackPeriod.parse("2026-11")
AS_OF = date(2026, 12, 1)
EOE, TC = "east-of-england", "thames-and-chiltern"
_ids = itertools.count(1)


def assessed(
    file_id: str,
    force: str,
    met: bool,
    *failings: str,
    area: str | None = EOE,
    on: str = "2026-11-02",
    hour: int = 10,
    id_: str | None = None,
) -> Assessment:
    data: dict[str, Any] = {
        "file_id": file_id,
        "urn": f"U-{file_id}",
        "force": force,
        "stage": "first-hearing",
        "standard_met": met,
        "failings": list(failings),
        "assessed_by": "P-2",
        "assessed_date": on,
    }
    time = datetime.fromisoformat(f"{on}T{hour:02d}:00:00+00:00")
    return Assessment.of(
        source="/cms/ee", id=id_ or f"a{next(_ids)}", time=time, data=data, area=area
    )


def feedback(file_id: str, due: str, state: str) -> Item:
    return Item(f"{FILE_FEEDBACK}/{file_id}", FILE_FEEDBACK, file_id, date.fromisoformat(due),
                state)  # fmt: skip


F1 = assessed("F1", "essex", True, id_="f1")
F2_BEFORE = assessed("F2", "essex", True, hour=9)  # superseded by the later assessment
F2 = assessed("F2", "essex", False, "missing-mg6", "late", hour=11)
F3 = assessed("F3", "kent", False, "missing-mg6")
# A failing named twice counts once for the file.
F4 = assessed("F4", "kent", False, "missing-statements", "missing-mg6", "missing-mg6", area=TC)
F5 = assessed("F5", "kent", True, area=None)
ASSESSMENTS = [F1, F1, F2_BEFORE, F2, F3, F4, F5]  # F1 delivered twice
FEEDBACK = [
    feedback("F2", "2026-11-09", "met"),
    feedback("F3", "2026-11-10", "met-late"),
    feedback("F4", "2026-11-20", "open"),  # past due at 1 December: lapsed
    feedback("F9", "2026-12-04", "open"),  # a file assessed before: not yet due
]


def failings(**found: int) -> dict[str, int]:
    kinds = ("missing-mg5", "missing-statements", "missing-exhibits", "missing-mg6", "late",
             "quality", "other")  # fmt: skip
    return {k: found.get(k.replace("-", "_"), 0) for k in kinds}


def row(key: str | None, label: str, files: int, met: int, share: float | None,
        fails: dict[str, int], counts: Counts) -> FileRow:  # fmt: skip
    return FileRow(key, label, files, met, share, fails, counts)


def test_each_file_counts_once_by_its_latest_assessment() -> None:
    assert [a.file_id for a in latest_per_file(ASSESSMENTS)] == ["F1", "F2", "F3", "F4", "F5"]
    assert latest_per_file(ASSESSMENTS)[1] == F2


def test_per_force_share_meeting_the_standard_failings_and_feedback() -> None:
    # essex: F1 met, F2 failed -> 1 of 2 = 50.0%; F2's failings mg6 and late; feedback F2 met,
    # F9 (essex, assessed before) open -> on time 1 / 1 = 100.0%.
    # kent: F3, F4 failed, F5 met -> 1 of 3 = 33.3%; mg6 twice (F3, F4), statements once;
    # feedback F3 late, F4 lapsed -> on time 0 / 2 = 0.0%.
    rows = file_rows(ASSESSMENTS, FEEDBACK, by=by_force, as_of=AS_OF, known={"F9": "essex"})
    assert rows == [
        row("essex", "essex", 2, 1, 50.0, failings(missing_mg6=1, late=1),
            Counts.of(met=1, open=1)),
        row("kent", "kent", 3, 1, 33.3, failings(missing_mg6=2, missing_statements=1),
            Counts.of(late=1, lapsed=1)),
    ]  # fmt: skip
    assert rows[0].feedback.on_time_pct == 100.0
    assert rows[1].feedback.on_time_pct == 0.0


def test_per_area_the_case_area_standing_in_when_the_assessment_names_none() -> None:
    # east-of-england: F1, F2, F3 -> 1 of 3 = 33.3%; tc: F4 -> 0 of 1 = 0.0%; F5 has no area.
    # Feedback: F2 met, F3 late (eoe); F4 lapsed (tc); F9 is no file known here.
    rows = file_rows(ASSESSMENTS, FEEDBACK, by=by_area, as_of=AS_OF)
    assert rows == [
        row(EOE, EOE, 3, 1, 33.3, failings(missing_mg6=2, late=1), Counts.of(met=1, late=1)),
        row(TC, TC, 1, 0, 0.0, failings(missing_mg6=1, missing_statements=1),
            Counts.of(lapsed=1)),
        row(None, "not known", 1, 1, 100.0, failings(), Counts.of(open=1)),
    ]  # fmt: skip


def test_the_pack_section_counts_files_assessed_in_the_period_and_feedback_due_in_it() -> None:
    october = assessed("F0", "essex", False, "quality", on="2026-10-30")
    december = feedback("F8", "2026-12-03", "open")  # due after November: not counted
    section = file_quality([*ASSESSMENTS, october], [*FEEDBACK[:3], december], period=NOV,
                           as_of=AS_OF, forces={"F0": "essex"})  # fmt: skip
    assert [r.key for r in section.by_force] == ["essex", "kent"]
    # Area: 5 files, 2 met = 40.0%; feedback F2 met, F3 late, F4 lapsed = 33.3% on time.
    assert section.total == row("all", "Area", 5, 2, 40.0,
                                failings(missing_mg6=3, late=1, missing_statements=1),
                                Counts.of(met=1, late=1, lapsed=1))  # fmt: skip
    assert section.total.feedback.on_time_pct == 33.3
    empty = file_quality([], [], period=NOV, as_of=AS_OF)
    assert (empty.by_force, empty.total.share_met_pct, empty.total.files) == ([], None, 0)


def test_feedback_for_a_file_of_no_known_force_has_its_own_row() -> None:
    section = file_quality([], [FEEDBACK[0]], period=NOV, as_of=AS_OF)
    assert [(r.key, r.label, r.feedback) for r in section.by_force] == [
        (None, "force not known", Counts.of(met=1))
    ]


def test_disclosure_recorded_on_time_per_team_against_the_previous_month() -> None:
    def record(urn: str, due: str, state: str, team: str | None) -> Item:
        return Item(f"{DISCLOSURE}/{urn}/initial", DISCLOSURE, f"{urn}/initial",
                    date.fromisoformat(due), state, urn=urn, team=team)  # fmt: skip

    items = [
        record("U1", "2026-11-05", "met", "LM-1"),
        record("U2", "2026-11-12", "met-late", "LM-1"),
        record("U3", "2026-10-20", "met", "LM-1"),  # October: the previous month
        record("U4", "2026-11-25", "open", "LM-2"),  # lapsed at 1 December
        record("U5", "2026-12-02", "open", "LM-2"),  # December: not counted
        record("U6", "2026-11-30", "met", None),
    ]
    section = disclosure_records(items, period=NOV, as_of=AS_OF, teams={"LM-1": "Ann Lee"})
    # LM-1: 1 met of 2 = 50.0% (October 1 of 1 = 100.0%: -50.0 points); LM-2: 0 of 1 = 0.0%;
    # no team: 1 of 1. Area: 2 met of 4 = 50.0%.
    assert [(r.label, r.current, r.current.on_time_pct, r.change_points)
            for r in section.by_team] == [
        ("Ann Lee (LM-1)", Counts.of(met=1, late=1), 50.0, -50.0),
        ("LM-2", Counts.of(lapsed=1), 0.0, None),
        ("no team", Counts.of(met=1), 100.0, None),
    ]  # fmt: skip
    assert (section.total.current, section.total.current.on_time_pct) == (
        Counts.of(met=2, late=1, lapsed=1),
        50.0,
    )


@given(st.permutations(ASSESSMENTS), st.lists(st.sampled_from(ASSESSMENTS), max_size=4))
def test_the_measures_do_not_depend_on_arrival_order_or_duplicates(
    order: list[Assessment], again: list[Assessment]
) -> None:
    expected = file_rows(ASSESSMENTS, FEEDBACK, by=by_force, as_of=AS_OF)
    assert file_rows([*order, *again], FEEDBACK, by=by_force, as_of=AS_OF) == expected


def test_an_assessment_reads_the_wire_data() -> None:
    found = Assessment.of(
        source="s",
        id="1",
        time=datetime(2026, 11, 2, 10, tzinfo=UTC),
        data={"file_id": "F1", "urn": "U", "force": "essex", "stage": "pre-charge",
              "standard_met": False, "failings": ["late"], "assessed_by": "P",
              "assessed_date": "2026-11-02", "area": "wessex"},
        area=EOE,
    )  # fmt: skip
    assert (found.area, found.failings, found.assessed_date) == (
        "wessex",  # the event's own area stands over the case's
        ("late",),
        date(2026, 11, 2),
    )


def test_the_sections_render_in_every_format() -> None:
    from services.summaries.packs.model import Pack
    from services.summaries.packs.render import pack_csv, pack_html, pack_markdown

    files = file_quality(ASSESSMENTS, FEEDBACK[:3], period=NOV, as_of=AS_OF)
    record = Item(f"{DISCLOSURE}/U1/initial", DISCLOSURE, "U1/initial", date(2026, 11, 5), "met",
                  team="LM-1")  # fmt: skip
    disclosure = disclosure_records([record], period=NOV, as_of=AS_OF, teams={})
    pack = Pack("monthly", EOE, NOV, NOV.previous(), AS_OF, [files, disclosure])
    markdown = pack_markdown(pack)
    assert "## Police file quality (National File Standard), 2026-11" in markdown
    # kent: 3 files, 1 met = 33.3%; feedback F3 late, F4 lapsed.
    assert "| kent | 3 | 1 | 33.3% | missing-statements 1, missing-mg6 2 | 2 | 0 | 1 | 1 | 0 |" in (
        markdown
    )
    assert "## Disclosure Record Sheet: decisions recorded on time, 2026-11" in markdown
    csv = pack_csv(pack)
    assert "file-quality,feedback,kent,2026-11,2,0,1,1,0,0.0,3" in csv
    assert "file-quality,failing:missing-mg6,Area,2026-11,,,,,,,3" in csv
    assert "disclosure-records,team,LM-1,2026-11,1,1,0,0,0,100.0," in csv
    html = pack_html(pack, chart=b"", page=False)
    assert "<td>missing-statements 1, missing-mg6 2</td>" in html
