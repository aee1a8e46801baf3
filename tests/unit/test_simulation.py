"""services/simulation: the same seed gives the same bytes, every line is a valid event, the
late and missed work comes at the rates documented in services/simulation/rates.py, and a
national plan covers every Area."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

import pytest
import yaml

from events import parse_event
from events.iqa import RATINGS
from services.rules.packfile import PackSpec
from services.simulation import AREAS, Plan, find_area, lines_of, national
from services.simulation import rates as r
from services.simulation.areas import NATIONAL_CASES_A_YEAR, cases_per_week
from services.simulation.assurance import drawn, iqas
from services.simulation.days import before, done_on, working
from services.simulation.record import Recorder
from services.simulation.staff import build_staff

TC = find_area("thames-and-chiltern")
assert TC is not None


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    """Ten weeks of two Areas at half the national rate: about 25,000 events."""
    wessex = find_area("Wessex")
    assert wessex is not None
    plan = Plan((TC, wessex), weeks=10, seed=7, scale=0.5)
    return [json.loads(line) for line in lines_of(plan)]


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others() -> None:
    plan = Plan((TC,), weeks=2, seed=3)
    first = list(lines_of(plan))
    assert first == list(lines_of(plan))
    assert first != list(lines_of(Plan((TC,), weeks=2, seed=4)))


def test_a_longer_run_begins_with_the_shorter_ones_cases() -> None:
    short = {json.loads(line)["id"] for line in lines_of(Plan((TC,), weeks=1, seed=3))}
    long = [json.loads(line) for line in lines_of(Plan((TC,), weeks=2, seed=3))]
    first_week = {e["id"] for e in long if e["time"] < "2025-01-13"}
    assert first_week <= short


def test_every_line_is_a_valid_event_and_ids_are_unique(sample: list[dict[str, Any]]) -> None:
    for event in sample:
        parse_event(json.dumps(event))
    keys = Counter((e["source"], e["id"]) for e in sample)
    assert max(keys.values()) == 1
    assert {e["type"] for e in sample} >= {
        "staff-updated",
        "case-registered",
        "hearing-updated",
        "hearing-record-sheet-uploaded",
        "victim-letter-due",
        "victim-letter-sent",
        "custody-time-limit-set",
        "custody-time-limit-ended",
        "case-finalised",
        "complaint-received",
        "case-review-due",
        "case-reviewed",
        "case-reallocated",
        "trial-outcome-recorded",
        "file-quality-assessed",
        "file-feedback-sent",
        "unused-material-served",
        "disclosure-decision-recorded",
        "iqa-completed",
        "iqa-reassessed",
        "finalisation-checked",
        "inspection-published",
        "recommendation-issued",
        "response-committed",
    }


def test_events_come_in_time_order_within_the_plan(sample: list[dict[str, Any]]) -> None:
    instants = [datetime.fromisoformat(e["time"]) for e in sample]
    assert instants == sorted(instants)
    assert max(instants).date() < date(2025, 1, 6) + timedelta(weeks=10)


def test_line_management_reaches_the_ccp(sample: list[dict[str, Any]]) -> None:
    staff = {e["data"]["staff_id"]: e["data"] for e in sample if e["type"] == "staff-updated"}
    roles = Counter(s["role"] for s in staff.values())
    assert {"prosecutor", "paralegal", "legal-manager", "unit-head", "dccp", "ccp", "abm"} <= set(
        roles
    )
    for person in staff.values():
        chain, boss = [], person["line_manager"]
        while boss is not None:
            chain.append(staff[boss]["role"])
            boss = staff[boss]["line_manager"]
        assert person["role"] == "ccp" or chain[-1] == "ccp"


def _on_time_share(
    sample: list[dict[str, Any]], opener: str, closer: str, key: Any, due: Any, done_field: str
) -> tuple[float, int]:
    """Of the obligations due at least three weeks before the end: the share closed on time."""
    end = date(2025, 1, 6) + timedelta(weeks=10) - timedelta(21)
    closed = {
        key(e["data"]): date.fromisoformat(e["data"][done_field])
        for e in sample
        if e["type"] == closer
    }
    owed = [(key(e["data"]), due(e["data"])) for e in sample if e["type"] == opener]
    owed = [(k, d) for k, d in owed if d < end]
    on_time = sum(1 for k, d in owed if k in closed and closed[k] <= d)
    return on_time / len(owed), len(owed)


def test_victim_letters_are_on_time_at_the_published_rate(sample: list[dict[str, Any]]) -> None:
    share, n = _on_time_share(
        sample,
        "victim-letter-due",
        "victim-letter-sent",
        lambda d: (d["urn"], d["victim_id"]),
        lambda d: working(date.fromisoformat(d["decision_date"]), 1 if d["enhanced"] else 5),
        "sent_date",
    )
    assert n > 150
    assert 0.60 <= share <= 0.77  # published: 65.1% (2020) to 72% (2018)


def test_record_sheets_and_reviews_at_their_rates(sample: list[dict[str, Any]]) -> None:
    held = [e for e in sample if e["type"] == "hearing-updated" and e["data"]["status"] == "held"]
    sheets = [e for e in sample if e["type"] == "hearing-record-sheet-uploaded"]
    share, n = _on_time_share(
        held + sheets,
        "hearing-updated",
        "hearing-record-sheet-uploaded",
        lambda d: (d["urn"], d["hearing_id"]),
        lambda d: working(date.fromisoformat(d["hearing_date"]), 1),
        "uploaded_date",
    )
    assert n > 1000
    assert abs(share - r.HEARING_RECORD_SHEET.on_time) < 0.05
    dates = {
        (e["data"]["urn"], e["data"]["hearing_id"]): date.fromisoformat(e["data"]["hearing_date"])
        for e in sample
        if e["type"] == "hearing-updated"
    }
    share, n = _on_time_share(
        sample,
        "case-review-due",
        "case-reviewed",
        lambda d: (d["urn"], d["stage"]),
        lambda d: before(dates[d["urn"], d["hearing_id"]], r.REVIEW_DAYS[d["stage"]]),
        "reviewed_date",
    )
    assert n > 1000
    assert abs(share - r.CASE_REVIEW.on_time) < 0.05


def test_the_enhanced_share(sample: list[dict[str, Any]]) -> None:
    units = {e["data"]["urn"]: e["data"]["unit"] for e in sample if e["type"] == "case-registered"}
    letters = [e["data"] for e in sample if e["type"] == "victim-letter-due"]
    rasso = [d["enhanced"] for d in letters if units[d["urn"]] == "rasso"]
    others = [d["enhanced"] for d in letters if units[d["urn"]] != "rasso"]
    assert rasso and all(rasso)
    assert abs(sum(others) / len(others) - r.ENHANCED_SHARE) < 0.08


def test_done_on_draws_the_documented_rates() -> None:
    rng, day = random.Random(1), date(2025, 3, 3)
    due = working(day, 5)
    draws = [done_on(rng, r.VICTIM_LETTER, day, due) for _ in range(20_000)]
    on_time = sum(1 for d in draws if d is not None and d <= due) / len(draws)
    late = sum(1 for d in draws if d is not None and d > due) / len(draws)
    assert abs(on_time - r.VICTIM_LETTER.on_time) < 0.015
    assert abs(late - r.VICTIM_LETTER.late) < 0.015
    assert all(d is None or d >= day for d in draws)


def test_iqa_leniency_is_the_inspected_rate() -> None:
    """Lenient: the assessor rated better than the reassessor (12.1%, HMCPSI IQA inspection),
    over a year of IQAs by a large Area's legal managers."""
    rng = random.Random(5)
    staff = build_staff(TC, {"magistrates": 9000.0, "crown": 1200.0, "rasso": 300.0}, rng)
    managers = staff.having("legal-manager")
    teams = {m: [(f"URN-{m}-{n}", "P") for n in range(5)] for m in managers}
    rec = Recorder("/cms/test", "iqa")
    for month in range(1, 13):
        first = date(2025, month, 1)
        iqas(rng=rng, area=TC, staff=staff, rec=rec, month=first, first_day=first, teams=teams)
    given = {d["iqa_id"]: d["rating"] for _, _, _, t, d in rec.events if t == "iqa-completed"}
    pairs = [(given[d["iqa_id"]], d["rating"]) for *_, t, d in rec.events if t == "iqa-reassessed"]
    lenient = sum(1 for first, again in pairs if RATINGS.index(first) < RATINGS.index(again))
    assert len(managers) > 200 and len(pairs) > 300
    assert abs(lenient / len(pairs) - r.IQA_LENIENT) < 0.045


