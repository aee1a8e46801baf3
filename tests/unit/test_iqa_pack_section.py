"""The packs' IQA section from obligations and measures (pure), and how it renders."""

from __future__ import annotations

from datetime import date

from services.summaries.iqa import measures
from services.summaries.packs.iqa_build import iqa_section
from services.summaries.packs.model import Item, Pack
from services.summaries.packs.periods import PackPeriod
from services.summaries.packs.render import pack_csv, pack_markdown
from tests.unit.test_iqa_measures import FACTS, STAFF

NOVEMBER = PackPeriod.of(date(2026, 11, 1), "monthly")
AS_OF = date(2026, 11, 20)


def item(rule: str, key: str, due: str, state: str) -> Item:
    return Item(id=f"{rule}/{key}", rule=rule, key=key, due=date.fromisoformat(due), state=state)


def test_section_counts_per_manager_zero_iqas_included() -> None:
    items = [
        item("iqa-quota", "LM-W1/2026-10", "2026-11-06", "met"),
        item("iqa-quota", "LM-W2/2026-10", "2026-11-06", "open"),  # lapsed by 20 November
        item("iqa-reassessment", "LM-W1/2026-10", "2026-11-13", "met-late"),
        item("iqa-quota", "LM-W1/2026-11", "2026-12-07", "open"),  # due next month: not counted
    ]
    section = iqa_section(
        items, period=NOVEMBER, assessed=NOVEMBER.previous(), as_of=AS_OF, area="wessex",
        measures=measures(FACTS, staff=STAFF),
        managers={"LM-W1": "Ann", "LM-W2": "Ben", "LM-W9": "New Manager"},
    )  # fmt: skip
    rows = {
        m.manager: (m.name, m.iqas, m.quota.met, m.quota.lapsed, m.reassessment.late, m.lenient)
        for m in section.managers
    }
    assert rows == {
        "LM-W1": ("Ann", 6, 1, 0, 1, 2),
        "LM-W2": ("Ben", 6, 0, 1, 0, 2),
        "LM-W9": ("New Manager", 0, 0, 0, 0, 0),
    }
    assert (section.quota.due, section.quota.on_time_pct) == (2, 50.0)
    assert section.assessed == "2026-10"

    pack = Pack("monthly", "wessex", NOVEMBER, NOVEMBER.previous(), AS_OF, [section])
    markdown = pack_markdown(pack)
    assert "| Ann (LM-W1) | 6 | 100.0% (1) | 0.0% (1) | 4 | 2 | 50.0% | +50.0 |" in markdown
    assert "| New Manager (LM-W9) | 0 | - (0) | - (0) | 0 | 0 | - | - |" in markdown
    assert "| wessex/crown | 6 | 4 | 2 | 50.0% | +25.0 |" in markdown
    csv = pack_csv(pack)
    assert "iqa,gap-tenths,national:national,2026-11,,,,,,,286" in csv
    assert "iqa,disclosure-schedules:no,area,2026-11,,,,,,,2" in csv
