"""Checks shared by the summary tests: the HTML page shows every number the JSON holds."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.cells: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "td":
            self.depth += 1
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.cells[-1] += " " + data


def html_cell_numbers(html: str) -> set[str]:
    parser = _Cells()
    parser.feed(html)
    return {n for cell in parser.cells for n in NUMBER.findall(cell)}


def json_numbers(value: Any) -> list[str]:
    """Every number in a JSON value, written as the pages write it (rates to one decimal)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, float):
        return [f"{value:.1f}"]
    if isinstance(value, dict):
        return [n for item in value.values() for n in json_numbers(item)]
    return [n for item in value for n in json_numbers(item)]


def missing_from_html(summary: dict[str, Any], html: str) -> list[str]:
    cells = html_cell_numbers(html)
    return sorted({n for n in json_numbers(summary["sections"]) if n not in cells})