def test_national_covers_the_14_areas_and_cps_direct() -> None:
    plan = national(weeks=1, seed=1, scale=0.05)
    events = [json.loads(line) for line in lines_of(plan)]
    areas = {e["data"]["area"] for e in events if e["type"] == "case-registered"}
    assert areas == {a.slug for a in AREAS} and len(areas) == 15
    assert "cps-direct" in areas
    assert round(sum(cases_per_week(a) for a in AREAS) * 52) == NATIONAL_CASES_A_YEAR


def test_areas_are_found_by_id_or_name() -> None:
    assert find_area("Thames and Chiltern") is TC
    assert find_area("thames-and-chiltern") is TC
    assert find_area("Thames & Chiltern") is TC
    assert find_area("CPS Direct") is not None
    assert find_area("Atlantis") is None


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"weeks": 0}, "--weeks must be from 1 to 520, not 0"),
        ({"start": date(2025, 1, 7)}, "--start must be a Monday, not a Tuesday (2025-01-07)"),
        ({"scale": 0.0}, "--scale must be above 0"),
        ({"duplicates": 0.9}, "--duplicates must be from 0 to 0.5, not 0.9"),
        ({"areas": ()}, "--area: name an Area, or give --national"),
    ],
)
def test_a_bad_plan_is_named(changes: dict[str, Any], named: str) -> None:
    plan = Plan(**{"areas": (TC,), "weeks": 1, **changes})
    assert any(named in problem for problem in plan.problems())
    with pytest.raises(ValueError, match=named.split(",")[0]):
        next(iter(lines_of(plan)))


