"""The CloudEvents 1.0 envelope, the base of every data model, and the field types they share."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    SerializeAsAny,
    Strict,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from events.errors import FIELD_RULE

MAX_DATAVERSION_DIGITS = 9  # int() of a longer digit string is slow or refused outright


def field_error(field: str, reason: str) -> PydanticCustomError:
    """An error from a cross-field rule, reported against `field` rather than the whole model."""
    return PydanticCustomError(FIELD_RULE, "{field}: {reason}", {"field": field, "reason": reason})


def coerce_dataversion(value: object) -> int:
    """`dataversion` as an int; extension attributes often arrive as strings such as "1".

    The one value read from another JSON type (docs/contract.md, section 1, "Decisions:
    strict wire types"): CloudEvents bindings may carry extension attributes as strings."""
    if value is None:
        return 1
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if (
        isinstance(value, str)
        and 0 < len(value) <= MAX_DATAVERSION_DIGITS
        and value.isascii()
        and value.isdigit()
        and int(value) >= 1
    ):
        return int(value)
    raise PydanticCustomError("dataversion", "must be a positive integer such as 1")


# The wire's own forms (docs/contract.md section 1): a date is the text YYYY-MM-DD, a time the
# text of RFC 3339 section 5.6, "T" or "Z" in either case and seconds required. pydantic alone
# would also read a number, or a digit string, as a Unix timestamp. The shape is checked here;
# pydantic then reads the text, lax for these fields alone: strict, it reads a date from a
# string in JSON but not from a Python dict, and parse_event's two paths must agree.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
EXPECTED_DATE = "an ISO date string YYYY-MM-DD"
EXPECTED_TIME = "an RFC 3339 date-time string with an offset, such as 2024-05-03T16:30:00+01:00"


def _iso_date(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("iso_date", "expected {what}", {"what": EXPECTED_DATE})
    return value


def _rfc3339(value: object) -> object:
    if isinstance(value, datetime):  # built in Python: AwareDatetime still wants the offset
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise PydanticCustomError("rfc3339", "expected {what}", {"what": EXPECTED_TIME})
    return value


def require_int(value: object) -> object:
    """Refuse anything but a real int, for use as a BeforeValidator."""
    # Strict mode refuses these too; this also keeps a str from reaching a Literal[1, 2].
    if not isinstance(value, int) or isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# Ids are keys of database indexes (PostgreSQL refuses an index row over ~2.7 kB): 200
# characters is far more than any URN or CMS id needs.
MAX_ID_LENGTH = 200
MAX_SOURCE_LENGTH = 1000  # a URI reference; part of the events_received primary key
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
# Casework dates outside this range are typing errors, and date arithmetic near the ends of
# Python's calendar (year 1, year 9999) overflows: refuse them with a reason instead.
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2199, 12, 31)


def _in_range(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DATE <= day <= LAST_DATE:
        raise PydanticCustomError(
            "date_range",
            "Date should be between {first} and {last}",
            {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()},
        )
    return value


# The wire's forms alone, for what Followup writes itself (events/outbound.py: a due date may
# run past the range of the dates it was computed from); inbound fields also keep the range.
WireDate = Annotated[date, Strict(False), BeforeValidator(_iso_date)]
WireTime = Annotated[AwareDatetime, Strict(False), BeforeValidator(_rfc3339)]
IsoDate = Annotated[WireDate, AfterValidator(_in_range)]
Rfc3339Time = Annotated[WireTime, AfterValidator(_in_range)]
PlainInt = Annotated[int, BeforeValidator(require_int)]
DataVersion = Annotated[
    int,
    BeforeValidator(coerce_dataversion),
    WithJsonSchema(
        {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]+$"}]}
    ),
]


# Strict: a JSON boolean for a bool, an integer for an int, a string for a str; nothing read
# from "yes", 1 or "3" (docs/contract.md, section 1, "Decisions: strict wire types"). Every
# data model inherits it, so a field added later is strict too. Extra fields are not validated.
STRICT = ConfigDict(extra="allow", frozen=True, strict=True)


class EventData(BaseModel):
    """The `data` of an event. Unknown extra fields are kept (and sent on) but ignored."""

    model_config = STRICT

    type_name: ClassVar[str]
    version: ClassVar[int] = 1


class Event(BaseModel):
    """A validated CloudEvents 1.0 event whose `data` is the model for its `type`.

    Build one from the wire with `events.parse_event`; construct one directly only with a typed
    `data` such as `HearingUpdated(...)`.
    """

    model_config = STRICT

    specversion: Literal["1.0"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    source: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SOURCE_LENGTH)]
    type: str
    time: Rfc3339Time
    subject: str | None = None
    datacontenttype: str | None = None
    dataversion: DataVersion = 1
    data: SerializeAsAny[EventData]

    @model_validator(mode="after")
    def _data_matches_type(self) -> Self:
        model = type(self.data)
        if getattr(model, "type_name", None) != self.type or model.version != self.dataversion:
            wanted = f"{self.type} v{self.dataversion}"
            raise field_error("data", f"not a {wanted} model (parse raw data with parse_event)")
        return self

    @property
    def key(self) -> tuple[str, str]:
        """The idempotency key: a second event with the same pair is a duplicate."""
        return (self.source, self.id)

    def to_wire(self) -> dict[str, Any]:
        """The structured-mode CloudEvent as JSON-able values, `data` as it was received."""
        wire = self.model_dump(mode="json", exclude={"data"})
        for optional in ("subject", "datacontenttype"):
            if wire[optional] is None:
                del wire[optional]
        wire["data"] = self.data.model_dump(mode="json", exclude_unset=True)
        return wire

    def to_json(self) -> str:
        # ASCII escapes keep a stray lone surrogate from a JSON "\ud800" encodable downstream.
        return json.dumps(self.to_wire(), separators=(",", ":"))
