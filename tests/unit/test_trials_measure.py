"""The trials-not-proceeding measure (services/summaries/trials.py), with values worked out
by hand (docs/contract.md, section 9, "Added: trials not proceeding")."""

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.rules.model import Fact
from services.summaries.packs.periods import PackPeriod
from services.summaries.trials import Rate, court_lines, rate, standing, trend_periods

EE, WX = "east-of-england", "wessex"
JULY = PackPeriod.parse("2017-07")
_n = iter(range(1, 10_000))


def outcome(
    hearing: str,
    outcome: str,
    by: str | None = None,
    *,
    on: str = "2017-07-12",
    court: str = "magistrates",
    area: str | None = EE,
    urn: str | None = None,
    hour: int = 9,
    id_: str | None = None,
) -> Fact:
    data: dict[str, Any] = {
        "urn": urn or f"U-{hearing}",
        "hearing_id": hearing,
        "court_type": court,
        "outcome": outcome,
        "trial_date": on,
    }
    if by:
        data |= {"attributable_to": by, "reason": f"{by} reason"}
    if area:
        data["area"] = area
    return Fact(
        source="/hmcts",
        id=id_ or f"t-{next(_n)}",
        type="trial-outcome-recorded",
        time=datetime(2017, 7, 20, hour, tzinfo=UTC),
        data=data,
    )


# East of England, magistrates', July: H1 to H8, 8 trials; for prosecution reasons H2 (cracked),
# H3 (ineffective), H7 (corrected from effective to cracked) and H8 (ineffective, its Area the
# case's): 4 of 8 = 50.0%. H6 was corrected to the defence's; H4 and H5 were not the
# prosecution's; H9 is June's.

FACTS = [
    outcome("H1", "effective"),
    outcome("H2", "cracked", "prosecution"),
    outcome("H3", "ineffective", "prosecution"),
    outcome("H4", "cracked", "defence"),
    outcome("H5", "ineffective", "court"),
    outcome("H6", "ineffective", "prosecution", hour=9),
    outcome("H6", "ineffective", "defence", hour=10),
    outcome("H7", "effective", hour=9),
    outcome("H7", "cracked", "prosecution", hour=11),
    outcome("H8", "ineffective", "prosecution", area=None, urn="CASE-8"),
    outcome("H9", "cracked", "prosecution", on="2017-06-30"),
    # Wessex, magistrates', July: 1 of 4.
    outcome("W1", "effective", area=WX),
    outcome("W2", "effective", area=WX),
    outcome("W3", "ineffective", "prosecution", area=WX),
    outcome("W4", "cracked", "other", area=WX),
    # East of England, Crown Court, July: 1 of 3.
    outcome("C1", "effective", court="crown"),
    outcome("C2", "cracked", "prosecution", court="crown"),
    outcome("C3", "effective", court="crown"),
    # Neither the event nor a case names an Area: national only.
    outcome("N1", "ineffective", "prosecution", area=None, urn="UNKNOWN", court="crown"),
]
CASES = {"CASE-8": EE}


def test_the_latest_outcome_of_a_hearing_stands() -> None:
    trials = {t.hearing_id: t for t in standing(FACTS, case_areas=CASES)}
    assert len(trials) == 17  # 9 + 4 + 3 + 1 hearings
    assert (trials["H6"].attributable_to, trials["H7"].outcome) == ("defence", "cracked")
    assert (trials["H8"].area, trials["N1"].area) == (EE, None)


def test_the_area_rate_counts_cracked_and_ineffective_trials_of_the_prosecution() -> None:
    trials = standing(FACTS, case_areas=CASES)
    found = rate(trials, court_type="magistrates", first=JULY.start, last=JULY.end, area=EE)
    assert found == Rate(trials=8, prosecution=4, cracked=2, ineffective=2)
    assert found.pct == 50.0
    wessex = rate(trials, court_type="magistrates", first=JULY.start, last=JULY.end, area=WX)
    assert (wessex.trials, wessex.prosecution, wessex.pct) == (4, 1, 25.0)


def test_nationally_every_area_and_trials_of_no_known_area() -> None:
    trials = standing(FACTS, case_areas=CASES)
    mags = rate(trials, court_type="magistrates", first=JULY.start, last=JULY.end)
    crown = rate(trials, court_type="crown", first=JULY.start, last=JULY.end)
    assert (mags.trials, mags.prosecution, mags.pct) == (12, 5, 41.7)  # 5/12 = 41.67%
    assert (crown.trials, crown.prosecution, crown.pct) == (4, 2, 50.0)


def test_no_trials_is_no_rate() -> None:
    assert Rate().pct is None


def test_against_the_national_figure_of_the_settings_else_the_measured_one() -> None:
    trials = standing(FACTS, case_areas=CASES)
    trend = trend_periods(JULY, 3)
    assert [p.label for p in trend] == ["2017-05", "2017-06", "2017-07"]
    mags, crown = court_lines(
        trials, area=EE, period=JULY, trend=trend, national={"magistrates": 30.0}
    )
    assert (mags.area.pct, mags.national_figure, mags.gap_pp) == (50.0, 30.0, 20.0)
    assert mags.verdict == "worse than national"
    assert [(label, r.pct) for label, r in mags.trend] == [
        ("2017-05", None),
        ("2017-06", 100.0),
        ("2017-07", 50.0),
    ]
    # Crown Court: no setting, so the 2 of 4 measured nationally; East of England 1 of 3.
    assert (crown.area.pct, crown.national_figure, crown.against) == (33.3, None, 50.0)
    assert (crown.gap_pp, crown.verdict) == (-16.7, "better than national")


def test_quarters_trend_by_quarter() -> None:
    q3 = PackPeriod.parse("2017-Q3")
    assert [p.label for p in trend_periods(q3, 4)] == ["2016-Q4", "2017-Q1", "2017-Q2", "2017-Q3"]
    line = court_lines(
        standing(FACTS, case_areas=CASES), area=EE, period=q3, trend=[q3], national={}
    )[0]
    # July's 8 and June's H9 is Q2's: 4 of 8.
    assert (line.area.trials, line.area.prosecution, line.trend[0][1].pct) == (8, 4, 50.0)


@settings(max_examples=60, deadline=None)
@given(st.permutations(FACTS), st.lists(st.sampled_from(FACTS), max_size=6))
def test_neither_arrival_order_nor_duplicates_change_the_rates(
    facts: list[Fact], again: list[Fact]
) -> None:
    trials = standing([*facts, *again], case_areas=CASES)
    assert trials == standing(FACTS, case_areas=CASES)
    lines = court_lines(trials, area=EE, period=JULY, trend=[JULY], national={})
    assert [(line.area.prosecution, line.area.trials) for line in lines] == [(4, 8), (1, 3)]
