"""The alert digest email (docs/contract.md, section 7, "The digest email"): written for its
reader, each value from event data kept to its own line, HTML escaped, links from the seam."""

from __future__ import annotations

from datetime import date, datetime

from services.alerts.delivery.digest_view import Item
from services.alerts.delivery.particulars import Next, Particulars, Person
from services.alerts.delivery.rendering import Line, render_email
from services.rules.calendar import LONDON

SLOT = datetime(2024, 1, 9, 9, tzinfo=LONDON)
OWNER = Person("Fabian Crouch", "W-P1", "prosecutor")
UNIT_HEAD = Person("Dorian Fell", "W-UH", "unit-head")
DCCP = Person("Bertram Oxley", "W-DCCP", "dccp")


def test_event_data_cannot_add_lines_to_a_digest() -> None:
    line = Line(
        7, "ob-1", "victim-letter", "U1\nacknowledge: followup alerts ack 1 --by X",
        date(2024, 1, 8), "lapse", "owner\r\n- fake-rule, due 2099-01-01 [ob-x]\x1b[2J",
    )  # fmt: skip
    email = render_email(
        digest_id=3,
        recipient="P1\nBcc: x@evil.example",
        address="p1@cps.example",
        slot=SLOT,
        lines=[line],
    )
    assert email.to == "p1@cps.example"
    assert email.text.splitlines() == [
        "Followup: 1 obligation to act on for P1 Bcc: x@evil.example, Tue 09 Jan 2024 09:00 "
        "(Europe/London)",
        "",
        "1. victim-letter",
        "   Case U1 acknowledge: followup alerts ack 1 --by X",
        "   Whose task: no owner on record",
        "   Due Mon 08 Jan 2024: LAPSED",
        "   Next: not known (the obligation has changed since)",
        "   Alert: LAPSED (alert 7)",
        "   Why you: owner - fake-rule, due 2099-01-01 [ob-x] [2J",
        "   Reference: ob-1",
        "   Acknowledge: followup alerts ack 7 --by P1 Bcc: x@evil.example",
    ]
    assert email.subject == "Followup: 1 obligation to act on (1 lapsed)"


def letter(**more: object) -> Particulars:
    fields: dict[str, object] = {
        "title": "Letter to the victim after a decision (VCL scheme)",
        "owner": OWNER,
        "owner_id": "W-P1",
        "details": (("decision", "no-charge"), ("decision date", "2023-12-15")),
        "stands_for": "victim",
        "overdue": 1,
        "custody_expiry": None,
        "next": Next("escalation", 1, date(2023, 12, 28), (UNIT_HEAD,)),
    }
    return Particulars(**{**fields, **more})  # type: ignore[arg-type]


def test_each_item_says_what_whose_which_case_how_late_and_what_comes_next() -> None:
    email = render_email(
        digest_id=4,
        recipient="W-LM",
        recipient_name="Esme Tolliver",
        address="w-lm@cps.example",
        slot=datetime(2023, 12, 27, 10, tzinfo=LONDON),
        lines=[Line(12, "ob-a", "victim-letter", "U1", date(2023, 12, 22), "lapse", None)],
        particulars={"ob-a": letter()},
    )
    assert email.text.splitlines() == [
        "Followup: 1 obligation to act on for Esme Tolliver, Wed 27 Dec 2023 10:00 (Europe/London)",
        "",
        "1. Letter to the victim after a decision (VCL scheme)",
        "   Case U1; decision no-charge; decision date 2023-12-15",
        "   Whose task: Fabian Crouch (prosecutor)",
        "   Due Fri 22 Dec 2023: LAPSED, 1 working day overdue",
        "   Next: escalation (1 working day after the lapse) on Thu 28 Dec 2023 to "
        "Dorian Fell (unit head)",
        "   Alert: LAPSED (alert 12)",
        "   Victim reference: ob-a",
        "   Acknowledge: followup alerts ack 12 --by W-LM",
    ]
    assert "VICTIM" not in email.text
    assert email.html is not None and "Fabian Crouch (prosecutor)" in email.html
    assert email.date == datetime(2023, 12, 27, 10, tzinfo=LONDON)  # the slot, without `now`


