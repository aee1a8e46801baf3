"""Event data made inert for CSV, Markdown and plain text (services/text_safety.py), checked
against hostile strings; the Markdown is rendered by a CommonMark parser with GFM tables to
show it comes out as exactly the text it was given."""

from __future__ import annotations

import csv
import html
import io

import pytest
from markdown_it import MarkdownIt

from services.platform.text_safety import (
    CsvWriter,
    csv_cell,
    csv_row,
    markdown_cell,
    markdown_code,
    markdown_text,
    plain_text,
)

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "@SUM(A1)",
    "-1+2",
    "+1",
    "\t=1",
    "\r=1",
    "| a | b |",
    "[x](javascript:alert(1))",
    "![x](http://evil.example/track.png)",
    "<script>alert(1)</script>",
    "<http://evil.example>",
    "**bold** and _under_ and ~~gone~~",
    "`code` and ``more``",
    "# heading",
    "1. listed",
    "- listed",
    "> quoted",
    "line one\nline two\r\n| x |",
    "back\\slash \\* star",
]
FORMULAS = [h for h in HOSTILE if h[0] in "=+-@\t\r"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_csv_cell_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["plain", "a=b", "50.0%", "2018-05-18", "", "'quoted"])
def test_other_csv_cells_are_left_as_they_are(text: str) -> None:
    assert csv_cell(text) == text


def test_numbers_the_code_writes_stay_numbers() -> None:
    assert csv_row({"count": -1, "ratio": -0.5, "text": "-1", "none": None}) == {
        "count": -1,
        "ratio": -0.5,
        "text": "'-1",
        "none": None,
    }


def test_a_neutralised_row_reads_back_with_every_formula_quoted() -> None:
    out = io.StringIO()
    writer = CsvWriter(out, ["text", "count"])
    writer.writeheader()
    writer.writerows({"text": text, "count": -1} for text in HOSTILE)
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert [row["text"] for row in rows] == [csv_cell(text) for text in HOSTILE]
    assert {row["count"] for row in rows} == {"-1"}


GFM = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def escaped(text: str) -> str:
    """Text as the renderer writes it out: `&`, `<`, `>` and `"` as entities, nothing else."""
    return html.escape(text, quote=False).replace('"', "&quot;")


def rendered_cell(cell: str) -> str:
    """The one body cell's HTML, from a one-column table holding it."""
    out = GFM.render(f"| h |\n|---|\n| {cell} |\n")
    body = out.split("<tbody>")[1]
    assert body.count("<td>") == 1, out  # no cell was split off
    return body.split("<td>")[1].split("</td>")[0]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_markdown_cell_renders_as_exactly_its_text(text: str) -> None:
    assert rendered_cell(markdown_cell(text)) == escaped(plain_text(text))


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_renders_as_one_paragraph_of_exactly_its_text(text: str) -> None:
    out = GFM.render(markdown_text(text))
    assert out == f"<p>{escaped(plain_text(text))}</p>\n"


@pytest.mark.parametrize("text", HOSTILE)
def test_a_quoted_line_stays_one_quoted_paragraph(text: str) -> None:
    out = GFM.render(f"> {markdown_text(text)}\n")
    expected = escaped(plain_text(text))
    assert out == f"<blockquote>\n<p>{expected}</p>\n</blockquote>\n"


@pytest.mark.parametrize("text", ["plain", "a`b", "``x``", "`", "a|b", "x\ny"])
def test_a_code_span_holds_exactly_its_text(text: str) -> None:
    out = GFM.render(markdown_code(text))
    assert out == f"<p><code>{escaped(plain_text(text))}</code></p>\n"
    in_table = rendered_cell(markdown_code(text, in_table=True))
    assert in_table == f"<code>{escaped(plain_text(text))}</code>"


def test_numbers_in_a_markdown_cell_are_written_as_numbers() -> None:
    assert (markdown_cell(-1), markdown_cell(2.5)) == ("-1", "2.5")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("one\ntwo", "one two"),
        ("carriage\rreturn", "carriage return"),
        ("tab\there", "tab here"),
        ("nul\x00bell\x07escape\x1b[31m", "nul bell escape [31m"),
        ("line\u2028paragraph\u2029next", "line paragraph next"),
        ("evil\u202etxt.exe", "evil txt.exe"),
        ("  padded   out  ", "padded out"),
    ],
)
def test_plain_text_on_one_line_has_no_control_characters(text: str, expected: str) -> None:
    assert plain_text(text) == expected


def test_plain_text_may_keep_its_newlines() -> None:
    assert plain_text("a\r\nb\x00c\n", single_line=False) == "a \nb c\n"
