"""Log lines: secrets redacted at every level (tracebacks included), JSON one object a line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import REDACTED, configure_logging, secret_variants

TOKEN = "7111222333:AAH-token_secret-part-0123456789"
PASSWORD = 'pa"ss\\word-42'


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_secret_is_redacted_at_every_level(log_format: str) -> None:
    stream = io.StringIO()
    configure_logging(
        verbose=True, log_format=log_format, secrets=[TOKEN, PASSWORD, None], stream=stream
    )
    # As httpx logs a request, PTB names a rejected token, a URL quotes it, a driver a password.
    logging.getLogger("httpx").debug("HTTP Request: POST https://api/bot%s/getMe", TOKEN)
    logging.getLogger("telegram.ext").info("The token `%s` was rejected", TOKEN)
    logging.getLogger("x").warning("quoted: /bot%s", TOKEN.replace(":", "%3A"))
    logging.getLogger("x").error("half: %s", TOKEN.split(":")[1])
    logging.getLogger("db").critical("password %s", PASSWORD)
    try:
        raise RuntimeError(f"failed for {TOKEN}")
    except RuntimeError:
        logging.getLogger("x").exception("boom")
    output = stream.getvalue()
    assert TOKEN not in output
    assert TOKEN.split(":")[1] not in output
    assert PASSWORD not in output and json.dumps(PASSWORD)[1:-1] not in output
    assert output.count(REDACTED) >= 6
    if log_format == "json":
        entries = [json.loads(line) for line in output.splitlines()]
        assert [e["level"] for e in entries] == [
            "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "ERROR",
        ]  # fmt: skip
        assert entries[0]["logger"] == "httpx"
        assert "Traceback" in entries[-1]["exception"]
        assert entries[-1]["time"].endswith("+00:00")


def test_libraries_stay_quiet_without_verbose() -> None:
    stream = io.StringIO()
    configure_logging(verbose=False, secrets=[TOKEN], stream=stream)
    logging.getLogger("httpx").info("HTTP Request: POST https://api/bot%s/getMe", TOKEN)
    logging.getLogger("bot.app").info("starting")
    assert stream.getvalue().count("\n") == 1 and "starting" in stream.getvalue()


def test_short_values_are_not_treated_as_secrets() -> None:
    # A 3-character password would turn every "abc" in the logs into [REDACTED].
    assert secret_variants(["abc", "", None]) == []
    assert "AAH-token_secret-part-0123456789" in secret_variants([TOKEN])
