"""How far up the chain a lapse has gone, from the lapse clock's alerts (docs/contract.md
section 9, "Lapses list")."""

from __future__ import annotations


def escalation_of(alerts: list[tuple[str, str]]) -> str | None:
    """ "escalation-3: dccp" from the (level, role) pairs raised: the furthest step, with every
    role told at that step."""
    if not alerts:
        return None

    def step(level: str) -> int:
        return 0 if level == "lapse" else int(level.removeprefix("escalation-"))

    top = max(step(level) for level, _ in alerts)
    level = "lapse" if top == 0 else f"escalation-{top}"
    roles = sorted({role for lvl, role in alerts if step(lvl) == top})
    return f"{level}: {', '.join(roles)}"
