"""`followup migrate`: bring the database's schema to this version and exit, as a deployment's
one-shot step before `serve` starts (compose.yaml's `migrate` service; docs/contract.md,
section 11, "Added: running with Docker Compose"). Every command that opens the database
migrates it anyway; this one does nothing else, so a failed upgrade stops the deployment
before any service runs."""

from __future__ import annotations

from rich.console import Console

from services.entrypoints.cli.runner import run_with_runtime


def migrate() -> None:
    """Upgrade the database's schema to this version (Alembic) and exit; needs no Redis."""
    from schemas.db import HEAD
    from services.entrypoints.cli.failures import without_password
    from services.platform.settings import Settings

    settings = Settings()

    async def opened(_runtime: object) -> None:
        """Opening the runtime is the upgrade (services.platform.runtime.open_runtime)."""

    run_with_runtime(opened, settings=settings)
    shown = without_password(settings.sqlalchemy_url())
    Console().print(f"database {shown}: schema at {HEAD}", highlight=False, soft_wrap=True)
