"""Reading one event from the stream into its fact's JSON text: the part of decoding that
`serve` runs in a helper process (services.tracker.decoding).

It imports only the wire contracts and the rules' Fact, so a helper starts in a fraction of
the time a module reaching the database's would take.
"""

from __future__ import annotations

from collections.abc import Sequence
from json.encoder import encode_basestring_ascii as _string

from events import Event, EventRejected, parse_event
from services.rules.model import Fact, in_utc

# What reading one entry's event gives, in a form cheap to send between processes: the fact's
# JSON text; the field and reason it was refused for; or None, the fact could not be made.
Outcome = str | tuple[str | None, str] | None


def fact_from_event(event: Event) -> Fact:
    # Defaults filled in (a VRR request without `stage` is at local resolution), so the rules
    # see the same data whether a sender spelled a default out or left it to the contract.
    return Fact(
        source=event.source,
        id=event.id,
        type=event.type,
        time=in_utc(event.time),
        data=event.data.model_dump(mode="json"),
    )


def text_with(fact: Fact, data: str) -> str:
    """The fact's JSON text (what `json.dumps(fact.to_json())` would read back as) given its
    data's JSON text."""
    return (
        f'{{"source": {_string(fact.source)}, "id": {_string(fact.id)}, '
        f'"type": {_string(fact.type)}, "time": "{fact.time.isoformat()}", "data": {data}}}'
    )


def text_of_event(fact: Fact, event: Event) -> str:
    # pydantic's own serialiser (written in Rust) while the validated model is at hand
    return text_with(fact, event.data.model_dump_json())


def read_outcomes(raws: Sequence[bytes], ratings: Sequence[str] | None) -> list[Outcome]:
    """Each raw event read and, if accepted, made into its fact's JSON text: pydantic's
    validation and serialising, the costly part of decoding, with nothing in what it returns
    that is costly to pickle."""
    outcomes: list[Outcome] = []
    for raw in raws:
        try:
            event = parse_event(raw, plain=False, ratings=ratings)
        except EventRejected as rejected:
            outcomes.append((rejected.field, rejected.reason))
            continue
        try:
            outcomes.append(text_of_event(fact_from_event(event), event))
        except Exception:
            outcomes.append(None)
    return outcomes
