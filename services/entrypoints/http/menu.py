"""The menu entries of the Area, summary and inspection pages, by what the caller's scope
lets them open (the pages themselves check again)."""

from __future__ import annotations

from services.access.principal import Principal

AREA_KINDS = frozenset({"area", "national"})
SUMMARY_KINDS = frozenset({"team", "unit", "area", "national", "inspector"})


def links_for(principal: Principal) -> list[tuple[str, str]]:
    kind = principal.scope.kind
    links: list[tuple[str, str]] = []
    if kind in AREA_KINDS:
        links.append(("/area", "Area"))
    if kind in SUMMARY_KINDS:
        links.append(("/summaries", "Weekly summaries"))
    if kind != "none":
        links.append(("/inspections", "Inspections"))
    return links
