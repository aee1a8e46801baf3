"""Strict wire types (docs/contract.md, section 1, "Decisions: strict wire types"): nothing is
converted from another JSON type, and text, bytes and mappings are refused alike, naming the
field."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from events import EventRejected, parse_event
from events.errors import got
from events.organisation import address_problem
from events.outbound import ObligationWarning, outbound_event, parse_outbound
from events.parsing import _quickly
from schemas.tables import DeadLetter
from services.platform.settings import Settings
from services.tracker.line_reader import numbered
from services.tracker.publishing import validate_lines
from tests.unit.test_events import envelope, with_data

BOOL = "expected a JSON boolean (true or false), got "
INT = "expected a JSON integer, got "
STRING = "expected a JSON string, got "
DATE = "expected an ISO date string YYYY-MM-DD, got "
TIME = (
    "expected an RFC 3339 date-time string with an offset, such as 2024-05-03T16:30:00+01:00, got "
)

# (event, field, reason): each a conversion pydantic's lax mode made, or could have made.
REFUSED: list[tuple[dict[str, Any], str, str]] = [
    (with_data("victim-letter-due", enhanced="yes"), "data.enhanced", BOOL + 'the string "yes"'),
    (with_data("victim-letter-due", enhanced="true"), "data.enhanced", BOOL + 'the string "true"'),
    (with_data("victim-letter-due", enhanced="on"), "data.enhanced", BOOL + 'the string "on"'),
    (with_data("victim-letter-due", enhanced=1), "data.enhanced", BOOL + "the number 1"),
    (with_data("victim-letter-due", enhanced=0.0), "data.enhanced", BOOL + "the number 0.0"),
    (with_data("victim-letter-due", enhanced=None), "data.enhanced", BOOL + "null"),
    (
        with_data("case-finalised", successful="false"),
        "data.successful",
        BOOL + 'the string "false"',
    ),
    (with_data("case-finalised", successful=0), "data.successful", BOOL + "the number 0"),
    (with_data("complaint-received", stage="1"), "data.stage", INT + 'the string "1"'),
    (with_data("complaint-responded", stage=1.0), "data.stage", INT + "the number 1.0"),
    (with_data("complaint-received", stage=True), "data.stage", INT + "the boolean true"),
    (
        with_data("custody-time-limit-set", prior_custody_days="3"),
        "data.prior_custody_days",
        INT + 'the string "3"',
    ),
    (
        with_data("custody-time-limit-set", prior_custody_days=3.0),
        "data.prior_custody_days",
        INT + "the number 3.0",
    ),
    (
        with_data("recommendation-issued", number=1.5),
        "data.number",
        "expected a JSON integer or a non-empty string, got the number 1.5",
    ),
    (with_data(hearing_date=20240503), "data.hearing_date", DATE + "the number 20240503"),
    # Ten characters, like a date: pydantic read it as a Unix time, 2024-05-03.
    (with_data(hearing_date="1714694400"), "data.hearing_date", DATE + 'the string "1714694400"'),
    (with_data(hearing_date="2024-W18-5"), "data.hearing_date", DATE + 'the string "2024-W18-5"'),
    (with_data(hearing_date=None), "data.hearing_date", DATE + "null"),
    (with_data(court=7), "data.court", STRING + "the number 7"),
    (with_data(urn=True), "data.urn", STRING + "the boolean true"),
    (with_data(advocate=5), "data.advocate", STRING + "the number 5"),
    (
        with_data(court_type=1),
        "data.court_type",
        "expected 'magistrates' or 'crown', got the number 1",
    ),
    (
        with_data("inspection-published", ratings={"casework": 1}),
        "data.ratings.casework",
        "expected 'good', 'fair' or 'poor', got the number 1",
    ),
    (with_data("staff-updated", name=12), "data.name", STRING + "the number 12"),
    (envelope(time="1500000000"), "time", TIME + 'the string "1500000000"'),
    (envelope(time=1500000000), "time", TIME + "the number 1500000000"),
    (
        envelope(time="2024-05-03 16:30:00+01:00"),
        "time",
        TIME + 'the string "2024-05-03 16:30:00+01:00"',
    ),
    (envelope(time="2024-05-03T16:30+01:00"), "time", TIME + 'the string "2024-05-03T16:30+01:00"'),
    (
        envelope(time="2024-05-03T16:30:00+0100"),
        "time",
        TIME + 'the string "2024-05-03T16:30:00+0100"',
    ),
    (envelope(id=5), "id", STRING + "the number 5"),
    (envelope(specversion=1.0), "specversion", "expected '1.0', got the number 1.0"),
    (envelope(data=[]), "data", "expected a JSON object, got an array"),
]


def refusal(raw: str | bytes | dict[str, Any]) -> tuple[str | None, str]:
    with pytest.raises(EventRejected) as caught:
        parse_event(raw)
    return caught.value.field, caught.value.reason


@pytest.mark.parametrize(("raw", "field", "reason"), REFUSED)
def test_no_conversion_on_any_path(raw: dict[str, Any], field: str, reason: str) -> None:
    text = json.dumps(raw)
    assert _quickly(text.encode(), None) is None  # the fast path declines, the long way says why
    assert refusal(text) == refusal(text.encode()) == refusal(raw) == (field, reason)


def test_the_issue_example_reads_as_promised() -> None:
    with pytest.raises(EventRejected) as caught:
        parse_event(json.dumps(with_data("victim-letter-due", enhanced="yes")))
    assert str(caught.value) == (
        'data.enhanced: expected a JSON boolean (true or false), got the string "yes"'
    )


@pytest.mark.parametrize(
    ("time", "utc"),
    [
        ("2024-05-03T16:30:00+01:00", datetime(2024, 5, 3, 15, 30, tzinfo=UTC)),
        ("2024-05-03t15:30:00z", datetime(2024, 5, 3, 15, 30, tzinfo=UTC)),
        ("2024-05-03T15:30:00.123456789Z", datetime(2024, 5, 3, 15, 30, 0, 123456, tzinfo=UTC)),
        ("2024-05-03T15:30:00-00:00", datetime(2024, 5, 3, 15, 30, tzinfo=UTC)),
    ],
)
def test_rfc3339_times_are_read_alike_on_both_paths(time: str, utc: datetime) -> None:
    raw = envelope(time=time)
    text = json.dumps(raw)
    quick = _quickly(text.encode(), None)
    assert quick is not None and quick.time == utc
    assert parse_event(text).time == parse_event(raw).time == utc


@pytest.mark.parametrize(
    ("time", "why"),
    [
        ("2024-05-03T24:00:00Z", "an hour, minute, second or offset out of range"),
        ("2024-05-03T16:30:60Z", "an hour, minute, second or offset out of range"),
        ("2024-05-03T16:30:00+24:00", "an hour, minute, second or offset out of range"),
        ("2024-02-30T10:00:00Z", "day value is outside expected range"),
    ],
)
def test_rfc3339_shaped_but_not_on_the_calendar(time: str, why: str) -> None:
    raw = envelope(time=time)
    reason = f"not a time on the calendar ({why}), got {got(time)}"
    assert refusal(raw) == refusal(json.dumps(raw).encode()) == ("time", reason)


def test_python_dates_on_the_mapping_path_are_dates_not_conversions() -> None:
    # Code building an event from Python values passes dates; a datetime is not a date.
    assert parse_event(with_data(hearing_date=date(2024, 5, 3))) == parse_event(with_data())
    assert refusal(with_data(hearing_date=datetime(2024, 5, 3, tzinfo=UTC)))[0] == (
        "data.hearing_date"
    )


# ---------------------------------------------------------------------------------------------
# Byte-order mark and UTF-8


def test_one_byte_order_mark_is_skipped_on_both_paths() -> None:
    text = json.dumps(envelope())
    expected = parse_event(text)
    assert parse_event("\ufeff" + text) == parse_event(b"\xef\xbb\xbf" + text.encode()) == expected
    quick = _quickly(b"\xef\xbb\xbf" + text.encode(), None)
    assert quick is not None and quick.model_dump() == expected.model_dump()


@pytest.mark.parametrize(("prefix", "column"), [("\ufeff\ufeff", 1), (" \ufeff", 2)])
def test_a_byte_order_mark_anywhere_else_is_named(prefix: str, column: int) -> None:
    # The column counts from after the one mark skipped.
    text = prefix + json.dumps(envelope())
    reason = f"not valid JSON (a byte-order mark (U+FEFF) at column {column})"
    assert refusal(text) == refusal(text.encode()) == (None, reason)


def test_invalid_utf8_is_named_in_bytes_and_in_text_read_with_surrogateescape() -> None:
    raw = json.dumps(envelope()).encode().replace(b"H1", b"H\xff", 1)
    at = raw.index(b"\xff")
    assert refusal(raw) == (None, f"not valid UTF-8 (invalid start byte at byte {at})")
    # `followup publish` reads files with surrogateescape: the byte comes as U+DCFF.
    text = raw.decode("utf-8", "surrogateescape")
    assert refusal(text) == (None, f"not valid UTF-8 (byte 0xff at character {at})")
    assert refusal(text.replace("\udcff", "\ud800")) == (
        None,
        f"not valid UTF-8 (lone surrogate U+D800 at character {at})",
    )


def test_an_escaped_lone_surrogate_is_still_refused_as_such() -> None:
    text = json.dumps(envelope()).replace('"H1"', '"\\ud800"')
    assert refusal(text)[1] == refusal(text.encode())[1]
    assert "lone surrogate" in refusal(text)[1]


# ---------------------------------------------------------------------------------------------
# Staff email addresses


@pytest.mark.parametrize(
    "email",
    [
        "ada.okafor@example.org",
        "o'brien+alerts@cps.gov.uk",
        "zoë.ng@exämple.org",
        "p1@x",
        "a@b-c.example",
        f"{'l' * 64}@{'d' * 63}.example",
    ],
)
def test_plain_addresses_are_accepted(email: str) -> None:
    event = parse_event(json.dumps(with_data("staff-updated", email=email)))
    assert event.data.model_dump()["email"] == email


@pytest.mark.parametrize(
    ("email", "problem"),
    [
        ("a@x.example>, <b@y.example", "holds an angle bracket"),
        ("Ada Okafor <ada@example.org>", "holds an angle bracket"),
        ("a@x.example, b@y.example", "holds a comma or semicolon"),
        ("a@x.example;b@y.example", "holds a comma or semicolon"),
        ("a@x.example\r\nBcc: b@y.example", "holds a line break"),
        ("a@x.example\n", "holds a line break"),
        (" a@x.example", "holds whitespace"),
        ("a b@x.example", "holds whitespace"),
        ("a@x.example\x1b", "holds whitespace or a control character"),
        ("ada.example.org", "needs exactly one @"),
        ("a@b@x.example", "needs exactly one @"),
        ("@x.example", "the part before the @"),
        ("a..b@x.example", "the part before the @"),
        (".a@x.example", "the part before the @"),
        ('"a"@x.example', "the part before the @"),
        (f"{'l' * 65}@x.example", "the part before the @"),
        ("a@", "the part after the @"),
        ("a@x..example", "the part after the @"),
        ("a@-x.example", "the part after the @"),
        ("a@x.example.", "the part after the @"),
        ("a@[127.0.0.1]", "the part after the @"),
        ("a@127.0.0.1", "the part after the @"),
        (f"a@{'d' * 64}.example", "the part after the @"),
        (f"a@{'d.' * 130}example", "longer than 254 characters"),
    ],
)
def test_anything_but_one_plain_address_is_refused(email: str, problem: str) -> None:
    raw = with_data("staff-updated", email=email)
    text = json.dumps(raw)
    field, reason = refusal(raw)
    assert refusal(text) == refusal(text.encode()) == (field, reason)
    assert field == "data.email"
    assert reason.startswith("expected one plain address such as name@example.org (")
    assert problem in reason
    assert f", got {got(email)}" in reason
    found = address_problem(email)
    assert found is not None and problem in found


# ---------------------------------------------------------------------------------------------
# Where it shows: `followup publish` (validate_lines), outbound events, the reasons themselves


def test_publish_names_the_field_and_takes_a_first_line_with_a_bom() -> None:
    good = "\ufeff" + json.dumps(envelope("victim-letter-due"))
    bad = json.dumps(with_data("victim-letter-due", enhanced="yes"))
    limit = Settings.model_fields["max_event_bytes"].default
    [(_, first), (_, dead)] = list(validate_lines(numbered([good, bad]), max_bytes=limit))
    assert isinstance(first, bytes)
    assert isinstance(dead, DeadLetter)
    assert (dead.line, dead.field, dead.reason) == (
        2,
        "data.enhanced",
        'expected a JSON boolean (true or false), got the string "yes"',
    )


def test_outbound_events_read_back_strictly() -> None:
    data = ObligationWarning(
        obligation_ref="o-1",
        rule="victim-letter",
        due=date(2200, 6, 1),  # past the inbound range: outbound dates are not held to it
        level="warning-1",
        working_days_before=1,
        recipients=["S1"],
    )
    at = datetime(2024, 5, 3, 9, tzinfo=UTC)
    event = outbound_event(event_id="w-1", source="/followup/lapse-clock", time=at, data=data)
    wire = json.loads(event.to_json())
    assert parse_outbound(wire) == event
    with pytest.raises(ValueError, match="working_days_before"):
        parse_outbound({**wire, "data": {**wire["data"], "working_days_before": "1"}})


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("x" * 1_000_000, 'the string "' + "x" * 40 + '..." (1,000,000 characters)'),
        ("é\x00\ud800", 'the string "\\u00e9\\u0000\\ud800"'),
        (10**5000, "a very large number"),
        (2**64 - 1, f"the number {2**64 - 1}"),
        ({"a": 1}, "an object"),
        (b"x", "a Python bytes"),
    ],
    ids=["megabyte", "escapes", "huge", "u64", "object", "bytes"],
)
def test_what_came_is_shown_short_and_storable(value: object, shown: str) -> None:
    assert got(value) == shown
    assert shown.isascii() and "\x00" not in shown
