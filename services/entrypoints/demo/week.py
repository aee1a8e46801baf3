"""A deterministic working week of casework events in one Area, for `followup demo`.

Set in Thames and Chiltern in the week HMCPSI published its Area Assurance report (27 July
2017), which found Hearing Record Sheets not used consistently and letters to victims too often
late or never sent; the shares of late and missing work below follow that finding, they are not
published figures. Its issue 7 (cases reviewed and progressed in time) is what the DCCP's weekly
conference call watches: some cases fall due for review before a listed hearing this week
(reviewed on time, late or not at all; one hearing relisted, one vacated), and the call
reallocates two cases to lawyers with capacity. Every person is fictional; the org chart is the
shape domain.md describes.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

from services.entrypoints.demo.files import files_and_disclosure
from services.entrypoints.demo.iqa import demo_iqas
from services.rules.calendar import Calendar

SOURCE = "/cms/thames-and-chiltern"
AREA = "thames-and-chiltern"
AREA_NAME = "Thames and Chiltern"
WEEK = tuple(date(2017, 7, 24) + timedelta(days=n) for n in range(5))  # Mon 24 - Fri 28 July
LAST = date(2017, 8, 4)  # Friday of the following week: every late completion lands by then
BST = timezone(timedelta(hours=1))

# staff_id, name, role, unit, line manager
STAFF = (
    ("TC-CCP1", "Imogen Vantreight", "ccp", None, None),
    ("TC-DCCP1", "Rufus Halloway", "dccp", None, "TC-CCP1"),
    ("TC-ABM1", "Petra Quennell", "abm", None, "TC-CCP1"),
    ("TC-LM1", "Oswin Marchbank", "legal-manager", "magistrates", "TC-DCCP1"),
    ("TC-P01", "Hattie Brackenridge", "prosecutor", "magistrates", "TC-LM1"),
    ("TC-P02", "Leopold Sallow", "prosecutor", "magistrates", "TC-LM1"),
    ("TC-PL01", "Nell Ashdown-Prew", "paralegal", "magistrates", "TC-LM1"),
    ("TC-A01", "Caspar Wendle", "advocate", "magistrates", "TC-LM1"),
    ("TC-LM2", "Beatrix Tolland", "legal-manager", "crown", "TC-DCCP1"),
    ("TC-P03", "Ambrose Feathers", "prosecutor", "crown", "TC-LM2"),
    ("TC-P04", "Ottilie Harcastle", "prosecutor", "crown", "TC-LM2"),
    ("TC-PL02", "Jonty Pellew", "paralegal", "crown", "TC-LM2"),
    ("TC-A02", "Marguerite Oakhurst", "advocate", "crown", "TC-LM2"),
    ("TC-LM3", "Silas Dunmore", "legal-manager", "rasso", "TC-DCCP1"),
    ("TC-P05", "Verity Gallimore", "prosecutor", "rasso", "TC-LM3"),
    ("TC-P06", "Barnaby Quist", "prosecutor", "rasso", "TC-LM3"),
    ("TC-PL03", "Clemency Rook", "paralegal", "rasso", "TC-LM3"),
)
# Who presents cases in court for each unit: its own advocate or lawyers; RASSO cases are in
# the Crown Court, where the Crown Advocate also appears.
ADVOCATES = {
    "magistrates": ("TC-A01", "TC-A01", "TC-P01", "TC-P02"),
    "crown": ("TC-A02", "TC-A02", "TC-P03", "TC-P04"),
    "rasso": ("TC-A02", "TC-P05", "TC-P06"),
}
_CROWN = tuple(f"{town} Crown Court" for town in ("Reading", "Oxford", "Aylesbury"))
_TOWNS = ("Reading", "High Wycombe", "Oxford", "Milton Keynes")
COURTS = {"magistrates": tuple(f"{t} Magistrates' Court" for t in _TOWNS), "crown": _CROWN}
COURTS["rasso"] = _CROWN
HEARD_CASES = {"magistrates": 14, "crown": 9, "rasso": 5}  # one hearing in the week each
PRE_CHARGE_CASES = {"magistrates": 2, "rasso": 2}  # decided not to charge: no hearings
CHARGED_DECISIONS = 10  # discontinued or charge altered, among the heard cases
REVIEWED_CASES = 10  # heard cases with a review due this week before a later hearing
# Working days before the hearing a review is due (the default pack's settings, by stage).
REVIEW_DAYS = {
    "magistrates-first-hearing": 1,
    "crown-ptph": 5,
    "magistrates-trial": 10,
    "crown-trial": 10,
}
# The weekly conference call: Tuesday, with the DCCP.
CALL = WEEK[1]
STAFF_FIELDS = ("staff_id", "name", "role", "unit", "line_manager")
Case = tuple[str, str, str]  # urn, unit, owner
_CAL = Calendar()


def demo_week(seed: int = 2017) -> list[dict[str, Any]]:
    """The week's events as CloudEvent dicts, ids stable, published order lightly shuffled."""
    week = _Week(random.Random(seed))
    for person in STAFF:
        email = f"{person[1].lower().replace(' ', '.')}@thames-chiltern.example"
        fields = dict(zip(STAFF_FIELDS, person, strict=True))
        week.add("staff-updated", _at(date(2017, 7, 3), 8), **fields, email=email, area=AREA)
    heard, pre_charge = week.cases()
    week.hearings(heard)
    decided = week.rng.sample(heard, CHARGED_DECISIONS)
    week.victim_letters([(c, False) for c in decided] + [(c, True) for c in pre_charge])
    week.reviews(week.rng.sample(heard, REVIEWED_CASES))
    files_and_disclosure(add=week.add, at=week.at, cases=heard, week=WEEK, seed=seed)
    # Added: IQAs and their reassessments (fixed, no draws from the week's generator).
    for when, type_, data in demo_iqas():
        week.add(type_, when, **data)
    return week.envelopes()


