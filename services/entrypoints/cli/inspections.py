"""`followup inspections evidence|complete|assess`: record follow-up from the command line, no
JSON written by hand. Each builds the contract's event as the inspection page does
(services/audit/web_events.py), validates it as the consumer will, and publishes it onto the
inbound stream (docs/contract.md section 6, "Added: recording follow-up")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from services.platform.runtime import Runtime

inspections_app = typer.Typer(
    help="Record evidence, completions and follow-up ratings (publishes the contract's events)."
)
out = Console()
err = Console(stderr=True)

By = Annotated[str, typer.Option("--by", help="Staff id of the person who did it.")]
When = Annotated[
    str | None, typer.Option("--date", help="When (YYYY-MM-DD, not after today); default today.")
]


@inspections_app.command("evidence")
def evidence(
    action: Annotated[str, typer.Argument(help="The action's id.")],
    text: Annotated[str, typer.Option("--text", help="The evidence: a sentence or a link.")],
    by: By,
    when: When = None,
) -> None:
    """Publish `action-evidence-recorded` for ACTION."""
    from services.audit.web_events import evidence_data

    _publish(
        "action-evidence-recorded",
        "action",
        action,
        lambda today: evidence_data(
            action_id=action, evidence=text, by=by, recorded_date=when or today, today=_day(today)
        ),
        by,
    )


@inspections_app.command("complete")
def complete(
    action: Annotated[str, typer.Argument(help="The action's id.")],
    by: By,
    when: When = None,
) -> None:
    """Publish `action-completed` for ACTION."""
    from services.audit.web_events import completion_data

    _publish(
        "action-completed",
        "action",
        action,
        lambda today: completion_data(
            action_id=action, by=by, completed_date=when or today, today=_day(today)
        ),
        by,
    )


@inspections_app.command("assess")
def assess(
    recommendation: Annotated[str, typer.Argument(help="The recommendation's id.")],
    rating: Annotated[
        str, typer.Option("--rating", help="One of FOLLOWUP_RATINGS, e.g. achieved.")
    ],
    by: By,
    notes: Annotated[str | None, typer.Option("--notes", help="The assessor's notes.")] = None,
    when: When = None,
) -> None:
    """Publish `follow-up-assessed` for RECOMMENDATION."""
    from services.audit.web_events import assessment_data

    _publish(
        "follow-up-assessed",
        "recommendation",
        recommendation,
        lambda today: assessment_data(
            recommendation_id=recommendation,
            rating=rating,
            by=by,
            assessed_date=when or today,
            notes=notes,
            today=_day(today),
        ),
        by,
    )


def _day(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)


def _publish(type_: str, what: str, ident: str, data: Any, by: str) -> None:
    """Refuse an unknown action or recommendation (exit 3, the known ones listed) or a bad
    field (exit 2, naming it); else publish and say the event's id."""
    from services.audit.records import known_follow_up_ids
    from services.audit.web_events import CLI_SOURCE, FormRefused, publish_follow_up
    from services.entrypoints.cli.failures import NotFound
    from services.entrypoints.cli.runner import require_data, run_with_redis
    from services.platform.settings import Settings

    settings = Settings()
    require_data(settings)

    async def work(runtime: Runtime, redis: Redis) -> tuple[str, str]:
        async with runtime.sessions() as session:
            known = await known_follow_up_ids(session=session, kind=what)
            staff = await known_follow_up_ids(session=session, kind="staff", ids=[by])
        if ident not in known:
            raise NotFound(what, ident, sorted(known))
        published = await publish_follow_up(
            redis=redis,
            stream=settings.events_stream,
            type_=type_,
            data=data(runtime.today().isoformat()),
            now=runtime.now(),
            ratings=settings.ratings,
            source=CLI_SOURCE,
        )
        warning = "" if by in staff else f"note: no staff member {by!r} is recorded"
        return published.event_id, warning

    try:
        event_id, warning = run_with_redis(settings, work)
    except FormRefused as refused:
        option = {
            "evidence": "--text",
            "recorded_date": "--date",
            "completed_date": "--date",
            "assessed_date": "--date",
        }.get(refused.field, f"--{refused.field.replace('_', '-')}")
        raise typer.BadParameter(refused.reason, param_hint=option) from None
    if warning:
        err.print(warning, highlight=False, markup=False)
    out.print(
        f"published {type_} {CLI_SOURCE}#{event_id} to {settings.events_stream}; it shows in "
        "`followup audit report` once the tracker has applied it",
        highlight=False,
        soft_wrap=True,
    )
