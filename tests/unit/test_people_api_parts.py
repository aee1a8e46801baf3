"""The pure parts of the people's API: what a reader is shown of an obligation, a JSON batch
cut into its events, and cursors (docs/contract.md section 12, "People's API")."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.exceptions import RequestValidationError

from events.outbound import obligation_ref
from services.access.redaction import personal_values, redact_alert, redact_obligation, strip
from services.access.scope import NATIONAL, Scope
from services.entrypoints.http import paging
from services.entrypoints.http.event_batch import BatchUnreadable, single, split_batch

OWN = Scope("P1", "own", True, owners=frozenset({"P1"}))
AREA = Scope("D", "area", True, areas=frozenset({"w"}))
LETTER = {
    "id": "victim-letter/U1/V-9",
    "key": "U1/V-9",
    "rule": "victim-letter",
    "urn": "U1",
    "explanation": "Letter to V-9 [victim-letter]. Due 2024-01-08 (event /cms#vl-V-9-due; "
    "V-91 is another victim).",
}
FIELDS = ("urn", "victim_id")


def test_the_line_reads_ids_and_gets_the_reference_too() -> None:
    shown = redact_obligation(LETTER, scope=OWN, key_fields=FIELDS)
    assert shown == {**LETTER, "obligation_ref": obligation_ref(LETTER["id"])}


@pytest.mark.parametrize("scope", [AREA, NATIONAL])
def test_overseers_get_references_and_no_victim_id(scope: Scope) -> None:
    shown = redact_obligation(LETTER, scope=scope, key_fields=FIELDS)
    assert shown["id"] is None and shown["key"] is None and shown["urn"] == "U1"
    assert shown["obligation_ref"] == obligation_ref(LETTER["id"])
    assert shown["explanation"] == (
        "Letter to [redacted] [victim-letter]. Due 2024-01-08 (event /cms#vl-V-9-due; "
        "V-91 is another victim)."
    )


def test_personal_values_are_the_victims_and_defendants() -> None:
    assert personal_values("U1/D7", ("urn", "defendant_id")) == ["D7"]
    assert personal_values("U1/H1", ("urn", "hearing_id")) == []
    # A value holding "/" cannot be matched to its field: every part is taken.
    assert personal_values("U/1/V", ("urn", "victim_id")) == ["U", "1", "V"]
    assert strip("V9 and V99 and xV9", ["V9"]) == "[redacted] and V99 and xV9"


def test_alerts_lose_the_obligation_id_for_overseers() -> None:
    alert = {"id": 1, "obligation": "victim-letter/U1/V-9", "obligation_ref": "ob-1"}
    assert redact_alert(alert, scope=OWN) == alert
    assert redact_alert(alert, scope=NATIONAL) == {**alert, "obligation": None}


def test_a_batch_is_cut_into_each_events_bytes() -> None:
    body = b' [ {"id": "a", "source": "/s", "n": NaN} ,"x",\n{"id": 7, "v": "\xff"} ] '
    found = split_batch(body)
    assert [e.raw for e in found] == [
        b'{"id": "a", "source": "/s", "n": NaN}',
        b'"x"',
        b'{"id": 7, "v": "\xff"}',
    ]
    assert [(e.source, e.id) for e in found] == [("/s", "a"), (None, None), (None, None)]
    assert split_batch(b"[]") == []
    assert single(b'{"id": "a"').raw == b'{"id": "a"'


@pytest.mark.parametrize("body", [b"{}", b"[1,", b"[1 2]", b"[1]x", b""])
def test_a_batch_that_is_not_an_array_is_unreadable(body: bytes) -> None:
    with pytest.raises(BatchUnreadable):
        split_batch(body)


def test_cursors_round_trip_and_refuse_what_they_did_not_give() -> None:
    cursor = paging.encode(["2024-01-08", "ob-0123"])
    assert paging.due_and_ref(cursor) == (date(2024, 1, 8), "ob-0123")
    assert paging.alert_id(paging.encode([42])) == 42
    for bad in ("%%%", paging.encode({"a": 1}), paging.encode([True]), paging.encode(["x", 1])):
        with pytest.raises(RequestValidationError):
            paging.due_and_ref(bad)
        with pytest.raises(RequestValidationError):
            paging.alert_id(bad)
