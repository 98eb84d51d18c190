"""Log formatting: one JSON object per line (for log shippers) or plain text (for people).

Records may carry structured fields in `record.fields` (a dict, passed as
`extra={"fields": ...}`): JSON lines put them at the top level, text lines append them
as JSON. The request log (gateway/observability/requestlog.py) is written that way.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import orjson

from gateway.config.settings import LogSettings

__all__ = ["JsonFormatter", "TextFormatter", "configure_logging"]

_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", **fields}`, plus `exception` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(_TEXT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            text += " " + orjson.dumps(fields, default=str).decode()
        return text


def configure_logging(settings: LogSettings) -> None:
    """The root handler on stderr in the configured format. Called by the processes that
    serve (the command, each worker), never by create_app: tests keep their own handlers."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    logging.basicConfig(level=settings.level, handlers=[handler], force=True)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its start-up chatter hides the log
