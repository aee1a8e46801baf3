"""The one exception every malformed event turns into."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

FIELD_RULE = "field_rule"  # error type of envelope.field_error, which carries its field in ctx
# What a field of each kind must be on the wire, by pydantic's error type: a refusal reads
# "expected a JSON boolean (true or false), got the string "yes"".
EXPECTED = {
    "bool_type": "a JSON boolean (true or false)",
    "int_type": "a JSON integer",
    "float_type": "a JSON number",
    "string_type": "a JSON string",
    "list_type": "a JSON array",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
}
# Errors whose message already says what was expected (or why not); what came is added.
SAYS_EXPECTED = frozenset({"iso_date", "rfc3339", "number", "email"})
SHOWN_CHARACTERS = 40
# pydantic reading a date or time of the right shape that is not on the calendar.
CALENDAR = {
    "date_parsing": "not a date on the calendar",
    "date_from_datetime_parsing": "not a date on the calendar",
    "datetime_parsing": "not a time on the calendar",
    "datetime_from_date_parsing": "not a time on the calendar",
}


class EventRejected(ValueError):
    """An event that cannot be accepted; `field` is None when the input is unreadable as a whole.

    `errors` holds every (field, reason) found; `field` and `reason` are the first of them.
    """

    def __init__(
        self,
        field: str | None,
        reason: str,
        *,
        errors: Sequence[tuple[str | None, str]] = (),
    ) -> None:
        self.field = field
        self.reason = reason
        self.errors: list[tuple[str | None, str]] = list(errors) or [(field, reason)]
        message = f"{field}: {reason}" if field else reason
        if len(self.errors) > 1:
            message += f" (and {len(self.errors) - 1} more)"
        super().__init__(message)

    @classmethod
    def from_errors(cls, errors: Sequence[tuple[str | None, str]]) -> EventRejected:
        field, reason = errors[0]
        return cls(field, reason, errors=errors)

    @classmethod
    def from_validation_error(cls, exc: ValidationError) -> EventRejected:
        return cls.from_errors([_describe(error) for error in exc.errors(include_url=False)])


def _describe(error: ErrorDetails) -> tuple[str | None, str]:
    loc = tuple(error["loc"])
    reason = error["msg"]
    ctx = error.get("ctx", {})
    if error["type"] == FIELD_RULE:
        loc += (ctx["field"],)
        reason = str(ctx["reason"])
    elif error["type"] == "missing":
        reason = "required attribute missing" if len(loc) == 1 else "required field missing"
    elif (expected := EXPECTED.get(error["type"])) is not None:
        reason = f"expected {expected}, got {got(error['input'])}"
    elif error["type"] == "literal_error":
        reason = f"expected {ctx['expected']}, got {got(error['input'])}"
    elif error["type"] in CALENDAR:
        reason = f"{CALENDAR[error['type']]} ({_why(ctx)}), got {got(error['input'])}"
    elif error["type"] in SAYS_EXPECTED:
        reason = f"{reason}, got {got(error['input'])}"
    field = ".".join(str(part) for part in loc)
    return (field or None, reason)


def got(value: object) -> str:
    """What came, as JSON names it; ASCII only, so a refusal is always storable text."""
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, str):
        if len(value) <= SHOWN_CHARACTERS:
            return f"the string {json.dumps(value)}"
        shown = json.dumps(value[:SHOWN_CHARACTERS])[:-1]
        return f'the string {shown}..." ({len(value):,} characters)'
    if isinstance(value, float) or (isinstance(value, int) and value.bit_length() <= 64):
        return f"the number {value!r}"
    if isinstance(value, int):  # too long to show, or even to convert to text
        return "a very large number"
    kinds = {type(None): "null", list: "an array", dict: "an object"}
    return kinds.get(type(value), f"a Python {type(value).__name__}")


def _why(ctx: dict[str, object]) -> str:
    why = str(ctx.get("error", "out of range"))
    # What pydantic says of an hour, minute, second or offset out of range.
    if why.startswith("unexpected extra characters"):
        return "an hour, minute, second or offset out of range"
    return why
