"""Request parameters in and responses out of ``FakeTelegram.call_api``, and time helpers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import bad_request
from .limits import PostAction


def utc_now() -> datetime:
    return datetime.now(UTC)


def unix_ts(moment: datetime) -> int:
    return int(moment.timestamp())


class Params:
    """Request parameters; form bodies carry strings, JSON bodies carry typed values."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)

    def present(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def get_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)

    def get_int(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_float(self, name: str) -> float | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def get_json(self, name: str, what: str | None = None) -> Any:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise bad_request(f"can't parse {what or name} JSON object") from None
        return value


@dataclass(frozen=True)
class ApiResponse:
    """What the transport must send back (or, with ``after``, deliberately not send)."""

    status: int
    payload: dict[str, Any] | None
    raw_body: bytes | None = None  # non-JSON body, e.g. nginx's 502 page
    after: PostAction | None = None
    hang_seconds: float | None = None

    @property
    def content_type(self) -> str:
        return "application/json" if self.raw_body is None else "text/html"

    def body(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        return json.dumps(self.payload, ensure_ascii=False).encode()
