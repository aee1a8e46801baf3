"""Email action links' tokens: what they say, and what refuses them (services/access/links.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.access.links import ActionLink, action_token, alert_links, read_action_token
from services.platform.settings import Settings
from services.platform.signing import SignedValueRefused, sign

NOW = datetime(2024, 1, 9, 10, tzinfo=UTC)


def settings(tmp_path: Path, key: str = "k" * 40) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        secret_key=key,
        public_url="https://followup.example/",  # type: ignore[call-arg]
    )


def test_links_are_absolute_and_say_what_they_do(tmp_path: Path) -> None:
    made = alert_links(
        settings(tmp_path), alert_id=7, recipient="P1", obligation_ref="ob-1", now=NOW
    )
    assert [label for label, _ in made][1:] == [
        "Acknowledge",
        "Snooze 1 working day",
        "Snooze 3 working days",
        "Snooze 5 working days",
    ]
    assert all(url.startswith("https://followup.example/act/") for _, url in made)
    token = made[3][1].rsplit("/", 1)[1]
    link = read_action_token(settings(tmp_path), token=token, now=NOW)
    assert (link.act, link.alert_id, link.recipient, link.days) == ("snooze", 7, "P1", 3)
    assert link.expires_at == NOW + timedelta(days=14)


def test_another_key_purpose_or_time_refuses_it(tmp_path: Path) -> None:
    link = ActionLink("acknowledge", 7, "P1", "ob-1", NOW + timedelta(days=1))
    token = action_token(settings(tmp_path), link)
    with pytest.raises(SignedValueRefused, match="not valid"):
        read_action_token(settings(tmp_path, key="x" * 40), token=token, now=NOW)
    with pytest.raises(SignedValueRefused, match="expired"):
        read_action_token(settings(tmp_path), token=token, now=NOW + timedelta(days=2))
    other = sign(settings(tmp_path), purpose="anonymous-form", value="form")
    with pytest.raises(SignedValueRefused, match="not valid"):
        read_action_token(settings(tmp_path), token=other, now=NOW)
    odd = sign(settings(tmp_path), purpose="alert-action", value={"d": "delete", "a": 1})
    with pytest.raises(SignedValueRefused, match="not valid"):
        read_action_token(settings(tmp_path), token=odd, now=NOW)
