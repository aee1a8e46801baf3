"""A deterministic, realistic mix of contract events for throughput benchmarks (issue 4).

Roughly what three Areas' case management systems send over most of a year, plus an inspection
team and the CPS responses to it: every event type of the contract, most events about cases
(hearings listed, held, adjourned or vacated; record sheets; victim letters; custody time limits
set, reviewed, extended and ended; finalisations and their corrections; VRR requests),
complaints, and a few inspection recommendations, responses and evidence. Events are spread
over thousands of URNs, several per case, so most touch distinct tracked things. About 2% are
resent duplicates (same source and id, same bytes) and arrival order is shuffled within a
window, as parallel producers deliver them.

    .venv/bin/python -m bench.mix 10000 > /tmp/mix.jsonl   # type counts and validation on stderr
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
START = date(2026, 1, 5)  # first case registered
END = date(2026, 11, 20)  # nothing happens after this (the benchmark runs on 2026-11-23)
INSPECTION_SOURCE = "/hmcpsi"
RESPONSE_SOURCE = "/cps/hq/inspection-responses"
# area, force code and URN letters; each Area's CMS is its own source
AREAS = (
    ("thames-and-chiltern", "43", "TC"),
    ("south-east", "46", "SE"),
    ("wessex", "44", "WX"),
)
UNITS = (("magistrates", 0.6), ("crown", 0.3), ("rasso", 0.1))
ROLES_PER_UNIT = (("legal-manager", 1), ("prosecutor", 6), ("paralegal", 3), ("advocate", 2))
OUTCOMES_OK = ("guilty-plea", "conviction-after-trial", "proof-in-absence")
OUTCOMES_BAD = (
    ("discontinued", "victim-retraction"),
    ("dismissed-after-trial", "conflict-of-evidence"),
    ("judge-directed-acquittal", "unreliable-witness"),
    ("no-evidence-offered", "essential-legal-element-missing"),
)


def mix_events(
    n: int, *, seed: int = 4, duplicate_share: float = 0.02, window: int = 200
) -> list[dict[str, Any]]:
    """`n` CloudEvent dicts in arrival order; the same arguments always give the same list."""
    rng = random.Random(seed)
    duplicates = round(n * duplicate_share)
    unique = _History(rng).events(n - duplicates)
    # Arrival: each event lands up to `window` places from where it happened (parallel
    # producers); a resent duplicate arrives later than its original, up to 10 windows later.
    keyed = [(i + rng.uniform(0, window), e) for i, e in enumerate(unique)]
    for i in sorted(rng.sample(range(len(unique)), duplicates)):
        keyed.append((i + rng.uniform(window, 10 * window), unique[i]))
    keyed.sort(key=lambda pair: pair[0])
    return [e for _, e in keyed]


def mix_lines(n: int, **options: Any) -> list[str]:
    """The mix as JSON Lines, one event per string (duplicates are byte-identical)."""
    return [json.dumps(e) for e in mix_events(n, **options)]


def mix_jsonl(n: int, **options: Any) -> str:
    """The mix as one JSON Lines text."""
    return "".join(f"{line}\n" for line in mix_lines(n, **options))


def type_counts(lines: Iterable[str]) -> Counter[str]:
    return Counter(json.loads(line)["type"] for line in lines)


def validate(lines: Iterable[str]) -> list[tuple[int, str]]:
    """(line number, reason) for every line the contract rejects; empty when all are valid."""
    from events import EventRejected, parse_event

    bad: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        try:
            parse_event(line)
        except EventRejected as rejected:
            bad.append((number, f"{rejected.field}: {rejected.reason}"))
    return bad


# --- the history -----------------------------------------------------------------------------

Raw = tuple[datetime, str, str, dict[str, Any]]  # when, source, type, data


class _History:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.raw: list[Raw] = []
        self.staff: dict[tuple[str, str, str], list[str]] = {}  # (area, unit, role) -> ids
        self.urns: dict[str, list[str]] = {}  # area -> URNs so far (complaints name some)
        self.serial = 0

    def events(self, count: int) -> list[dict[str, Any]]:
        for area, _force, letters in AREAS:
            self.organisation(area, letters)
        for number in range(1, max(1, round(count / 12_000)) + 1):
            self.inspection(number)
        while len(self.raw) < count:
            where = self.rng.choices(AREAS, weights=(5, 3, 2))[0]
            self.case(*where)
            if self.rng.random() < 0.05:
                self.complaint(where[0])
            if self.rng.random() < 0.004:
                self.staff_change(where[0])
        # The last story is cut short: it just has not finished yet.
        return self.envelopes(self.raw[:count])

    def add(self, when: datetime, source: str, type_: str, **data: Any) -> None:
        if when.date() <= END:  # later parts of a story have not happened yet
            self.raw.append((when, source, type_, data))

    def at(self, day: date, first_hour: int = 9, last_hour: int = 17) -> datetime:
        hour = self.rng.randint(first_hour, last_hour)
        return datetime(
            day.year,
            day.month,
            day.day,
            hour,
            self.rng.randrange(60),
            self.rng.randrange(60),
            tzinfo=LONDON,
        )

    def working(self, day: date, after: int = 0) -> date:
        """`after` weekdays after `day` (0: `day` itself, moved off a weekend)."""
        while day.weekday() >= 5:
            day += timedelta(1)
        for _ in range(after):
            day += timedelta(1)
            while day.weekday() >= 5:
                day += timedelta(1)
        return day

    def pick(self, area: str, unit: str | None, role: str) -> str:
        return self.rng.choice(self.staff[(area, unit or "", role)])

    # organisation

    def organisation(self, area: str, letters: str) -> None:
        people: list[tuple[str, str, str | None, str | None]] = [
            (f"{letters}-CCP1", "ccp", None, None),
            (f"{letters}-DCCP1", "dccp", None, f"{letters}-CCP1"),
            (f"{letters}-ABM1", "abm", None, f"{letters}-CCP1"),
        ]
        for unit, _share in UNITS:
            manager = f"{letters}-{unit[:3].upper()}-LM1"
            for role, count in ROLES_PER_UNIT:
                for k in range(1, count + 1):
                    staff_id = f"{letters}-{unit[:3].upper()}-{_initials(role)}{k}"
                    boss = f"{letters}-DCCP1" if role == "legal-manager" else manager
                    people.append((staff_id, role, unit, boss))
        for staff_id, role, unit_or_none, line_manager in people:
            self.staff.setdefault((area, unit_or_none or "", role), []).append(staff_id)
            self.add(
                self.at(START - timedelta(7), 7, 8),
                f"/cms/{area}",
                "staff-updated",
                **self.person(staff_id, role, area, unit_or_none, line_manager),
            )
        self.urns[area] = []

    def person(
        self, staff_id: str, role: str, area: str, unit: str | None, boss: str | None
    ) -> dict[str, Any]:
        name = f"Officer {staff_id.replace('-', ' ').title()}"
        email = f"{staff_id.lower()}@{area}.cps.example"
        return {
            "staff_id": staff_id,
            "name": name,
            "email": email,
            "role": role,
            "area": area,
            "unit": unit,
            "line_manager": boss,
        }

    def staff_change(self, area: str) -> None:
        """Someone moves unit or changes role: a later event replacing their details."""
        unit = self.rng.choice([u for u, _ in UNITS])
        staff_id = self.pick(area, unit, "prosecutor")
        boss = self.pick(area, unit, "legal-manager")
        role = self.rng.choice(["prosecutor", "prosecutor", "legal-manager"])
        day = START + timedelta(self.rng.randrange((END - START).days))
        self.add(
            self.at(day),
            f"/cms/{area}",
            "staff-updated",
            **self.person(staff_id, role, area, unit, boss),
        )

    # casework

    def case(self, area: str, force: str, letters: str) -> None:
        rng, source = self.rng, f"/cms/{area}"
        self.serial += 1
        urn = f"{force}{letters}{self.serial:05d}{rng.choice(('25', '26', '26'))}"
        self.urns[area].append(urn)
        unit = rng.choices([u for u, _ in UNITS], weights=[w for _, w in UNITS])[0]
        owner = self.pick(area, unit, "prosecutor")
        registered = self.working(START + timedelta(rng.randrange((END - START).days)))
        self.add(
            self.at(registered),
            source,
            "case-registered",
            urn=urn,
            area=area,
            unit=unit,
            owner=owner,
        )
        court_type = "magistrates" if unit == "magistrates" else "crown"
        court = f"{rng.choice(('Reading', 'Oxford', 'Maidstone', 'Winchester'))} " + (
            "Magistrates' Court" if court_type == "magistrates" else "Crown Court"
        )
        first = self.working(registered + timedelta(rng.randint(7, 28)))
        last = self.hearings(source, urn, area, unit, court, court_type, registered, first)
        custody = rng.random() < {"magistrates": 0.12, "crown": 0.3, "rasso": 0.35}[unit]
        if custody:
            for d in range(1, rng.choices((1, 2, 3), weights=(85, 12, 3))[0] + 1):
                self.custody(source, urn, area, unit, f"{urn}-D{d}", first, last)
        if rng.random() < 0.3:
            for v in range(1, rng.choice((1, 1, 1, 2)) + 1):
                enhanced = unit == "rasso" or rng.random() < 0.3
                decided = self.working(registered + timedelta(rng.randint(0, 60)))
                self.victim(source, urn, f"{urn}-V{v}", decided, enhanced)
        if rng.random() < 0.8:
            self.finalise(source, urn, self.working(last + timedelta(rng.randint(0, 3))))

    def hearings(
        self,
        source: str,
        urn: str,
        area: str,
        unit: str,
        court: str,
        court_type: str,
        listed_on: date,
        day: date,
    ) -> date:
        """Listings until a hearing is held (with more for Crown cases); the last hearing day."""
        rng = self.rng
        wanted = rng.choice((1, 1, 1, 2)) if court_type == "magistrates" else rng.randint(1, 3)
        held = number = 0
        while held < wanted and number < 8:
            number += 1
            advocate = self.pick(area, unit, "advocate") if rng.random() < 0.7 else None
            hearing = {
                "urn": urn,
                "hearing_id": f"H{number}",
                "court": court,
                "court_type": court_type,
                "advocate": advocate,
            }
            if advocate is None:
                del hearing["advocate"]
            if rng.random() < 0.65:  # courts list some hearings without a separate update
                self.add(
                    self.at(listed_on),
                    source,
                    "hearing-updated",
                    **hearing,
                    hearing_date=str(day),
                    status="listed",
                )
            fate = rng.choices(("held", "adjourned", "vacated"), weights=(72, 17, 11))[0]
            self.add(
                self.at(day, 14, 18),
                source,
                "hearing-updated",
                **hearing,
                hearing_date=str(day),
                status=fate,
            )
            if fate == "held":
                held += 1
                self.after_held(source, hearing, day)
            listed_on, day = day, self.working(day + timedelta(rng.randint(14, 56)))
        return listed_on

    def after_held(self, source: str, hearing: dict[str, Any], day: date) -> None:
        rng = self.rng
        story = rng.random()
        if story < 0.03:  # keyed with the wrong date, corrected the next morning
            self.add(
                self.at(self.working(day, 1), 8, 10),
                source,
                "hearing-updated",
                **hearing,
                hearing_date=str(day - timedelta(1)),
                status="held",
            )
        elif story < 0.05:  # recorded as held in error: it had been vacated
            self.add(
                self.at(self.working(day, 1), 8, 12),
                source,
                "hearing-updated",
                **hearing,
                hearing_date=str(day),
                status="vacated",
            )
            return
        if rng.random() < 0.86:
            late = rng.choices((0, 1, rng.randint(2, 8)), weights=(50, 32, 18))[0]
            uploaded = self.working(day, late)
            uploader = hearing.get("advocate") or f"{hearing['urn']}-AGENT"
            self.add(
                self.at(uploaded, 8, 19),
                source,
                "hearing-record-sheet-uploaded",
                urn=hearing["urn"],
                hearing_id=hearing["hearing_id"],
                uploaded_by=uploader,
                uploaded_date=str(uploaded),
            )

    def custody(
        self, source: str, urn: str, area: str, unit: str, defendant: str, start: date, last: date
    ) -> None:
        rng = self.rng
        prior = 0
        if unit == "magistrates":
            limit, days = rng.choice((("summary-56", 56), ("either-way-70", 70)))
        else:
            limit, days = "crown-182", 182
            prior = rng.choice((0, 0, 0, rng.randint(1, 60)))
        expiry = start + timedelta(days - prior)
        ctl = {"urn": urn, "defendant_id": defendant}
        extra: dict[str, Any] = {"prior_custody_days": prior} if prior else {}
        if rng.random() < 0.05:
            extra["expires_on"] = str(self.working(expiry) - timedelta(3))
        self.add(
            self.at(start, 10, 17),
            source,
            "custody-time-limit-set",
            **ctl,
            limit=limit,
            custody_start=str(start),
            **extra,
        )
        if rng.random() < 0.65:
            reviewed = self.working(expiry - timedelta(28 + rng.randint(-7, 10)))
            self.add(
                self.at(reviewed),
                source,
                "custody-time-limit-reviewed",
                **ctl,
                reviewed_date=str(reviewed),
                reviewed_by=self.pick(area, unit, "legal-manager"),
            )
        for _extension in range(2):
            if rng.random() >= 0.15:
                break
            asked = self.working(expiry - timedelta(rng.randint(3, 14)))
            expiry += timedelta(rng.randint(28, 84))
            self.add(
                self.at(asked),
                source,
                "custody-time-limit-ended",
                **ctl,
                reason="extended",
                new_expires_on=str(expiry),
            )
        if rng.random() < 0.9:
            reason = rng.choices(("trial-started", "released", "case-finalised"), (5, 3, 2))[0]
            ended = min(last, expiry - timedelta(rng.randint(0, 20)))
            ended = max(ended, start + timedelta(1))
            self.add(
                self.at(ended, 10, 18), source, "custody-time-limit-ended", **ctl, reason=reason
            )

    def victim(self, source: str, urn: str, victim: str, decided: date, enhanced: bool) -> None:
        rng = self.rng
        decision = rng.choices(("discontinued", "charge-altered", "no-charge"), (5, 3, 2))[0]
        self.add(
            self.at(decided, 11, 17),
            source,
            "victim-letter-due",
            urn=urn,
            victim_id=victim,
            decision=decision,
            decision_date=str(decided),
            enhanced=enhanced,
        )
        if rng.random() < 0.85:
            allowed = 1 if enhanced else 5
            late = rng.random() < 0.2
            sent = self.working(
                decided, allowed + rng.randint(1, 6) if late else rng.randint(0, allowed)
            )
            self.add(
                self.at(sent),
                source,
                "victim-letter-sent",
                urn=urn,
                victim_id=victim,
                sent_date=str(sent),
            )
        if decision != "charge-altered" and rng.random() < 0.12:
            self.vrr(source, urn, victim, decision, decided)

    def vrr(self, source: str, urn: str, victim: str, decision: str, decided: date) -> None:
        rng = self.rng
        request = f"{urn}-VRR{victim[-1]}"
        requested = self.working(decided + timedelta(rng.randint(2, 60)))
        for stage in ("local-resolution", "independent-review"):
            self.add(
                self.at(requested),
                source,
                "vrr-requested",
                request_id=request,
                urn=urn,
                victim_id=victim,
                decision=decision,
                decision_date=str(decided),
                requested_date=str(requested),
                stage=stage,
            )
            if rng.random() >= 0.85:
                return
            concluded = self.working(requested, rng.randint(3, 35))
            outcome = rng.choices(("upheld", "overturned", "withdrawn"), (6, 2, 2))[0]
            self.add(
                self.at(concluded),
                source,
                "vrr-concluded",
                request_id=request,
                urn=urn,
                stage=stage,
                outcome=outcome,
                concluded_date=str(concluded),
            )
            if outcome != "upheld" or rng.random() >= 0.25:
                return
            requested = self.working(concluded + timedelta(rng.randint(3, 20)))

    def finalise(self, source: str, urn: str, day: date) -> None:
        rng = self.rng
        if rng.random() < 0.8:
            self.add(
                self.at(day, 12, 18),
                source,
                "case-finalised",
                urn=urn,
                finalised_date=str(day),
                outcome=rng.choice(OUTCOMES_OK),
                successful=True,
            )
            return
        outcome, code = rng.choice(OUTCOMES_BAD)
        if rng.random() < 0.75:
            self.add(
                self.at(day, 12, 18),
                source,
                "case-finalised",
                urn=urn,
                finalised_date=str(day),
                outcome=outcome,
                successful=False,
                unsuccessful_reason_code=code,
            )
            return
        self.add(
            self.at(day, 12, 18),
            source,
            "case-finalised",
            urn=urn,
            finalised_date=str(day),
            outcome=outcome,
            successful=False,
        )
        if rng.random() < 0.6:  # the reason code added later, on time or not
            fixed = self.working(day, rng.randint(1, 9))
            self.add(
                self.at(fixed),
                source,
                "case-finalised",
                urn=urn,
                finalised_date=str(fixed),
                outcome=outcome,
                successful=False,
                unsuccessful_reason_code=code,
            )

    def complaint(self, area: str) -> None:
        rng, source = self.rng, f"/cms/{area}"
        self.serial += 1
        complaint = f"CMP-{area[:2].upper()}-{self.serial:06d}"
        received = self.working(START + timedelta(rng.randrange((END - START).days)))
        urn = {"urn": rng.choice(self.urns[area])} if self.urns[area] and rng.random() < 0.6 else {}
        for stage in (1, 2):
            self.add(
                self.at(received),
                source,
                "complaint-received",
                complaint_id=complaint,
                area=area,
                received_date=str(received),
                stage=stage,
                **urn,
            )
            if rng.random() >= 0.9:
                return
            answered = self.working(received, rng.choice((rng.randint(5, 20), rng.randint(15, 30))))
            self.add(
                self.at(answered),
                source,
                "complaint-responded",
                complaint_id=complaint,
                stage=stage,
                responded_date=str(answered),
            )
            if rng.random() >= 0.12:
                return
            received = self.working(answered + timedelta(rng.randint(5, 25)))

    # inspection follow-up

    def inspection(self, number: int) -> None:
        rng = self.rng
        area, _force, letters = AREAS[(number - 1) % len(AREAS)]
        inspection = f"INS-2026-{number:03d}"
        published = self.working(START + timedelta(rng.randint(0, 150)))
        kind = rng.choice(("area-assurance", "area-assurance", "thematic", "follow-up"))
        ratings = {c: rng.choice(("good", "fair", "poor")) for c in ("casework", "victims", "ctl")}
        self.add(
            self.at(published),
            INSPECTION_SOURCE,
            "inspection-published",
            inspection_id=inspection,
            title=f"{area.title()} {kind} inspection {number}",
            kind=kind,
            area=area,
            published_date=str(published),
            ratings=ratings,
        )
        for r in range(1, rng.randint(4, 8) + 1):
            recommendation = f"{inspection}-R{r}"
            due = self.working(published + timedelta(rng.randint(90, 270)))
            self.add(
                self.at(published, 9, 10),
                INSPECTION_SOURCE,
                "recommendation-issued",
                inspection_id=inspection,
                recommendation_id=recommendation,
                number=r,
                kind=rng.choice(("recommendation", "issue-to-address")),
                text=f"The Area should improve practice {r}",
                area=area,
                due_date=str(due),
            )
            for a in range(1, rng.randint(1, 3) + 1):
                self.action(area, letters, recommendation, f"{recommendation}-A{a}", published)
            if rng.random() < 0.4:
                assessed = self.working(published + timedelta(rng.randint(150, 300)))
                rating = rng.choices(
                    ("achieved", "partially-achieved", "not-achieved", "no-longer-relevant"),
                    (4, 3, 2, 1),
                )[0]
                self.add(
                    self.at(assessed),
                    INSPECTION_SOURCE,
                    "follow-up-assessed",
                    recommendation_id=recommendation,
                    rating=rating,
                    assessed_by=f"HMCPSI-I{rng.randint(1, 9)}",
                    assessed_date=str(assessed),
                )

    def action(
        self, area: str, letters: str, recommendation: str, action: str, published: date
    ) -> None:
        rng = self.rng
        owner = rng.choice(
            (f"{letters}-ABM1", f"{letters}-DCCP1", self.pick(area, "crown", "legal-manager"))
        )
        committed = self.working(published + timedelta(rng.randint(14, 42)))
        base = {
            "recommendation_id": recommendation,
            "action_id": action,
            "response": rng.choices(("agreed", "partly-agreed", "not-agreed"), (7, 2, 1))[0],
            "text": f"Action {action}",
            "owner": owner,
        }
        if rng.random() < 0.6:
            due = self.working(committed + timedelta(rng.randint(30, 180)))
            self.add(
                self.at(committed), RESPONSE_SOURCE, "response-committed", **base, due_date=str(due)
            )
            if rng.random() < 0.6:
                done = self.working(committed + timedelta(rng.randint(20, 200)))
                self.add(
                    self.at(done),
                    RESPONSE_SOURCE,
                    "action-completed",
                    action_id=action,
                    completed_date=str(done),
                    completed_by=owner,
                )
            return
        every, step = rng.choices((("weekly", 7), ("monthly", 30), ("quarterly", 91)), (2, 6, 3))[0]
        starts = committed + timedelta(rng.randint(0, 14))
        ends = starts + timedelta(rng.randint(120, 360)) if rng.random() < 0.5 else None
        self.add(
            self.at(committed),
            RESPONSE_SOURCE,
            "response-committed",
            **base,
            recurrence=every,
            starts=str(starts),
            ends=None if ends is None else str(ends),
        )
        day, stop = starts, min(ends or END, END)
        while day <= stop:
            if rng.random() < 0.85:
                recorded = self.working(day + timedelta(rng.randint(0, step - 1)))
                self.add(
                    self.at(recorded),
                    RESPONSE_SOURCE,
                    "action-evidence-recorded",
                    action_id=action,
                    evidence=f"https://sharepoint.example/{action}/{day}",
                    recorded_by=owner,
                    recorded_date=str(recorded),
                )
            day += timedelta(step)
        if ends is None and rng.random() < 0.2:
            done = self.working(starts + timedelta(rng.randint(60, 240)))
            self.add(
                self.at(done),
                RESPONSE_SOURCE,
                "action-completed",
                action_id=action,
                completed_date=str(done),
                completed_by=owner,
            )

    # envelopes

    def envelopes(self, raw: list[Raw]) -> list[dict[str, Any]]:
        """In the order things happened; ids follow that order within each source."""
        counters: Counter[str] = Counter()
        events = []
        for when, source, type_, data in sorted(raw, key=lambda r: r[0]):
            counters[source] += 1
            event = {
                "specversion": "1.0",
                "id": f"{source.strip('/').replace('/', '-')}-{counters[source]:08d}",
                "source": source,
                "type": type_,
                "time": when.isoformat(),
                **({"subject": data["urn"]} if "urn" in data else {}),
                "datacontenttype": "application/json",
                "data": data,
            }
            events.append(event)
        return events


def _initials(role: str) -> str:
    return "".join(part[0] for part in role.split("-")).upper()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=int, nargs="?", default=10_000)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    lines = mix_lines(args.events, seed=args.seed)
    sys.stdout.writelines(f"{line}\n" for line in lines)
    for type_, count in type_counts(lines).most_common():
        print(f"{count:8d} {count / len(lines):6.1%}  {type_}", file=sys.stderr)
    unique = {(e["source"], e["id"]) for e in map(json.loads, lines)}
    print(f"{len(lines)} events, {len(lines) - len(unique)} duplicates", file=sys.stderr)
    bad = validate(lines)
    print(f"{len(bad)} rejected by the contract {bad[:3]}", file=sys.stderr)


if __name__ == "__main__":
    main()
