"""Load a rule pack from YAML into the engine's rule objects, or say exactly what is wrong.

Every problem is reported at once, each naming its rule and field, and fields are checked
against the contract's event schemas so a typo cannot reach a running service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from events import ALL_TYPES
from events.registry import data_model_for
from services.rules.due import (
    AsGiven,
    CalendarDaysAfter,
    CustodyExpiry,
    Due,
    PeriodEnd,
    WorkingDaysAfter,
    WorkingDaysAfterMonthEnd,
    WorkingDaysBefore,
)
from services.rules.escalation import EscalationSpec, escalation_problems
from services.rules.pack import (
    DEFAULT_ESCALATION,
    Match,
    OwnerFrom,
    Present,
    QuotaSpec,
    RecurrenceSpec,
    Renewal,
    Rule,
    SampleSpec,
    field_name,
)

_NUMBER = r"(\d+|\{[a-z_]+\})"
_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^\+{_NUMBER} working days? after end of month of ([a-z_]+)$"), "month-end"),
    (re.compile(rf"^\+{_NUMBER} working days? after ([a-z_]+)$"), "working"),
    (re.compile(rf"^-{_NUMBER} working days? before ([a-z_]+)$"), "before"),
    (re.compile(rf"^\+{_NUMBER} calendar days? after ([a-z_]+)$"), "calendar"),
    (re.compile(r"^custody-time-limit expiry$"), "expiry"),
    (re.compile(rf"^custody-time-limit expiry - {_NUMBER} (?:calendar )?days?$"), "expiry"),
    (re.compile(r"^end of recurrence period$"), "period"),
    (re.compile(r"^([a-z_]+)(?: as is)?$"), "given"),
)
DUE_FORMS = (
    "'+N working days after FIELD', '+N working days after end of month of FIELD', "
    "'+N calendar days after FIELD', '-N working days before FIELD', 'FIELD as is', "
    "'custody-time-limit expiry', 'custody-time-limit expiry - N days', "
    "'end of recurrence period' (N may name a pack setting as {name})"
)


class RulePackError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _FieldProblem(ValueError):
    """A problem found while building a rule, in a field other than its due expression."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PresentSpec(_Strict):
    present: bool


Condition = dict[str, str | int | bool | list[str | int | bool] | PresentSpec | None]


def _due(expression: str) -> str:
    if not any(pattern.match(expression.strip()) for pattern, _ in _FORMS):
        raise ValueError(f"cannot read due expression {expression!r}; expected {DUE_FORMS}")
    return expression


class MatchSpec(_Strict):
    event: str
    key: list[str] = Field(default_factory=list)
    when: Condition = Field(default_factory=dict)
    date: str | None = None
    later: bool = False
    via: str | None = None
    link: str | None = None
    before_due: bool = False
    same: list[str] = Field(default_factory=list)
    latest: bool = False

    @field_validator("event")
    @classmethod
    def _known_event(cls, event: str) -> str:
        if event not in ALL_TYPES:
            raise ValueError(f"unknown event type {event!r}")
        return event

    def build(self) -> Match:
        return Match(
            self.event,
            tuple(self.key),
            when=_conditions(self.when),
            date_field=self.date,
            later=self.later,
            via=self.via,
            before_due=self.before_due,
            link=self.link,
            same=tuple(self.same),
            latest=self.latest,
        )


def _conditions(when: Condition) -> dict[str, Any]:
    return {
        name: Present(value.present) if isinstance(value, PresentSpec) else value
        for name, value in when.items()
    }


class _HasDue(_Strict):
    due: str

    @field_validator("due")
    @classmethod
    def _readable(cls, due: str) -> str:
        return _due(due)


class DueWhen(_HasDue):
    when: Condition


class RenewSpec(MatchSpec, _HasDue):
    pass


class RecurrenceFields(_Strict):
    every: str
    starts: str
    ends: str


class SampleFields(_Strict):
    percent: int | str  # a number, or a pack setting named as {name}
    month: str
    item: list[str] = Field(min_length=1)


