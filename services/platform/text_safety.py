"""Event data on its way into CSV, Markdown and plain text, made inert: a spreadsheet never
runs a cell as a formula, a Markdown table keeps its shape and gains no link, image or HTML,
and a line of a plain-text email stays one line (docs/contract.md, section 11, "Safe
outputs, mail and logs"). HTML is escaped by Jinja2's autoescape instead."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

# OWASP's CSV injection list: a spreadsheet reads a cell starting with one of these as a
# formula (tab and CR because some strip them and read on).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Characters that begin Markdown syntax anywhere in a line (emphasis, code, links and images,
# autolinks and raw HTML, table cells, strikethrough) or that escape it.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
# What makes a block (heading, list item, setext underline) at a line's start; `>` is escaped
# everywhere already.
_MARKDOWN_LINE_START = re.compile(r"^([#+=-])")
_MARKDOWN_ORDERED = re.compile(r"^(\d+)([.)])")

# Bidirectional overrides and isolates reorder what a reader sees (Trojan Source).
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def csv_cell(value: Any) -> Any:
    """A string that a spreadsheet would read as a formula gets a leading `'`; every other
    value is returned as it is. Numbers the code writes (a count, a -1) stay numbers: only
    strings can carry event data, so only strings are neutralised."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: csv_cell(value) for key, value in row.items()}


if TYPE_CHECKING:
    _DictWriter = csv.DictWriter[str]
else:  # not subscriptable at run time before Python 3.12
    _DictWriter = csv.DictWriter


class CsvWriter(_DictWriter):
    """The DictWriter every CSV output uses: each row neutralised (`csv_row`), and RFC 4180's
    CRLF between rows, which also makes the writer quote a cell holding a lone CR (with `\n`
    it would not, and a reader would split the row there)."""

    def __init__(self, out: IO[str], fieldnames: Sequence[str]) -> None:
        super().__init__(out, fieldnames=fieldnames, lineterminator="\r\n")

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow(csv_row(rowdict))

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for row in rowdicts:
            self.writerow(row)


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as CSV through `CsvWriter`: the columns every row has between them, in the order
    first seen; a list or object in a cell written as JSON."""
    fields = list(dict.fromkeys(key for row in rows for key in row))
    text = io.StringIO()
    writer = CsvWriter(text, fields)
    writer.writeheader()
    writer.writerows(
        {k: v if _scalar(v) else json.dumps(v, default=str) for k, v in row.items()} for row in rows
    )
    return text.getvalue()


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def plain_text(value: object, *, single_line: bool = True) -> str:
    """`value` as text with no control characters: a tab, CR, line or paragraph separator,
    bidi override or other control becomes a space; newlines too when `single_line`. Runs of
    whitespace collapse to one space on a single line."""
    text = "".join(
        " " if _is_control(ch, keep_newline=not single_line) else ch for ch in str(value)
    )
    return " ".join(text.split()) if single_line else text


def _is_control(ch: str, *, keep_newline: bool) -> bool:
    if ch == "\n":
        return not keep_newline
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI


def markdown_cell(value: object) -> str:
    """`value` as one line of Markdown inline text that renders as exactly those characters:
    no emphasis, code, link, image, HTML or table cell break, whatever it holds. A table cell
    holds inline content only, so this is all a cell needs; a number stays as it is."""
    if isinstance(value, int | float):
        return str(value)
    return _MARKDOWN_INLINE.sub(r"\\\1", plain_text(value))


def markdown_text(value: object) -> str:
    """`markdown_cell`, and no block either (heading, list item) should it start a line: safe
    in a heading, a list item, a quote or a paragraph."""
    text = _MARKDOWN_LINE_START.sub(r"\\\1", markdown_cell(value))
    return _MARKDOWN_ORDERED.sub(r"\1\\\2", text)


def markdown_code(value: object, *, in_table: bool = False) -> str:
    """`value` as one inline code span: the fence is longer than any run of backticks inside
    (CommonMark 6.1). In a table a `|` must still be escaped, code span or not (GFM 4.10)."""
    text = plain_text(value)
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"
