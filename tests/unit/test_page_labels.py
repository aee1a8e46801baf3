"""The pages' plain English for ids (services/entrypoints/http/labels.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.entrypoints.http.labels import (
    alert_state_label,
    day_label,
    escalation_label,
    explanation_label,
    level_label,
    place_label,
    role_label,
)


def test_roles_and_places_read_as_names() -> None:
    assert role_label("legal-manager") == "Legal manager"
    assert role_label("dccp") == "DCCP"
    assert role_label("new-role") == "New role"
    assert place_label("mersey-cheshire") == "Mersey Cheshire"
    assert place_label("hq") == "HQ"


def test_alert_levels_and_states_read_as_words() -> None:
    assert level_label("lapse") == "Lapse alert"
    assert level_label("repeat-148") == "Reminder"
    assert level_label("escalation-1") == "Escalation, 1 working day after the lapse"
    assert level_label("warning-3") == "Warning, 3 working days before the due date"
    assert alert_state_label("sent") == "Sent"
    assert escalation_label("escalation-3: dccp, unit-head") == (
        "Escalation, 3 working days after the lapse, to DCCP, Unit head"
    )
    assert escalation_label(None) == ""


def test_dates_as_people_write_them() -> None:
    assert day_label(date(2024, 1, 8)) == "Mon 8 Jan 2024"
    assert day_label("2024-01-08") == "Mon 8 Jan 2024"
    assert day_label(datetime(2024, 7, 1, 8, 30, tzinfo=UTC)) == "Mon 1 Jul 2024 09:30"
    assert day_label(None) == "" and day_label("soon") == "soon"


def test_the_working_out_loses_its_ids() -> None:
    text = "Letter [victim-letter]. Due 2024-01-08: decision_date 2024-01-05 + 1 working day"
    assert (
        explanation_label(text)
        == "Letter. Due 2024-01-08: decision date 2024-01-05 + 1 working day"
    )
