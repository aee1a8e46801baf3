"""Events about the organisation: who works where and who manages whom."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from events.envelope import EventData, Id, IsoDate

Role = Literal[
    "prosecutor",
    "paralegal",
    "advocate",
    "legal-manager",
    "unit-head",
    "dccp",
    "ccp",
    "abm",
    "hq",
    "inspector",
]

# RFC 5321 section 4.5.3.1: a path of at most 256 octets with its angle brackets, a local part
# of at most 64, a domain label of at most 63.
MAX_EMAIL_LENGTH, MAX_LOCAL_LENGTH, MAX_LABEL_LENGTH = 254, 64, 63
ATEXT = "!#$%&'*+/=?^_`{|}~-"  # RFC 5322 section 3.2.3, besides letters and digits


def address_problem(value: str) -> str | None:
    """Why `value` is not one plain `local@domain` address, or None if it is.

    The address goes into a To header as it is: a display name, a comma or a line break in it
    would send mail to someone else, or make every delivery to it fail.
    """
    if len(value) > MAX_EMAIL_LENGTH:
        return f"longer than {MAX_EMAIL_LENGTH} characters"
    if "\r" in value or "\n" in value:
        return "holds a line break"
    if "<" in value or ">" in value:
        return "holds an angle bracket: the bare address, without a display name"
    if "," in value or ";" in value:
        return "holds a comma or semicolon: one address only"
    if any(c.isspace() or not c.isprintable() for c in value):
        return "holds whitespace or a control character"
    local, _, domain = value.rpartition("@")
    if value.count("@") != 1:
        return "needs exactly one @"
    if len(local) > MAX_LOCAL_LENGTH or not all(map(_is_atom, local.split("."))):
        return "the part before the @ is not a plain name such as ada.okafor"
    if not all(map(_is_label, domain.split("."))) or domain.rpartition(".")[2].isdigit():
        return "the part after the @ is not a host name such as example.org"
    return None


def _is_atom(atom: str) -> bool:
    return bool(atom) and all(c.isalnum() or c in ATEXT for c in atom)


def _is_label(label: str) -> bool:
    return (
        0 < len(label) <= MAX_LABEL_LENGTH
        and not label.startswith("-")
        and not label.endswith("-")
        and all(c.isalnum() or c == "-" for c in label)
    )


def _plain_address(value: str) -> str:
    if (problem := address_problem(value)) is not None:
        raise PydanticCustomError(
            "email",
            "expected one plain address such as name@example.org ({problem})",
            {"problem": problem},
        )
    return value


Email = Annotated[
    str,
    AfterValidator(_plain_address),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": MAX_EMAIL_LENGTH}),
]


class StaffUpdated(EventData):
    """A staff member's details; a later event for the same staff_id replaces earlier ones."""

    type_name = "staff-updated"

    staff_id: Id
    name: str
    email: Email
    role: Role
    area: Id
    unit: Id | None = None
    line_manager: Id | None = None
    # Additive (docs/contract.md section 2, "Leavers"): from this date the person has left and
    # loses every access; their obligations stay with them until reallocated.
    left_date: IsoDate | None = None
