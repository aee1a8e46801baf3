"""The state one case's story carries: its random generator, its Area and people, where its
events go, and who owns it on a given day (a reallocation moves it, docs/contract.md section 2)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from services.simulation.areas import Area
from services.simulation.record import Recorder
from services.simulation.staff import Staff


@dataclass(slots=True)
class Case:
    rng: random.Random
    area: Area
    staff: Staff
    rec: Recorder
    urn: str
    unit: str
    owner: str
    registered: date
    moved: tuple[date, str] | None = None  # reallocated on, to whom
    hearings: int = 0

    def owner_on(self, day: date) -> str:
        if self.moved is not None and day >= self.moved[0]:
            return self.moved[1]
        return self.owner

    def manager_on(self, day: date) -> str:
        return self.staff.manager_of(self.owner_on(day)) or self.staff.first("dccp")

    def pick(self, options: tuple[tuple[str, float], ...]) -> str:
        return self.rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]
