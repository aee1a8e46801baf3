"""The menu every page shows: the pages the caller's role can open (each page checks again, in
its queries; a link left out is a convenience, not the protection)."""

from __future__ import annotations

from services.access.principal import Principal

# Roles whose people see *My team* (docs/contract.md section 12, "Pages").
TEAM_ROLES = frozenset({"legal-manager", "unit-head"})
AREA_KINDS = frozenset({"area", "national"})
SUMMARY_KINDS = frozenset({"team", "unit", "area", "national", "inspector"})


def nav_links(principal: Principal | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    kind = principal.scope.kind
    links: list[tuple[str, str]] = []
    if principal.person is not None and principal.scope.casework:
        links.append(("/", "My work"))
        if principal.person.role in TEAM_ROLES:
            links.append(("/team", "My team"))
        links.append(("/my-alerts", "My alerts"))
    if kind in AREA_KINDS:
        links.append(("/area", "Area"))
    if kind in SUMMARY_KINDS:
        links.append(("/summaries", "Weekly summaries"))
    if kind != "none":
        links.append(("/inspections", "Inspections"))
    return links
