"""An inspection whose texts and names are hostile, through the tracker into the audit report
on SQLite and PostgreSQL: its CSV runs no formula, its Markdown keeps its tables and gains no
link, HTML or emphasis, its HTML is escaped."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from events import parse_event
from services.audit.render import render
from services.audit.report import build_report
from services.platform.runtime import Runtime, open_runtime
from services.tracker.handlers import apply_events
from tests.factories import event
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.integration

FORMULA = '=HYPERLINK("http://evil.example","click")'
MARKUP = "| a | b |\n[x](javascript:alert(1)) <script>alert(1)</script> **bold** `c`"
TODAY = date(2018, 3, 15)


@pytest.fixture
async def runtime(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> AsyncIterator[Runtime]:
    async with open_runtime(settings_for(tmp_path, database_url, redis_server, namespace)) as rt:
        yield rt


async def report_of_hostile_inspection(runtime: Runtime) -> dict[str, object]:
    t, cps, hmi = "2017-10-02T10:00:00+00:00", "/cps/wessex", "/hmcpsi"
    events = [
        event("staff-updated", t, source=cps, staff_id="WX-1", name="# *Rowena* [Peel]",
              email="rp@example.org", role="dccp", area="wessex", line_manager=None),
        event("inspection-published", t, source=hmi, inspection_id="INS-X",
              title="@SUM(A1) <b>title</b>", kind="area-assurance", area="wessex",
              published_date="2017-10-02", ratings={}),
        event("recommendation-issued", t, source=hmi, inspection_id="INS-X",
              recommendation_id="R1", number=1, kind="recommendation", text=FORMULA),
        event("recommendation-issued", t, source=hmi, inspection_id="INS-X",
              recommendation_id="R2", number=2, kind="recommendation", text=MARKUP),
        event("response-committed", t, source=cps, recommendation_id="R1", action_id="A1",
              response="agreed", text="-1+2", owner="WX-1", due_date="2017-12-31"),
        event("action-evidence-recorded", t, source=cps, action_id="A1",
              evidence="\t=1 | [y](http://evil.example)", recorded_by="WX-1",
              recorded_date="2017-11-01"),
    ]  # fmt: skip
    async with runtime.sessions() as session, session.begin():
        await apply_events(
            session=session,
            events=[parse_event(json.dumps(e)) for e in events],  # type: ignore[misc]
            rules=runtime.rules,
            calendar=runtime.calendar,
            today=TODAY,
            now=datetime.now(UTC),
        )
    async with runtime.sessions() as session:
        return await build_report(session=session, inspection_id="INS-X", today=TODAY)


async def test_the_report_of_hostile_event_data_is_inert_in_every_format(
    runtime: Runtime,
) -> None:
    report = await report_of_hostile_inspection(runtime)

    rows = list(csv.DictReader(io.StringIO(render(report, "csv"), newline="")))
    by_id = {r["recommendation_id"]: r for r in rows}
    assert by_id["R1"]["recommendation"] == "'" + FORMULA
    assert by_id["R1"]["action"] == "'-1+2"
    assert by_id["R1"]["evidence_count"] == "1"  # a number the code wrote: left alone
    assert by_id["R2"]["recommendation"] == MARKUP  # not a formula: as it came
    for row in rows:
        assert not any(cell and cell[0] in "=+-@\t\r" for cell in row.values())

    html = MarkdownIt("commonmark").enable("table").render(render(report, "md"))
    for tag in ("<a ", "<script", "<em>", "<code>c", "<b>", "<h1>#", "<h1>Rowena"):
        assert tag not in html
    assert "[x](javascript:alert(1))" in html  # shown as text
    for table in html.split("<table>")[1:]:
        head, _, body = table.partition("<tbody>")
        widths = {row.count("<td>") for row in body.split("<tr>")[1:]}
        assert widths == {head.count("<th>")}  # no cell split off or merged

    page = render(report, "html")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>title</b>" not in page
