"""Load a rule pack from YAML into the engine's rule objects, or say exactly what is wrong."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from events import ALL_TYPES
from services.rules.pack import Match, Rule, WorkingDaysAfter

_WORKING_DAYS = re.compile(r"^\+(\d+) working days? after ([a-z_]+)$")


class RulePackError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchSpec(_Strict):
    event: str
    key: list[str] = Field(min_length=1)
    when: dict[str, Any] = Field(default_factory=dict)
    date: str | None = None

    @field_validator("event")
    @classmethod
    def _known_event(cls, event: str) -> str:
        if event not in ALL_TYPES:
            raise ValueError(f"unknown event type {event!r}")
        return event

    def build(self) -> Match:
        return Match(self.event, tuple(self.key), when=dict(self.when), date_field=self.date)


class DueWhen(_Strict):
    when: dict[str, Any]
    due: str

    @field_validator("due")
    @classmethod
    def _readable(cls, due: str) -> str:
        _parse_due(due)
        return due


class RuleSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    source: str
    unconfirmed: bool = False  # guidance leaves the interval open: an Area may change it
    opens: MatchSpec
    due: str
    due_when: list[DueWhen] = Field(default_factory=list)
    closes: list[MatchSpec] = Field(min_length=1)
    cancels: list[MatchSpec] = Field(default_factory=list)
    owner: str | None = None
    area: str | None = None

    @field_validator("due")
    @classmethod
    def _readable(cls, due: str) -> str:
        _parse_due(due)
        return due

    @model_validator(mode="after")
    def _overrides_count_from_the_same_field(self) -> RuleSpec:
        after, _ = _parse_due(self.due)
        if any(_parse_due(o.due)[0] != after for o in self.due_when):
            raise ValueError("due_when: must count from the same field as due")
        return self

    def build(self) -> Rule:
        after, days = _parse_due(self.due)
        overrides = tuple((dict(o.when), _parse_due(o.due)[1]) for o in self.due_when)
        return Rule(
            id=self.id,
            title=self.title,
            source=self.source,
            opens=self.opens.build(),
            due=WorkingDaysAfter(after=after, days=days, days_when=overrides),
            closes=tuple(m.build() for m in self.closes),
            cancels=tuple(m.build() for m in self.cancels),
            owner_field=self.owner,
            area_field=self.area,
        )


class PackSpec(_Strict):
    version: int = 1
    rules: list[RuleSpec] = Field(min_length=1)


def _parse_due(expression: str) -> tuple[str, int]:
    found = _WORKING_DAYS.match(expression.strip())
    if not found:
        raise ValueError(
            f"cannot read due expression {expression!r}; expected '+N working days after FIELD'"
        )
    return found.group(2), int(found.group(1))


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
    ids = [rule.id for rule in pack.rules]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise RulePackError([f"{origin}: rule {i}: id used more than once" for i in duplicated])
    return tuple(rule.build() for rule in pack.rules)


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