def test_resent_duplicates_are_byte_identical() -> None:
    lines = list(lines_of(Plan((TC,), weeks=1, seed=1, duplicates=0.05)))
    counts = Counter(lines)
    resent = sum(n - 1 for n in counts.values())
    assert 0.03 < resent / len(lines) < 0.07
    ids = Counter((e["source"], e["id"]) for e in map(json.loads, lines))
    assert sum(n - 1 for n in ids.values()) == resent


def test_the_sample_draw_is_the_rule_packs() -> None:
    items = [f"43TC{n:05d}25" for n in range(25)]
    chosen = drawn("assurance-sample", "TC-MAG-LM1/2025-01", items, 10)
    assert len(chosen) == 3 and chosen <= set(items)


def test_on_time_is_measured_against_the_default_packs_intervals() -> None:
    text = resources.files("services.rules").joinpath("default-pack.yaml").read_text("utf-8")
    pack = PackSpec.model_validate(yaml.safe_load(text))
    setting = {name: spec.value for name, spec in pack.settings.items()}
    assert setting["hearing_record_sheet_days"] == 1
    assert setting["case_review_first_hearing_days"] == r.REVIEW_DAYS["magistrates-first-hearing"]
    assert setting["case_review_ptph_days"] == r.REVIEW_DAYS["crown-ptph"]
    assert setting["case_review_trial_days"] == r.REVIEW_DAYS["crown-trial"]
    assert setting["file_feedback_days"] == r.FILE_FEEDBACK_DAYS
    assert setting["disclosure_record_days"] == r.DISCLOSURE_RECORD_DAYS
    assert setting["assurance_sample_percent"] == r.SAMPLE_PERCENT
    assert setting["assurance_sample_days"] == r.SAMPLE_DAYS
    assert setting["iqa_reassessment_percent"] == r.SAMPLE_PERCENT
    assert setting["iqa_reassessment_days"] == r.SAMPLE_DAYS
    assert setting["vrr_local_resolution_days"] == r.VRR_DAYS["local-resolution"]


def test_history_comes_first_and_in_time_order() -> None:
    plan = Plan((TC,), weeks=1, seed=1, scale=0.2, history=6)
    events = [json.loads(line) for line in lines_of(plan)]
    before = [e for e in events if e["time"] < "2025-01-06"]
    assert before and events[: len(before)] == before
    instants = [datetime.fromisoformat(e["time"]) for e in events]
    assert instants == sorted(instants)
    registered = [e["data"]["urn"] for e in before if e["type"] == "case-registered"]
    assert len(registered) > 5 * 0.2 * cases_per_week(TC)
    assert Plan((TC,), weeks=1, history=105).problems() == [
        "--history must be from 0 to 104 weeks, not 105"
    ]
