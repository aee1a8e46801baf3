"""`followup replay --from DATE` (docs/contract.md section 6, "Added: replay") on SQLite and
PostgreSQL: a check of an intact database finds nothing; after a rule-pack change the rebuild
moves the due dates, each change appended to the obligation's history and the audit trail;
a check after it finds nothing; events before DATE leave their tracks alone."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from schemas.tables import AuditEntry, ObligationChange
from services.platform.audit_trail import verify_chain
from services.rules import packfile
from services.tracker.backfill import backfill_file
from services.tracker.replay import replay_events
from tests.integration.test_backfill import casework, runtime_on, state, write_lines

pytestmark = pytest.mark.integration


def slower_letters(tmp_path: Path) -> Path:
    """The default pack with a victim letter due 10 working days after the decision, not 5."""
    text = (Path(packfile.__file__).parent / "default-pack.yaml").read_text()
    assert "due: +5 working days after decision_date" in text
    path = tmp_path / "pack.yaml"
    five, ten = "due: +5 working days after", "due: +10 working days after"
    path.write_text(text.replace(f"{five} decision_date", f"{ten} decision_date", 1))
    return path


async def loaded(tmp_path: Path, database_url: str, **more: Any) -> None:
    path = write_lines(tmp_path / "h.jsonl", casework(12), bad={})
    async with runtime_on(tmp_path, database_url, **more) as runtime:
        await backfill_file(runtime=runtime, path=path, helper=False)


async def test_a_check_of_an_intact_database_finds_no_difference(
    tmp_path: Path, database_url: str
) -> None:
    await loaded(tmp_path, database_url)
    async with runtime_on(tmp_path, database_url) as runtime:
        before = await state(runtime)
        report = await replay_events(runtime=runtime, since=date(2000, 1, 1), check=True)
        assert report.events == len(casework(12))
        assert report.in_scope == 12
        assert (report.differences, report.tracks_differing, report.described) == (0, 0, [])
        # Nor does a replay: nothing is written.
        written = await replay_events(runtime=runtime, since=date(2000, 1, 1), check=False)
        assert written.differences == 0
        assert await state(runtime) == before


async def test_a_replay_after_a_rule_pack_change_moves_the_due_dates_and_appends_to_history(
    tmp_path: Path, database_url: str
) -> None:
    await loaded(tmp_path, database_url)
    async with runtime_on(tmp_path, database_url) as runtime:
        before = (await state(runtime))["obligations"]
    async with runtime_on(tmp_path, database_url, rule_pack=slower_letters(tmp_path)) as runtime:
        check = await replay_events(runtime=runtime, since=date(2024, 1, 1), check=True)
        assert check.differences > 0
        assert any("victim-letter/C0000/V1: recalculated" in line for line in check.described)
        async with runtime.sessions() as session:
            audited = len((await session.execute(select(AuditEntry.seq))).all())
        report = await replay_events(runtime=runtime, since=date(2024, 1, 1), check=False)
        assert report.differences == check.differences
        after = (await state(runtime))["obligations"]
        # Decided Tue 2 Jan 2024: due +5 working days (Tue 9 Jan), now +10 (Tue 16 Jan).
        assert before["victim-letter/C0000/V1"][0] == "2024-01-09"
        assert after["victim-letter/C0000/V1"][0] == "2024-01-16"
        async with runtime.sessions() as session:
            entries = (
                (await session.execute(select(AuditEntry).order_by(AuditEntry.seq)))  # type: ignore[arg-type]
                .scalars()
                .all()
            )
            history = (
                (
                    await session.execute(
                        select(ObligationChange).where(
                            ObligationChange.obligation_id == "victim-letter/C0000/V1"  # type: ignore[arg-type]
                        )
                    )
                )
                .scalars()
                .all()
            )
            assert (await verify_chain(session=session)).first_broken is None
        appended = entries[audited:]
        assert len(appended) == report.differences
        assert {e.caused_by for e in appended} == {"replay:2024-01-01"}
        assert [(c.kind, str(c.due_after)) for c in history][-1] == ("recalculated", "2024-01-16")
        again = await replay_events(runtime=runtime, since=date(2024, 1, 1), check=True)
        assert again.differences == 0 and again.tracks_differing == 0


async def test_tracks_without_events_from_the_date_on_are_left_alone(
    tmp_path: Path, database_url: str
) -> None:
    await loaded(tmp_path, database_url)
    async with runtime_on(tmp_path, database_url, rule_pack=slower_letters(tmp_path)) as runtime:
        report = await replay_events(runtime=runtime, since=date(2024, 2, 1), check=False)
        assert (report.in_scope, report.differences) == (0, 0)
        obligations = (await state(runtime))["obligations"]
    assert obligations["victim-letter/C0000/V1"][0] == "2024-01-09"


async def test_the_scope_is_the_tracks_holding_an_event_of_the_date_on(
    tmp_path: Path, database_url: str
) -> None:
    """Letters sent from Mon 8 Jan on (cases 3, 5 and 11 of casework) are rebuilt from all their
    events, the decision of 2-4 Jan included; the others keep the stored due dates."""
    await loaded(tmp_path, database_url)
    async with runtime_on(tmp_path, database_url, rule_pack=slower_letters(tmp_path)) as runtime:
        report = await replay_events(runtime=runtime, since=date(2024, 1, 8), check=False)
        after = (await state(runtime))["obligations"]
    assert report.in_scope == 3
    moved = {i for i, (due, *_) in after.items() if due > "2024-01-12"}
    assert moved == {f"victim-letter/C{n:04d}/V1" for n in (3, 5, 11)}
