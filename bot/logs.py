"""Logging set-up for every process: one handler on the root logger, secrets redacted.

Secrets (the bot token, passwords) reach log records from places we do not control: httpx
logs every request URL, and the Bot API URL carries the token; PTB's ``InvalidToken`` names
the token; a database error may quote its URL. So the redaction is done on the final text
of every record, traceback included, by the formatter of the one handler everything goes
through, at every level. ``DIGESTBOT_LOG_FORMAT=json`` writes one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Literal
from urllib.parse import quote

REDACTED = "[REDACTED]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loud libraries stay at WARNING unless -v asks for everything (then still redacted).
QUIET_LOGGERS = ("httpx", "httpcore", "alembic", "apscheduler", "aiohttp.access")
# Shorter strings would redact ordinary words; real secrets are longer.
_MIN_SECRET = 6

LogFormat = Literal["text", "json"]


def secret_variants(secrets: Iterable[str | None]) -> list[str]:
    """Each secret as it may be written: raw and URL-quoted; a bot token also by its secret
    half (after the colon), which identifies it on its own. Longest first, so a longer match
    is never left half-redacted by a shorter one."""
    found: set[str] = set()
    for secret in secrets:
        if not secret or len(secret) < _MIN_SECRET:
            continue
        parts = [secret]
        _, colon, tail = secret.partition(":")
        if colon and len(tail) >= _MIN_SECRET:
            parts.append(tail)
        for part in parts:
            found.update({part, quote(part, safe=""), quote(part)})
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFormatter(logging.Formatter):
    """The usual text line (traceback included), with every secret replaced."""

    def __init__(self, secrets: Iterable[str | None], fmt: str = TEXT_FORMAT) -> None:
        super().__init__(fmt)
        self.secrets = secret_variants(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class JsonFormatter(RedactingFormatter):
    """One JSON object per line: time, level, logger, message (and the traceback as text)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # Redact before encoding: JSON escaping would hide a secret holding a quote.
        redacted = {
            key: redact(value, self.secrets) if isinstance(value, str) else value
            for key, value in entry.items()
        }
        return json.dumps(redacted, ensure_ascii=False)


def configure_logging(
    *,
    verbose: bool = False,
    log_format: LogFormat = "text",
    secrets: Iterable[str | None] = (),
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Route every record (and Python warnings) through one redacting handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(secrets) if log_format == "json" else RedactingFormatter(secrets)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    logging.captureWarnings(True)
    return handler
