"""A small held-back inspection with responses, evidence, lapses and ratings, and the statuses
expected of it as of TODAY (worked out by hand: see each recommendation's comment)."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

from tests.factories import event

TODAY = date(2018, 3, 15)
INSPECTION = "INS-ACC-2017"
HMCPSI = "/hmcpsi"
CPS = "/cps/wessex/assurance"


def _t(day: str, hour: int = 10) -> str:
    return f"{day}T{hour:02d}:00:00+00:00"


def history() -> list[dict[str, Any]]:
    e = event
    return [
        e("staff-updated", _t("2017-09-01"), id_="s1", source=CPS, staff_id="WX-DCCP1",
          name="Rowena Peel", email="rp@example.org", role="dccp", area="wessex",
          line_manager=None),
        e("staff-updated", _t("2017-09-01"), id_="s2", source=CPS, staff_id="WX-ABM1",
          name="Lionel Frith", email="lf@example.org", role="abm", area="wessex",
          line_manager=None),
        e("inspection-published", _t("2017-10-02"), id_="i1", source=HMCPSI,
          inspection_id=INSPECTION, title="Area Assurance Inspection: CPS Wessex",
          kind="area-assurance", area="wessex", published_date="2017-10-02",
          ratings={"casework quality": "fair", "public confidence": "good"}),
        # R1: completed on time with evidence, then rated achieved -> verified.
        e("recommendation-issued", _t("2017-10-02"), id_="r1", source=HMCPSI,
          inspection_id=INSPECTION, recommendation_id="ACC-R1", number=1,
          kind="recommendation", text="Review the level of managers at stakeholder meetings."),
        e("response-committed", _t("2017-10-20"), id_="c1", source=CPS,
          recommendation_id="ACC-R1", action_id="ACC-A1", response="agreed",
          text="Review stakeholder liaison.", owner="WX-ABM1", due_date="2017-12-31"),
        e("action-evidence-recorded", _t("2017-12-10"), id_="v1", source=CPS,
          action_id="ACC-A1", evidence="https://intranet.example/wessex/liaison-review.pdf",
          recorded_by="WX-ABM1", recorded_date="2017-12-10"),
        e("action-completed", _t("2017-12-15"), id_="d1", source=CPS, action_id="ACC-A1",
          completed_date="2017-12-15", completed_by="WX-ABM1"),
        e("follow-up-assessed", _t("2018-02-20"), id_="f1", source=HMCPSI,
          recommendation_id="ACC-R1", rating="achieved", assessed_by="HMI-7",
          assessed_date="2018-02-20", notes="Review seen and acted on."),
        # R2: monthly VCL analysis from November; no evidence in January 2018 -> at risk.
        # Issued twice: the later text stands whichever arrives first.
        e("recommendation-issued", _t("2017-10-02"), id_="r2", source=HMCPSI,
          inspection_id=INSPECTION, recommendation_id="ACC-R2", number=2,
          kind="issue-to-address", text="Draft text.", due_date="2018-06-30"),
        e("recommendation-issued", _t("2017-10-03"), id_="r2b", source=HMCPSI,
          inspection_id=INSPECTION, recommendation_id="ACC-R2", number=2,
          kind="issue-to-address", text="Improve the timeliness of letters to victims.",
          due_date="2018-06-30"),
        e("response-committed", _t("2017-10-20"), id_="c2", source=CPS,
          recommendation_id="ACC-R2", action_id="ACC-A2", response="agreed",
          text="Analyse all VCL data monthly.", owner="WX-DCCP1", recurrence="monthly",
          starts="2017-11-01", ends="2018-06-30"),
        *(
            e("action-evidence-recorded", _t(day, 17), id_=f"v2-{day}", source=CPS,
              action_id="ACC-A2", evidence=f"VCL analysis minutes {day}",
              recorded_by="WX-DCCP1", recorded_date=day)
            for day in ("2017-11-20", "2017-12-18", "2018-02-26")
        ),
        # R3: completed, but no evidence -> completed awaiting verification, flagged.
        e("recommendation-issued", _t("2017-10-02"), id_="r3", source=HMCPSI,
          inspection_id=INSPECTION, recommendation_id="ACC-R3", number=3,
          kind="recommendation", text="Develop a strategy for improving recruitment."),
        e("response-committed", _t("2017-10-20"), id_="c3", source=CPS,
          recommendation_id="ACC-R3", action_id="ACC-A3", response="agreed",
          text="Recruitment strategy with the HR Directorate.", owner="WX-ABM1",
          due_date="2018-02-28"),
        e("action-completed", _t("2018-02-20"), id_="d3", source=CPS, action_id="ACC-A3",
          completed_date="2018-02-20", completed_by="WX-ABM1"),
        # R4: two dated milestones, the second missed and past -> overdue.
        e("recommendation-issued", _t("2017-10-02"), id_="r4", source=HMCPSI,
          inspection_id=INSPECTION, recommendation_id="ACC-R4", number=4,
          kind="recommendation", text="Improve the handling of unused material."),
        e("response-committed", _t("2017-10-20"), id_="c4a", source=CPS,
          recommendation_id="ACC-R4", action_id="ACC-A4A", response="partly-agreed",
          text="Targeted disclosure work.", owner="WX-DCCP1", due_date="2017-12-31"),
        e("response-committed", _t("2017-10-20"), id_="c4b", source=CPS,
          recommendation_id="ACC-R4", action_id="ACC-A4B", response="partly-agreed",
          text="Disclosure training for prosecutors.", owner="WX-DCCP1",
          due_date="2018-02-28"),
        e("action-evidence-recorded", _t("2017-12-19"), id_="v4", source=CPS,
          action_id="ACC-A4A", evidence="Disclosure audit report", recorded_by="WX-DCCP1",
          recorded_date="2017-12-19"),
        e("action-completed", _t("2017-12-20"), id_="d4", source=CPS, action_id="ACC-A4A",
          completed_date="2017-12-20", completed_by="WX-DCCP1"),
    ]  # fmt: skip


# recommendation -> (status, flags, lapses, next due, rating)
EXPECTED: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], date | None, str | None]] = {
    "ACC-R1": ("verified", (), (), None, "achieved"),
    "ACC-R2": (
        "at-risk",
        ("evidence-missing",),
        ("recurring-commitment/ACC-A2/2018-01",),
        date(2018, 3, 31),
        None,
    ),
    "ACC-R3": ("completed-awaiting-verification", ("completed-without-evidence",), (), None, None),
    "ACC-R4": (
        "overdue",
        ("partly-agreed", "milestone-missed"),
        ("recommendation-action/ACC-A4B",),
        None,
        None,
    ),
}
REJECTED_RATING = event(
    "follow-up-assessed",
    _t("2018-03-01"),
    id_="f-bad",
    source=HMCPSI,
    recommendation_id="ACC-R3",
    rating="excellent",
    assessed_by="HMI-7",
    assessed_date="2018-03-01",
)


def shuffled_with_duplicates(seed: int) -> list[str]:
    events = history()
    rng = random.Random(seed)
    doubled = events + rng.sample(events, len(events) // 2)
    rng.shuffle(doubled)
    return [json.dumps(e) for e in doubled]
