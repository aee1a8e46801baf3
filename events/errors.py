"""The one exception every malformed event turns into."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

FIELD_RULE = "field_rule"  # error type of envelope.field_error, which carries its field in ctx


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
    field = ".".join(str(part) for part in loc)
    return (field or None, reason)
