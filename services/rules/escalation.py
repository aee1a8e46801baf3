"""The `escalation` block of a rule in a pack: who hears at each warning, at the lapse and
after it. Read by the lapse clock (services/lapse); the engine never looks at it."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.rules.pack import ROLES, EscalationStep

_AFTER_LAPSE = re.compile(r"^(\d+) working days? after lapse$")
AT_FORMS = "'warning', 'lapse' or 'N working days after lapse' (N of 1 or more)"


class EscalationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: str
    to: list[str] = Field(min_length=1)

    @field_validator("at")
    @classmethod
    def _readable_at(cls, at: str) -> str:
        text = at.strip()
        found = _AFTER_LAPSE.match(text)
        if text not in ("warning", "lapse") and not (found and int(found.group(1)) >= 1):
            raise ValueError(f"cannot read {at!r}; expected {AT_FORMS}")
        return text

    @field_validator("to")
    @classmethod
    def _known_roles(cls, to: list[str]) -> list[str]:
        unknown = [role for role in to if role not in ROLES]
        if unknown:
            raise ValueError(f"unknown role {unknown[0]!r}; roles are {', '.join(ROLES)}")
        return list(dict.fromkeys(to))

    def build(self) -> EscalationStep:
        found = _AFTER_LAPSE.match(self.at)
        if found:
            return EscalationStep("after", tuple(self.to), after=int(found.group(1)))
        return EscalationStep("warning" if self.at == "warning" else "lapse", tuple(self.to))


def escalation_problems(steps: list[EscalationSpec] | None, *, warns: bool) -> list[str]:
    """Problems a rule's escalation has as a whole, each naming its field."""
    problems: list[str] = []
    seen: set[str] = set()
    for i, step in enumerate(steps or ()):
        if step.at in seen:
            problems.append(f"escalation.{i}.at: {step.at!r} is given more than once")
        seen.add(step.at)
        if step.at == "warning" and not warns:
            problems.append(f"escalation.{i}.at: the rule has no warnings (warn) to escalate at")
    if steps is not None and "lapse" not in seen:
        problems.append("escalation: name who hears at the lapse ('at: lapse')")
    return problems