def test_a_custody_time_limit_is_named_in_the_subject() -> None:
    ctl = letter(
        title="Custody time limit",
        details=(("custody time limit", "summary-56"),),
        stands_for="defendant",
        overdue=None,
        custody_expiry=date(2026, 12, 7),
        next=Next("lapse", 0, date(2026, 12, 8), (OWNER, DCCP)),
    )
    email = render_email(
        digest_id=5,
        recipient="W-P1",
        address="w-p1@cps.example",
        slot=SLOT,
        lines=[
            Line(1, "ob-v", "victim-letter", "U1", date(2026, 11, 30), "lapse", None),
            Line(2, "ob-c", "custody-time-limit", "U3", date(2026, 12, 7), "warning-5", None),
        ],
        particulars={"ob-v": letter(), "ob-c": ctl},
    )
    assert email.subject == (
        "Custody time limit expires 2026-12-07: URN U3 - Followup: 2 obligations to act on "
        "(1 lapsed)"
    )
    assert "   Custody time limit expires Mon 07 Dec 2026" in email.text.splitlines()
    assert "   Defendant reference: ob-c" in email.text.splitlines()
    assert (
        "   Next: lapse on Tue 08 Dec 2026 to Fabian Crouch (prosecutor), Bertram Oxley (DCCP)"
        in email.text.splitlines()
    )


def test_an_expired_custody_time_limit_says_expired() -> None:
    ctl = letter(custody_expiry=date(2024, 1, 3), next=None)
    email = render_email(
        digest_id=6,
        recipient="W-P1",
        address="w-p1@cps.example",
        slot=SLOT,
        lines=[Line(1, "ob-c", "custody-time-limit", "U3", date(2024, 1, 3), "lapse", None)],
        particulars={"ob-c": ctl},
    )
    assert email.subject.startswith("Custody time limit expired 2024-01-03: URN U3 - ")
    assert "   Next: nothing further is scheduled" in email.text.splitlines()


def test_links_come_from_the_seam_with_the_recipient_and_alerts_and_are_escaped() -> None:
    seen: list[Item] = []

    def links(item: Item) -> list[tuple[str, str]]:
        seen.append(item)
        base = f"https://followup.example/a/{item.obligation_ref}?to={item.recipient}&s=1"
        return [
            ("Open", base),
            ("Snooze 3 days", base + '"><script>x</script>'),
            ("Run", "javascript:alert(1)"),  # not http(s): dropped
        ]

    email = render_email(
        digest_id=7,
        recipient="W-LM",
        address="w-lm@cps.example",
        slot=SLOT,
        lines=[
            Line(3, "ob-a", "victim-letter", "U1", date(2024, 1, 5), "lapse", None),
            Line(4, "ob-a", "victim-letter", "U1", date(2024, 1, 5), "escalation-1", None),
        ],
        particulars={"ob-a": letter(title="<b>Letter</b> & co", stopped=True, next=None)},
        links=links,
    )
    assert seen == [Item(7, "W-LM", "ob-a", date(2024, 1, 5), (3, 4), ("lapse", "escalation-1"))]
    text = email.text.splitlines()
    assert "   Open: https://followup.example/a/ob-a?to=W-LM&s=1" in text
    assert "   Next: none: escalation stopped by an acknowledgement" in text
    assert not any("javascript" in line for line in text)
    assert email.html is not None
    assert 'href="https://followup.example/a/ob-a?to=W-LM&amp;s=1"' in email.html
    assert "&lt;b&gt;Letter&lt;/b&gt; &amp; co" in email.html
    assert "<script>" not in email.html and "javascript" not in email.html


def test_without_links_the_html_shows_the_acknowledge_command() -> None:
    email = render_email(
        digest_id=8,
        recipient="W-LM",
        address="w-lm@cps.example",
        slot=SLOT,
        lines=[Line(3, "ob-a", "victim-letter", "U1", date(2024, 1, 5), "warning-1", None)],
        particulars={"ob-a": letter(overdue=None)},
    )
    assert email.html is not None and "followup alerts ack 3 --by W-LM" in email.html
    assert "<a " not in email.html
    assert "   Due Fri 05 Jan 2024" in email.text.splitlines()
