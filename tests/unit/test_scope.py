"""Roles give scopes (docs/contract.md section 12): own work, team up the line however deep,
unit, Area, every Area, none for inspectors; acting is for the recipient and those above."""

from __future__ import annotations

from datetime import date

from services.access.scope import Person, line_above, may_act_for, people_by_id, scope_of


def _p(
    staff_id: str,
    role: str,
    *,
    area: str = "north",
    unit: str | None = "u1",
    manager: str | None = None,
    left: date | None = None,
) -> Person:
    return Person(
        staff_id, staff_id.title(), f"{staff_id}@x.example", role, area, unit, manager, left
    )


PEOPLE = people_by_id(
    [
        _p("ccp", "ccp", unit=None),
        _p("dccp", "dccp", unit=None, manager="ccp"),
        _p("head1", "unit-head", manager="dccp"),
        _p("lm1", "legal-manager", manager="head1"),
        _p("lm2", "legal-manager", unit="u2", manager="head1"),
        _p("p1", "prosecutor", manager="lm1"),
        _p("p2", "paralegal", manager="lm1"),
        _p("p3", "prosecutor", unit="u2", manager="lm2"),
        _p("p4", "prosecutor", manager="p1"),  # a second step down the line
        _p("stray", "prosecutor", unit="u1", manager=None),  # in unit u1, nobody's report
        _p("south-p", "prosecutor", area="south", unit="u1", manager=None),
        _p("hq", "hq", area="hq", unit=None),
        _p("insp", "inspector", area="hmcpsi", unit=None),
    ]
)


def test_own_work_roles_see_only_their_own() -> None:
    scope = scope_of(PEOPLE["p1"], PEOPLE)
    assert scope.kind == "own" and scope.owners == {"p1"}
    assert scope.covers(owner="p1", area="north")
    assert not scope.covers(owner="p2", area="north")


def test_a_legal_manager_sees_everyone_whose_line_runs_up_to_them() -> None:
    scope = scope_of(PEOPLE["lm1"], PEOPLE)
    assert scope.owners == {"lm1", "p1", "p2", "p4"}
    assert not scope.covers(owner="p3", area="north")  # another team


def test_a_unit_head_sees_their_line_and_their_unit_of_their_area() -> None:
    scope = scope_of(PEOPLE["head1"], PEOPLE)
    assert scope.owners is not None
    assert {"lm1", "lm2", "p1", "p2", "p3", "p4", "stray"} <= scope.owners
    assert "south-p" not in scope.owners  # the same unit name in another Area


def test_area_roles_see_their_area_and_hq_every_area() -> None:
    dccp = scope_of(PEOPLE["dccp"], PEOPLE)
    assert dccp.covers(owner="anyone", area="north") and not dccp.covers(owner="x", area="south")
    hq = scope_of(PEOPLE["hq"], PEOPLE)
    assert hq.national and hq.covers(owner=None, area="south")


def test_inspectors_see_no_casework_but_every_area_s_follow_up() -> None:
    scope = scope_of(PEOPLE["insp"], PEOPLE)
    assert not scope.casework and not scope.covers(owner="p1", area="north")
    assert scope.covers_area("north") and scope.covers_area(None)
    assert not scope_of(PEOPLE["p1"], PEOPLE).covers_area("south")


def test_acting_is_for_the_recipient_and_those_above_them() -> None:
    assert line_above("p4", PEOPLE) == ["p1", "lm1", "head1", "dccp", "ccp"]
    assert may_act_for("p4", "p4", PEOPLE) and may_act_for("head1", "p4", PEOPLE)
    assert not may_act_for("p4", "p1", PEOPLE)  # below, not above
    assert not may_act_for("lm2", "p1", PEOPLE)  # another team's manager


def test_a_cycle_in_the_line_ends_the_walk() -> None:
    looped = people_by_id(
        [_p("a", "legal-manager", manager="b"), _p("b", "legal-manager", manager="a")]
    )
    assert line_above("a", looped) == ["b"]
    assert scope_of(looped["a"], looped).owners == {"a", "b"}


def test_a_leaver_has_left_from_their_left_date() -> None:
    leaver = _p("gone", "prosecutor", left=date(2026, 1, 5))
    assert not leaver.has_left(date(2026, 1, 4)) and leaver.has_left(date(2026, 1, 5))
