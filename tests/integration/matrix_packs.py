"""The access matrix's check of the monthly and quarterly packs (docs/contract.md section 9,
"Added: monthly and quarterly packs"): Area leaders their Area, HQ and read tokens any Area,
another Area answering as an unknown one does, everyone else 403."""

from __future__ import annotations

from tests.integration.matrix_pages import same_as_unknown, to_sign_in
from tests.integration.matrix_world import AREA_ROLES, CALLERS, NATIONAL, World, area_of, role_of
from tests.org_chart import AREAS

MERSEY = AREAS["M"]


async def area_packs(world: World) -> None:
    for caller in CALLERS:
        answer = await world.get(caller, "/area/packs?format=json")
        if caller == "nobody":
            assert answer.status_code == 401
            to_sign_in(await world.page(caller, "/area/packs"), "/area/packs")
        elif caller in NATIONAL:
            assert answer.status_code == 200, caller
            assert set(AREAS.values()) <= set(answer.json()["areas"])
            other = await world.get(
                caller, f"/area/packs?area={MERSEY}&quarter=2023-Q4&format=json"
            )
            assert (other.json()["area"], other.json()["period"]) == (MERSEY, "2023-Q4")
        elif role_of(caller) in AREA_ROLES:
            assert answer.status_code == 200, caller
            found = answer.json()
            assert (found["area"], found["period"]) == (area_of(caller), "2023-12"), caller
            unknown = await world.get(caller, "/area/packs?area=atlantis&format=json")
            other = await world.get(caller, f"/area/packs?area={MERSEY}&format=json")
            if area_of(caller) != MERSEY:
                same_as_unknown(other, unknown, {MERSEY: "atlantis"})
        else:
            assert answer.status_code == 403, caller