class QuotaFields(_Strict):
    count: int | str  # a number, or a pack setting named as {name}
    item: list[str] = Field(min_length=1)


class OwnerFromSpec(MatchSpec):
    field: str


class RuleSpec(_HasDue):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    source: str
    unconfirmed: bool = False  # guidance leaves the interval open: an Area may change it
    opens: MatchSpec
    due_when: list[DueWhen] = Field(default_factory=list)
    closes: list[MatchSpec] = Field(min_length=1)
    cancels: list[MatchSpec] = Field(default_factory=list)
    renews: list[RenewSpec] = Field(default_factory=list)
    recurrence: RecurrenceFields | None = None
    sample: SampleFields | None = None
    quota: QuotaFields | None = None
    owner: str | None = None
    owner_from: OwnerFromSpec | None = None
    due_from: MatchSpec | None = None
    area: str | None = None
    warn: list[int] = Field(default_factory=list)
    # Who hears at each warning, at the lapse and after it (the lapse clock); absent, the
    # owner at warnings and the owner and their line manager at the lapse.
    escalation: list[EscalationSpec] | None = None
    business: bool = False  # the ABM is copied at the lapse

    @field_validator("warn")
    @classmethod
    def _positive(cls, warn: list[int]) -> list[int]:
        if any(days < 1 for days in warn):
            raise ValueError("warnings are working days before due, 1 or more")
        return sorted(set(warn), reverse=True)


class SettingSpec(_Strict):
    value: int = Field(ge=0)
    unconfirmed: bool = False
    source: str


class PackSpec(_Strict):
    version: int = 1
    settings: dict[str, SettingSpec] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(min_length=1)  # each validated on its own, below


def parse_due(expression: str, settings: Mapping[str, SettingSpec]) -> Due:
    for pattern, form in _FORMS:
        found = pattern.match(expression.strip())
        if not found:
            continue
        groups = found.groups()
        if form == "working":
            return WorkingDaysAfter(_number(groups[0], settings), groups[1])
        if form == "before":
            return WorkingDaysBefore(_number(groups[0], settings), groups[1])
        if form == "month-end":
            return WorkingDaysAfterMonthEnd(_number(groups[0], settings), groups[1])
        if form == "calendar":
            return CalendarDaysAfter(_number(groups[0], settings), groups[1])
        if form == "expiry":
            return CustodyExpiry(_number(groups[0], settings) if groups else 0)
        if form == "period":
            return PeriodEnd()
        return AsGiven(groups[0])
    raise ValueError(f"cannot read due expression {expression!r}; expected {DUE_FORMS}")


def _number(text: str, settings: Mapping[str, SettingSpec]) -> int:
    if not text.startswith("{"):
        return int(text)
    name = text.strip("{}")
    if name not in settings:
        raise ValueError(f"no pack setting named {name!r}")
    return settings[name].value


def load_pack(path: Path | None = None) -> tuple[Rule, ...]:
    """The shipped default pack, or an Area's own file."""
    if path is None:
        text = resources.files("services.rules").joinpath("default-pack.yaml").read_text("utf-8")
        return parse_pack(text, origin="default-pack.yaml")
    try:
        text = path.read_text("utf-8")
    except OSError as error:
        raise RulePackError([f"{path}: cannot read: {error.strerror}"]) from error
    return parse_pack(text, origin=str(path))