class _Week:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.raw: list[tuple[datetime, str, dict[str, Any]]] = []

    def add(self, type_: str, when: datetime, **data: Any) -> None:
        self.raw.append((when, type_, data))

    def at(self, day: date, hour: int) -> datetime:
        return _at(day, hour, self.rng.randrange(60))

    def cases(self) -> tuple[list[Case], list[Case]]:
        total = sum(HEARD_CASES.values()) + sum(PRE_CHARGE_CASES.values())
        numbers = iter(self.rng.sample(range(100, 99_999), total))
        groups: tuple[list[Case], list[Case]] = ([], [])
        for group, sizes in zip(groups, (HEARD_CASES, PRE_CHARGE_CASES), strict=True):
            for unit, count in sizes.items():
                lawyers = [s[0] for s in STAFF if s[3] == unit and s[2] == "prosecutor"]
                for _ in range(count):
                    urn, owner = f"43TC{next(numbers):05d}17", self.rng.choice(lawyers)
                    registered = self.at(WEEK[0] - timedelta(self.rng.randint(10, 120)), 10)
                    self.add(
                        "case-registered", registered, urn=urn, area=AREA, unit=unit, owner=owner
                    )
                    group.append((urn, unit, owner))
        return groups

    def hearings(self, cases: list[Case]) -> None:
        stories = ["vacated"] * 2 + ["adjourned"] * 2 + ["corrected"]
        stories += ["held"] * (len(cases) - len(stories))
        self.rng.shuffle(stories)
        owed: list[tuple[dict[str, Any], date, date]] = []  # hearing, held on, sheet due
        for (urn, unit, _owner), story in zip(cases, stories, strict=True):
            day = self.rng.choice(WEEK[1:] if story == "corrected" else WEEK)
            court_type = "magistrates" if unit == "magistrates" else "crown"
            hearing = {"urn": urn, "hearing_id": "H1", "court": self.rng.choice(COURTS[unit])}
            hearing |= {"court_type": court_type, "advocate": self.rng.choice(ADVOCATES[unit])}
            next_day = _CAL.add_working_days(day, 1).result
            if story == "adjourned":  # nothing held, so no sheet owed yet; relisted for later
                self.hearing(hearing, self.at(day, 15), day, "adjourned")
                relisted = {**hearing, "hearing_id": "H2"}
                self.hearing(relisted, self.at(day, 16), day + timedelta(28), "listed")
                continue
            # A clerk keys the previous working day; the next morning's correction must stand.
            keyed = _previous_working_day(day) if story == "corrected" else day
            self.hearing(hearing, self.at(day, 17), keyed, "held")
            if story == "corrected":  # sheet due by the corrected date: late by the keyed one
                self.hearing(hearing, self.at(next_day, 9), day, "held")
                self.sheet(hearing, next_day)
                continue
            if story == "vacated":  # recorded as held in error: the hearing had been vacated
                self.hearing(hearing, self.at(next_day, 10), day, "vacated")
                continue
            owed.append((hearing, day, next_day))
        fates = _fates(self.rng, [due for *_, due in owed], late_share=0.17, never_share=0.12)
        for (hearing, held, due), fate in zip(owed, fates, strict=True):
            if (done := _done_on(self.rng, held, due, fate)) is not None:
                self.sheet(hearing, done)

    def sheet(self, hearing: dict[str, Any], done: date) -> None:
        sheet = {k: hearing[k] for k in ("urn", "hearing_id")} | {"uploaded_date": str(done)}
        sheet["uploaded_by"] = hearing["advocate"]
        self.add("hearing-record-sheet-uploaded", self.at(done, 9), **sheet)

    def hearing(self, hearing: dict[str, Any], when: datetime, on: date, status: str) -> None:
        self.add("hearing-updated", when, **hearing, hearing_date=str(on), status=status)

    def victim_letters(self, cases: list[tuple[Case, bool]]) -> None:
        owed: list[tuple[dict[str, Any], date, date]] = []  # letter, decided on, letter due
        for (urn, unit, _owner), pre_charge in cases:
            letter = {"urn": urn, "victim_id": f"TC-V{self.rng.randrange(1000, 9999)}"}
            decided = self.rng.choice(WEEK)
            enhanced = unit == "rasso" or self.rng.random() < 0.3  # serious, or vulnerable
            kind = (
                "no-charge" if pre_charge else self.rng.choice(["discontinued", "charge-altered"])
            )
            decision = {"decision": kind, "decision_date": str(decided), "enhanced": enhanced}
            self.add("victim-letter-due", self.at(decided, 11), **letter, **decision)
            due = _CAL.add_working_days(decided, 1 if enhanced else 5).result
            owed.append((letter, decided, due))
        fates = _fates(self.rng, [due for *_, due in owed], late_share=0.14, never_share=0.14)
        for (letter, decided, due), fate in zip(owed, fates, strict=True):
            if (sent := _done_on(self.rng, decided, due, fate)) is not None:
                self.add("victim-letter-sent", self.at(sent, 10), **letter, sent_date=str(sent))

    def reviews(self, cases: list[Case]) -> None:
        """Each case falls due for review this week before a hearing listed later (hearing id
        R1: listed, never held, so it owes no sheet). One hearing is relisted (the due date
        moves into the week), one vacated before its review was due (cancelled); the rest
        are reviewed on time, late or never. At Tuesday's call the DCCP reallocates a case
        whose review lapsed, and on Thursday one whose review is still to do."""
        owed: list[tuple[Case, str, date]] = []  # case, stage, review due
        for n, case in enumerate(cases):
            urn, unit, _owner = case
            court = "magistrates" if unit == "magistrates" else "crown"
            early = self.rng.random() < 0.5
            stage = {
                ("magistrates", True): "magistrates-first-hearing",
                ("magistrates", False): "magistrates-trial",
                ("crown", True): "crown-ptph",
                ("crown", False): "crown-trial",
            }[(court, early)]
            due = WEEK[n % len(WEEK)]
            heard_on = _CAL.add_working_days(due, REVIEW_DAYS[stage]).result
            hearing = {"urn": urn, "hearing_id": "R1", "court": self.rng.choice(COURTS[unit])}
            hearing |= {"court_type": court}
            raised = self.at(due - timedelta(21), 9)
            self.add("case-review-due", raised, urn=urn, stage=stage, hearing_id="R1")
            if n == 0:  # listed first for a week earlier, then relisted into this week
                self.hearing(hearing, raised, heard_on - timedelta(7), "listed")
                self.hearing(hearing, self.at(due - timedelta(10), 12), heard_on, "listed")
            else:
                self.hearing(hearing, raised, heard_on, "listed")
            if n == 1:  # vacated the working day before its review was due
                self.hearing(hearing, self.at(_previous_working_day(due), 16), heard_on, "vacated")
                continue
            owed.append((case, stage, due))
        fates = _fates(self.rng, [due for *_, due in owed], late_share=0.25, never_share=0.25)
        dones = [
            _done_on(self.rng, due - timedelta(7), due, fate)
            for (_, _, due), fate in zip(owed, fates, strict=True)
        ]
        lapsed = [c for (c, _, _), done in zip(owed, dones, strict=True) if done is None]
        # Thursday's move: a case whose review is due from Thursday and not yet done then.
        to_do = [
            c
            for (c, _, due), done in zip(owed, dones, strict=True)
            if due >= WEEK[3] and (done is None or done >= WEEK[3])
        ]
        moves = [(lapsed[0], CALL, "owner over capacity; review due this week not started")]
        if other := [c for c in to_do if c is not lapsed[0]]:
            moves.append((other[0], WEEK[3], "owner on leave until August; review still to do"))
        moved: dict[str, tuple[date, str]] = {}  # urn -> reallocated on, to whom
        for (urn, unit, owner), on, reason in moves:
            lawyers = [s[0] for s in STAFF if s[3] == unit and s[2] == "prosecutor"]
            new_owner = next(p for p in lawyers if p != owner)
            moved[urn] = (on, new_owner)
            self.add(
                "case-reallocated",
                self.at(on, 14),
                urn=urn,
                new_owner=new_owner,
                reason=reason,
                reallocated_by="TC-DCCP1",
                reallocated_date=str(on),
            )
        for ((urn, _unit, owner), stage, _due), done in zip(owed, dones, strict=True):
            if done is not None:
                on, new_owner = moved.get(urn, (LAST, owner))
                self.add(
                    "case-reviewed",
                    self.at(done, 12),
                    urn=urn,
                    stage=stage,
                    reviewed_by=new_owner if done >= on else owner,
                    reviewed_date=str(done),
                )

    def envelopes(self) -> list[dict[str, Any]]:
        """Ids follow the order things happened; the publish order is then jittered a few
        places, as parallel producers would deliver them (the pipeline must not care)."""
        chronological = sorted(self.raw, key=lambda item: item[0])
        events = [
            {
                "specversion": "1.0",
                "id": f"demo-{n:04d}",
                "source": SOURCE,
                "type": type_,
                "time": when.isoformat(),
                **({"subject": data["urn"]} if "urn" in data else {}),
                "datacontenttype": "application/json",
                "data": data,
            }
            for n, (when, type_, data) in enumerate(chronological, start=1)
        ]
        jitter = [n + self.rng.uniform(0, 6) for n in range(len(events))]
        return [e for _, e in sorted(zip(jitter, events, strict=True), key=lambda p: p[0])]


