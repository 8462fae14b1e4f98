"""Retry-After as the client reads it: seconds, milliseconds or an HTTP date, capped."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import httpx

from bot.content.enrich.client import MAX_RETRY_AFTER_S, _retry_after
from storage.types import utcnow


def test_retry_after_in_its_three_spellings() -> None:
    assert _retry_after(httpx.Headers({"Retry-After": "7"})) == 7.0
    assert _retry_after(httpx.Headers({"retry-after-ms": "1500", "Retry-After": "9"})) == 1.5
    date = format_datetime(utcnow() + timedelta(seconds=120), usegmt=True)
    waited = _retry_after(httpx.Headers({"Retry-After": date}))
    assert waited is not None and 100 < waited <= 120
    assert _retry_after(httpx.Headers({"Retry-After": "86400000"})) == MAX_RETRY_AFTER_S
    assert _retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert _retry_after(httpx.Headers({})) is None
