"""How every listing command writes what it found: `--format table|json|csv` (`--json` kept
as the same as `--format json`) and `-o FILE`, one way for all of them.

A table for a person at a terminal fits the terminal; anywhere else (a pipe, a file) no column
is cut, so ids are copied whole. JSON is the rows as the command found them. CSV has every
field of every row, neutralised against formula injection (services/platform/text_safety.py).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from services.platform.text_safety import csv_text

FORMATS = ("table", "json", "csv")

FormatOption = Annotated[
    str, typer.Option("--format", help="table (default), json or csv.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="The same as --format json.")]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file, not standard output.")
]
# A column of the table: its header and how a row shows in it (text is shown as it is, never
# read as rich markup: event data may hold square brackets; a Text carries its own style).
Column = tuple[str, Callable[[Mapping[str, Any]], "str | Text"]]


def chosen(fmt: str, as_json: bool) -> str:
    """The format asked for, refused with the list when it is none of them."""
    if as_json:
        return "json"
    if fmt not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}, not {fmt!r}",
                                 param_hint="--format")  # fmt: skip
    return fmt


def emit(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    fmt: str,
    output: Path | None,
    title: str | None = None,
    footer: str | None = None,
) -> None:
    """Write `rows` in `fmt` to `output` or standard output."""
    if fmt == "json":
        _write(json.dumps(list(rows), indent=2, default=str) + "\n", output)
    elif fmt == "csv":
        _write(csv_text(rows), output)
    else:
        _write(table_text(rows, columns, title=title, footer=footer, to_terminal=output is None),
               output)  # fmt: skip


def emit_object(found: Mapping[str, Any], *, fmt: str, output: Path | None) -> None:
    """One object (a status, an explanation) as JSON, or as CSV of its top-level fields."""
    if fmt == "csv":
        _write(csv_text([found]), output)
    else:
        _write(json.dumps(found, indent=2, default=str) + "\n", output)


def table_text(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    title: str | None,
    footer: str | None,
    to_terminal: bool,
) -> str:
    """The table as text: fitted to the terminal when it goes to one; else no cell cut or
    folded (a console as wide as the widest row) and no colour."""
    terminal = to_terminal and sys.stdout.isatty()
    if terminal:
        console = Console(file=io.StringIO(), force_terminal=True,
                          width=Console().width)  # fmt: skip
    else:
        console = Console(file=io.StringIO(), width=100_000, no_color=True, highlight=False)
    table = Table(*(header for header, _ in columns), title=title)
    if not terminal:
        table.box = None
    for row in rows:
        table.add_row(*(_text(show(row)) for _, show in columns))
    console.print(table)
    if footer:
        console.print(footer, highlight=False, markup=False)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _text(shown: str | Text) -> Text:
    return shown if isinstance(shown, Text) else Text(shown)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from services.platform.private_files import write_user_file

    write_user_file(output, text)
    Console(stderr=True).print(f"wrote {output}", highlight=False, markup=False)