def _fates(
    rng: random.Random, dues: list[date], late_share: float, never_share: float
) -> list[str]:
    """Fixed numbers rather than independent draws, so every seed shows each kind of outcome;
    "late" goes only where a late completion can still land by LAST."""
    can_be_late = [i for i, due in enumerate(dues) if due < LAST]
    late = set(rng.sample(can_be_late, max(1, round(late_share * len(dues)))))
    rest = [i for i in range(len(dues)) if i not in late]
    never = set(rng.sample(rest, max(1, round(never_share * len(dues)))))
    return ["late" if i in late else "never" if i in never else "on-time" for i in range(len(dues))]


def _done_on(rng: random.Random, start: date, due: date, fate: str) -> date | None:
    if fate == "never":
        return None
    first, last = (start, due) if fate == "on-time" else (due + timedelta(1), LAST)
    days = [first + timedelta(n) for n in range((last - first).days + 1)]
    working = [d for d in days if _CAL.is_working_day(d)]
    # Late work mostly turns up within a few days of the deadline, not at the end of LAST week.
    return rng.choice(working if fate == "on-time" else working[:3])


def _previous_working_day(day: date) -> date:
    day -= timedelta(1)
    while not _CAL.is_working_day(day):
        day -= timedelta(1)
    return day


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BST)
