"""The access matrix's checks of the Area page, weekly summaries, inspections, their forms and
dead letters (docs/contract.md section 12, "Area and inspection pages"): each read shows
exactly its caller's Area, unit or team; another's answers as an unknown one does; a form
outside the line is refused 403 once its CSRF token has passed."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx

from tests.integration.matrix_pages import same_as_unknown, to_sign_in
from tests.integration.matrix_world import (
    AREA_ROLES,
    CALLERS,
    NATIONAL,
    SYSTEMS,
    TODAY,
    URN,
    World,
    area_of,
    by_id,
    covers_area,
    line_above,
    role_of,
)
from tests.org_chart import AREAS, INSPECTIONS, RECOMMENDATIONS, recommendation_area

Check = Callable[[World], Awaitable[None]]
WESSEX, MERSEY = AREAS["W"], AREAS["M"]


def urns_of(world: World, owners: set[str]) -> set[str]:
    return {o["urn"] for o in world.obligations if o["owner"] in owners and o["urn"]}


def area_people(area: str) -> set[str]:
    return {m.staff_id for m in by_id().values() if m.area == area}


def team_of(manager: str) -> set[str]:
    """The summaries' team: the manager and their direct reports."""
    return {manager} | {m.staff_id for m in by_id().values() if m.line_manager == manager}


def unit_of(head: str) -> set[str]:
    me = by_id()[head]
    return {m.staff_id for m in by_id().values() if (m.area, m.unit) == (me.area, me.unit)}


async def area_page(world: World) -> None:
    """Area leaders their Area; HQ and read tokens any; everyone else 403."""
    for caller in CALLERS:
        answer = await world.get(caller, "/area")
        if caller == "nobody":
            assert answer.status_code == 401
            to_sign_in(await world.page(caller, "/area"), "/area")
        elif caller in NATIONAL:
            assert answer.status_code == 200
            assert all(f'href="/area?area={a}"' in answer.text for a in AREAS.values())
            other = await world.get(caller, f"/area?area={MERSEY}")
            assert set(URN.findall(other.text)) == urns_of(world, area_people(MERSEY))
        elif role_of(caller) in AREA_ROLES:
            assert answer.status_code == 200, caller
            home = area_of(caller)
            assert set(URN.findall(answer.text)) == urns_of(world, area_people(home or ""))
            unknown = await world.get(caller, "/area?area=atlantis")
            other = await world.get(caller, f"/area?area={MERSEY}")
            same_as_unknown(other, unknown, {MERSEY: "atlantis"})
            no_team = await world.get(caller, "/area?team=NOBODY")
            other_team = await world.get(caller, "/area?team=M-MAG-LM")
            same_as_unknown(other_team, no_team, {"M-MAG-LM": "NOBODY"})
        else:
            assert answer.status_code == 403, caller


async def summaries(world: World) -> None:
    """Who reads which weekly summary, and exactly whose casework each holds."""
    for caller in CALLERS:
        answer = await world.get(caller, "/summaries?format=json")
        role = role_of(caller)
        if caller == "nobody":
            assert answer.status_code == 401
            continue
        if caller == "system:publish" or role == "prosecutor":
            assert answer.status_code == 403, caller
            continue
        if caller in NATIONAL or role == "inspector":
            # Every Area named on record: HQ's and the inspectorate's staff name theirs too.
            named = sorted({m.area for m in by_id().values()})
            assert answer.json() == {"areas": named}, caller
            area = await world.get(caller, f"/summaries?format=json&area={MERSEY}")
            found = set(URN.findall(area.text))
            expected = set() if role == "inspector" else urns_of(world, area_people(MERSEY))
            assert area.status_code == 200 and found == expected, caller
            unit = await world.get(caller, f"/summaries?format=json&area={MERSEY}&unit=crown")
            assert unit.status_code == (403 if role == "inspector" else 200), caller
            continue
        assert answer.status_code == 200, caller
        whose = (
            area_people(WESSEX)
            if role in AREA_ROLES
            else unit_of(caller)
            if role == "unit-head"
            else team_of(caller)
        )
        assert set(URN.findall(answer.text)) == urns_of(world, whose), caller
        unknown = await world.get(caller, "/summaries?format=json&area=atlantis")
        other = await world.get(caller, f"/summaries?format=json&area={MERSEY}")
        same_as_unknown(other, unknown, {MERSEY: "atlantis"})
        if role != "unit-head":
            no_team = await world.get(caller, "/summaries?format=json&team=NOBODY")
            # Another team of the Area for a legal manager; of another Area for its leaders.
            team = "M-MAG-LM" if role in AREA_ROLES else "W-CRN-LM"
            other_team = await world.get(caller, f"/summaries?format=json&team={team}")
            same_as_unknown(other_team, no_team, {team: "NOBODY"})
        if role in ("unit-head", "legal-manager"):
            other_unit = await world.get(caller, "/summaries?format=json&unit=crown")
            assert other_unit.status_code == 404, caller
            assert not set(URN.findall(other_unit.text))


def visible(caller: str) -> dict[str, set[str]]:
    """The inspections the caller reads, each with the recommendations they read of it."""
    return {
        inspection: {
            rec
            for rec, (of, _, _) in RECOMMENDATIONS.items()
            if of == inspection and covers_area(caller, recommendation_area(rec))
        }
        for inspection, area in INSPECTIONS.items()
        if covers_area(caller, area)
    }


def refused_reader(caller: str, answer: httpx.Response) -> bool:
    """nobody 401, a publish token 403: True when the caller reads no inspection."""
    if caller == "nobody":
        assert answer.status_code == 401
        return True
    if caller == "system:publish":
        assert answer.status_code == 403
        return True
    return False