def parse_pack(text: str, *, origin: str) -> tuple[Rule, ...]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RulePackError([f"{origin}: not valid YAML: {error}"]) from error
    try:
        pack = PackSpec.model_validate(raw)
    except ValidationError as error:
        raise RulePackError([_describe(origin, raw, e) for e in error.errors()]) from error
    problems: list[str] = []
    specs: list[RuleSpec] = []
    for i, raw_rule in enumerate(pack.rules):
        try:
            specs.append(RuleSpec.model_validate(raw_rule))
        except ValidationError as error:
            problems += [
                _describe(origin, raw, {**e, "loc": ("rules", i, *e["loc"])})
                for e in error.errors()
            ]
    ids = [spec.id for spec in specs]
    problems += [
        f"{origin}: rule {i}: id used more than once"
        for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    rules = []
    for spec in specs:
        found = [f"{origin}: rule {spec.id}: {p}" for p in check_fields(spec)]
        if not found:
            try:
                rules.append(build_rule(spec, pack.settings))
            except ValueError as error:
                where = error.field if isinstance(error, _FieldProblem) else "due"
                found.append(f"{origin}: rule {spec.id}: {where}: {error}")
        problems += found
    if problems:
        raise RulePackError(problems)
    return tuple(rules)


def build_rule(spec: RuleSpec, settings: Mapping[str, SettingSpec]) -> Rule:
    recurrence = spec.recurrence
    return Rule(
        id=spec.id,
        title=spec.title,
        source=spec.source,
        opens=spec.opens.build(),
        due=parse_due(spec.due, settings),
        closes=tuple(m.build() for m in spec.closes),
        cancels=tuple(m.build() for m in spec.cancels),
        due_when=tuple((_conditions(o.when), parse_due(o.due, settings)) for o in spec.due_when),
        renews=tuple(Renewal(r.build(), parse_due(r.due, settings)) for r in spec.renews),
        recurrence=(
            RecurrenceSpec(recurrence.every, recurrence.starts, recurrence.ends)
            if recurrence
            else None
        ),
        owner_field=spec.owner,
        area_field=spec.area,
        sample=_sample(spec.sample, settings),
        owner_from=(
            OwnerFrom(spec.owner_from.build(), spec.owner_from.field) if spec.owner_from else None
        ),
        due_from=spec.due_from.build() if spec.due_from else None,
        quota=_quota(spec.quota, settings),
        warnings=tuple(spec.warn),
        escalation=(
            tuple(step.build() for step in spec.escalation)
            if spec.escalation is not None
            else DEFAULT_ESCALATION
        ),
        business=spec.business,
        unconfirmed=spec.unconfirmed
        or any(_uses_unconfirmed(d, settings) for d in _due_texts(spec)),
    )


def _sample(found: SampleFields | None, settings: Mapping[str, SettingSpec]) -> SampleSpec | None:
    if found is None:
        return None
    try:
        percent = _number(str(found.percent), settings)
    except ValueError as error:
        raise _FieldProblem("sample.percent", str(error)) from None
    if not 0 < percent <= 100:
        raise _FieldProblem("sample.percent", f"must be 1 to 100, not {percent}")
    return SampleSpec(percent, found.month, tuple(found.item))


def _quota(found: QuotaFields | None, settings: Mapping[str, SettingSpec]) -> QuotaSpec | None:
    if found is None:
        return None
    try:
        count = _number(str(found.count), settings)
    except ValueError as error:
        raise _FieldProblem("quota.count", str(error)) from None
    if count < 1:
        raise _FieldProblem("quota.count", f"must be 1 or more, not {count}")
    return QuotaSpec(count, tuple(found.item))


def check_fields(spec: RuleSpec) -> list[str]:
    """Problems with the field names a rule reads, checked against the event schemas."""
    problems: list[str] = []
    opening = spec.opens.event

    def need(event: str, name: str | None, where: str) -> None:
        if name is not None and name not in _fields(event):
            problems.append(f"{where}: event {event} has no field {name!r}")

    def check_match(match: MatchSpec, where: str) -> None:
        if not match.key and not match.via:
            problems.append(f"{where}.key: name the fields that identify the thing tracked")
        for name in match.key:
            need(match.event, field_name(name), f"{where}.key")
        for name in match.when:
            need(match.event, name, f"{where}.when")
        need(match.event, match.date, f"{where}.date")
        if match.via:
            need(match.event, match.via, f"{where}.via")
            need(
                opening, match.link or match.via, f"{where}.link" if match.link else f"{where}.via"
            )
        for name in match.same:
            need(match.event, name, f"{where}.same")
            need(opening, name, f"{where}.same")

    check_match(spec.opens, "opens")
    if spec.opens.via:
        problems.append("opens.via: an opening event is tracked by its own key")
    for i, match in enumerate(spec.closes):
        check_match(match, f"closes.{i}")
    for i, match in enumerate(spec.cancels):
        check_match(match, f"cancels.{i}")
    for i, renewal in enumerate(spec.renews):
        check_match(renewal, f"renews.{i}")
        for name in _due_fields(renewal.due):
            need(renewal.event, name, f"renews.{i}.due")
    # The due expression reads the `due_from` event when there is one, else the opening event.
    dated_by = spec.due_from.event if spec.due_from else opening
    for where, text in [("due", spec.due)] + [
        (f"due_when.{i}.due", o.due) for i, o in enumerate(spec.due_when)
    ]:
        for name in _due_fields(text):
            need(dated_by, name, where)
    for i, override in enumerate(spec.due_when):
        for name in override.when:
            need(opening, name, f"due_when.{i}.when")
    if spec.owner_from:
        check_match(spec.owner_from, "owner_from")
        need(spec.owner_from.event, spec.owner_from.field, "owner_from.field")
        if not spec.owner_from.via:
            problems.append("owner_from.via: name the field that reaches the opening events")
    if spec.due_from:
        check_match(spec.due_from, "due_from")
        if not spec.due_from.via:
            problems.append("due_from.via: name the field that reaches the opening events")
        if spec.recurrence or spec.renews or spec.sample:
            problems.append("due_from: a rule dated by another event cannot recur, renew or sample")
    if spec.sample:
        need(opening, spec.sample.month, "sample.month")
        for name in spec.sample.item:
            need(opening, name, "sample.item")
        if spec.recurrence or spec.renews:
            problems.append("sample: a sampled rule cannot also recur or renew")
    if spec.quota:
        for i, match in enumerate(spec.closes):
            for name in spec.quota.item:
                need(match.event, name, f"closes.{i}: quota.item")
        if spec.recurrence or spec.renews or spec.sample:
            problems.append("quota: a rule with a quota cannot also recur, renew or sample")
    need(opening, spec.owner, "owner")
    need(opening, spec.area, "area")
    periodic = spec.due.strip() == "end of recurrence period"
    if spec.recurrence:
        for name in (spec.recurrence.every, spec.recurrence.starts, spec.recurrence.ends):
            need(opening, name, "recurrence")
        if not periodic:
            problems.append("due: a recurring rule is due at the 'end of recurrence period'")
        if spec.renews:
            problems.append("renews: a recurring rule cannot also renew")
    elif periodic:
        problems.append("recurrence: 'end of recurrence period' needs a recurrence block")
    problems += escalation_problems(spec.escalation, warns=bool(spec.warn))
    return problems


def _fields(event: str) -> set[str]:
    return set(data_model_for(event).model_fields)


def _due_fields(text: str) -> tuple[str, ...]:
    try:
        return parse_due(text, _AnySettings()).fields
    except ValueError:
        return ()


def _due_texts(spec: RuleSpec) -> list[str]:
    return [spec.due, *(o.due for o in spec.due_when), *(r.due for r in spec.renews)]


def _uses_unconfirmed(text: str, settings: Mapping[str, SettingSpec]) -> bool:
    return any(settings[n].unconfirmed for n in re.findall(r"\{([a-z_]+)\}", text) if n in settings)


class _AnySettings(dict[str, SettingSpec]):
    """Resolves every name, for reading which fields a due expression uses."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> SettingSpec:
        return SettingSpec(value=0, source="")


def _describe(origin: str, raw: Any, error: Any) -> str:
    """'pack.yaml: rule victim-letter: due: cannot read ...' rather than pydantic's loc tuple."""
    loc = list(error["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = raw.get("rules") if isinstance(raw, dict) else None
        rule = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
        name = rule.get("id") if isinstance(rule, dict) and rule.get("id") else f"#{loc[1] + 1}"
        where, loc = f"rule {name}: ", loc[2:]
    field = ".".join(str(part) for part in loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{origin}: {where}{field + ': ' if field else ''}{message}"
