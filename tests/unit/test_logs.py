"""The JSON log lines: a record's own keys are never overwritten by its extra fields, and
uvicorn's loggers write through the same JSON handler as everything else."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from services.platform import logs

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def formatted(**extra: Any) -> dict[str, Any]:
    logger = logging.getLogger("followup.alerts")
    record = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 1, "nobody on record to alert", (), None,
        extra=extra,
    )  # fmt: skip
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_an_alarms_level_does_not_replace_the_records_level() -> None:
    entry = formatted(obligation_ref="ob-1", level="lapse", area="w")
    assert entry["level"] == "error"
    assert (entry["extra_level"], entry["obligation_ref"], entry["area"]) == ("lapse", "ob-1", "w")


def test_no_extra_field_replaces_any_of_the_records_own() -> None:
    entry = formatted(time="then", logger="other", exception="none")
    assert entry["logger"] == "followup.alerts" and entry["time"] != "then"
    assert "exception" not in entry
    assert (entry["extra_time"], entry["extra_logger"], entry["extra_exception"]) == (
        "then",
        "other",
        "none",
    )


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """logs.configure and uvicorn change process-wide loggers: put them back afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    named = {
        name: (lg.handlers[:], lg.level, lg.propagate)
        for name in UVICORN_LOGGERS
        if (lg := logging.getLogger(name)) is not None
    }
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, (handlers, level, propagate) in named.items():
        lg = logging.getLogger(name)
        lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


@pytest.mark.usefixtures("restored_logging")
def test_uvicorns_lines_are_json_like_the_rest(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO")

    async def api(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    uvicorn.Config(api, host="127.0.0.1", port=1, **logs.UVICORN_LOGGING)  # as services/app.py
    logging.getLogger("uvicorn.error").error("error while attempting to bind on address")
    logging.getLogger("uvicorn.access").warning(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/metrics", "1.1", 500
    )
    logging.getLogger("uvicorn.error").info("Started server process")  # below its level
    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [(e["logger"], e["level"]) for e in entries] == [
        ("uvicorn.error", "error"),
        ("uvicorn.access", "warning"),
    ]
    assert entries[1]["message"] == '127.0.0.1:5 - "GET /metrics HTTP/1.1" 500'