async def inspections_list(world: World) -> None:
    for caller in CALLERS:
        answer = await world.get(caller, "/inspections?format=json")
        if refused_reader(caller, answer):
            continue
        found = {
            i["inspection_id"]: {r["recommendation_id"] for r in i["recommendations"]}
            for i in answer.json()
        }
        assert found == visible(caller), caller
        page = await world.page(caller, "/inspections")
        assert page.status_code == 200
        assert {i for i in INSPECTIONS if i in page.text} == set(visible(caller)), caller


def inspection_read(suffix: str) -> Check:
    """One inspection's page or its report: outside the caller's scope as unknown; of a
    national one, only the recommendations of Areas the caller reads."""

    async def check(world: World) -> None:
        for caller in CALLERS:
            unknown = await world.get(caller, f"/inspections/INSP-NONE{suffix}")
            for inspection in INSPECTIONS:
                answer = await world.get(caller, f"/inspections/{inspection}{suffix}")
                if refused_reader(caller, answer):
                    continue
                shown = visible(caller)
                if inspection not in shown:
                    same_as_unknown(answer, unknown, {inspection: "INSP-NONE"})
                    continue
                assert answer.status_code == 200, (caller, inspection)
                named = {r for r in RECOMMENDATIONS if r in answer.text}
                assert named == shown[inspection], (caller, inspection)
                hidden = {
                    owner
                    for rec, (of, _, actions) in RECOMMENDATIONS.items()
                    if of == inspection and rec not in shown[inspection]
                    for owner in actions.values()
                }
                assert not any(owner in answer.text for owner in hidden), caller

    return check


def may_record(caller: str, owner: str, area: str | None) -> bool:
    """Evidence and completion: the owner and their line, the leaders of the
    recommendation's Area (the owner's, for a national one), HQ; never an inspector."""
    role = role_of(caller)
    if role == "hq":
        return True
    if role == "inspector":
        return False
    home = area if area is not None else by_id()[owner].area
    if role in AREA_ROLES and area_of(caller) == home:
        return True
    return caller == owner or caller in line_above(owner)


def may_assess(caller: str, area: str | None) -> bool:
    role = role_of(caller)
    return role == "hq" or (
        role in ("dccp", "ccp") and area is not None and area_of(caller) == area
    )


async def inspection_forms(world: World) -> None:
    """Every person posts each form on every action and recommendation with their session's
    CSRF token: outside the Area they read, the unknown one's 404; not theirs 403; theirs
    303 (published). Systems 403, nobody to sign in."""
    today = TODAY.isoformat()
    forms = {
        "evidence": {"evidence": "dip sample done", "recorded_date": today},
        "completion": {"completed_date": today},
    }
    for caller in CALLERS:
        for rec, (inspection, _, actions) in RECOMMENDATIONS.items():
            area = recommendation_area(rec)
            base = f"/inspections/{inspection}"
            for action, owner in actions.items():
                # Completion is checked as evidence is; on the Areas' inspections only.
                for form, data in (
                    forms.items() if inspection != "INSP-N" else [("evidence", forms["evidence"])]
                ):
                    path = f"{base}/actions/{action}/{form}"
                    expected = (
                        303
                        if may_record(caller, owner, area)
                        else 403
                        if covers_area(caller, area)
                        else 404
                    )
                    await posted(world, caller, path, data, expected, {action: "ACT-NONE"})
            path = f"{base}/recommendations/{rec}/assessment"
            data = {"rating": "achieved", "assessed_date": today}
            ok = 303 if may_assess(caller, area) else 403
            expected = ok if covers_area(caller, area) else 404
            await posted(world, caller, path, data, expected, {rec: "REC-NONE"})


async def posted(
    world: World,
    caller: str,
    path: str,
    data: dict[str, str],
    expected: int,
    unknown: dict[str, str],
) -> None:
    answer = await world.form(caller, path, data)
    if caller == "nobody":
        to_sign_in(answer, path)
        return
    if caller in SYSTEMS:
        assert answer.status_code == 403
        return
    if expected == 404:
        other = path
        for sent, instead in unknown.items():
            other = other.replace(sent, instead)
        same_as_unknown(answer, await world.form(caller, other, data), unknown)
        return
    assert answer.status_code == expected, (caller, path, answer.text[:300])


async def report_css(world: World) -> None:
    for caller in CALLERS:
        answer = await world.get(caller, "/inspections/report.css")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/css")


def national_only(path: str) -> Check:
    """Service-wide: HQ and systems' read tokens; every other caller 403, nobody 401."""

    async def check(world: World) -> None:
        for caller in CALLERS:
            answer = await world.get(caller, path.format(id=world.dead_letter))
            expected = 401 if caller == "nobody" else 200 if caller in NATIONAL else 403
            assert answer.status_code == expected, (caller, answer.text)
        answer = await world.page("nobody", path.format(id=world.dead_letter))
        to_sign_in(answer, path.format(id=world.dead_letter))

    return check


async def dead_letter_unknown(world: World) -> None:
    await national_only("/dead-letters/{id}")(world)
    assert (await world.get("HQ-1", "/dead-letters/999999")).status_code == 404
    one = await world.get("system:read", f"/dead-letters/{world.dead_letter}")
    assert one.json()["raw"] == "{}"


async def events_in(world: World) -> None:
    """POST /events: a publish token alone."""
    from tests.org_chart import staff_events

    body = json.dumps(staff_events()[0])
    for caller in CALLERS:
        answer = await world.post(
            caller,
            "/events",
            content=body,
            h={"Content-Type": "application/cloudevents+json"},
        )
        expected = {"nobody": 401, "system:publish": 202}.get(caller, 403)
        assert answer.status_code == expected, (caller, answer.text)
