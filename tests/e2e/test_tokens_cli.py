"""`followup tokens create|list|revoke` against a running `serve` (docs/contract.md section 12):
shown once, stored hashed, refused once revoked; a person's token is refused for a stranger."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e.conftest import Followup
from tests.factories import event


def _status(port: int, path: str, token: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_tokens_are_shown_once_listed_and_revoked(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    followup = Followup(
        {
            "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
            "FOLLOWUP_DATABASE_URL": database_url,
            "FOLLOWUP_REDIS_URL": redis_server,
            "FOLLOWUP_NAMESPACE": namespace,
        },
        tmp_path,
    )
    staff = tmp_path / "staff.jsonl"
    staff.write_text(
        json.dumps(
            event(
                "staff-updated",
                "2026-01-05T09:00:00+00:00",
                staff_id="P1",
                name="Pat",
                email="pat@cps.example",
                role="prosecutor",
                area="north",
                unit="u1",
                line_manager=None,
            )
        )
        + "\n"
    )
    with followup.serving():
        followup.run("publish", str(staff))
        followup.settle()
        unknown = followup.run("tokens", "create", "--staff", "NOBODY", check=False)
        assert unknown.returncode == 3 and "NOBODY" in unknown.stderr
        usage = followup.run("tokens", "create", "--system", "cms", check=False)
        assert usage.returncode == 2 and "--scope" in usage.stderr
        made = followup.run("tokens", "create", "--staff", "P1", "--label", "laptop")
        token = made.stdout.strip()
        assert token.startswith("fut_") and "Shown once" in made.stderr
        assert _status(followup.port, "/alerts", token) == 200
        assert _status(followup.port, "/metrics", token) == 403  # a prosecutor's scope
        listed = json.loads(followup.run("tokens", "list", "--format", "json").stdout)
        assert [(t["for"], t["label"], t["state"]) for t in listed] == [("P1", "laptop", "active")]
        assert token not in json.dumps(listed)  # only its hash is kept
        followup.run("tokens", "revoke", str(listed[0]["id"]))
        assert _status(followup.port, "/alerts", token) == 401
        listed = json.loads(followup.run("tokens", "list", "--format", "json").stdout)
        assert listed[0]["state"] == "revoked"
        assert followup.run("tokens", "revoke", "999", check=False).returncode == 3
