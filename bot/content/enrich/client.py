"""The model, through the official ``openai`` client (``AsyncOpenAI``).

The client's own retries are off: the queue decides when to try again (``Retry-After`` on
429, backoff on 5xx and timeouts), so a retry is visible in the database and counted against
the request rate shared by every process. Errors become ``LlmError`` with a ``kind``; its
message never carries the API key (the client never puts it in one either).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import openai
from openai import AsyncOpenAI

from bot.config import Settings
from storage.types import utcnow

log = logging.getLogger(__name__)

ErrorKind = Literal["rate", "server", "timeout", "refused", "bad_request"]
MAX_RETRY_AFTER_S = 3600.0
SCHEMA_NAME = "article_enrichment"
NO_KEY = "no-key"


class LlmError(Exception):
    """A request that got no usable answer. ``rate``/``server``/``timeout`` are transient;
    ``refused`` (401, 403, 404) needs the operator; ``bad_request`` (400, 413, 422) is this
    request's own problem (e.g. an article too long for the model)."""

    def __init__(self, kind: ErrorKind, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Completion:
    content: str
    finish_reason: str
    usage: Usage
    response_format: str  # json_schema | json_object


def _retry_after(headers: Any) -> float | None:
    """Seconds from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return min(max(float(raw_ms) / 1000, 0.0), MAX_RETRY_AFTER_S)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(raw) - utcnow()).total_seconds()
        except (TypeError, ValueError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    prompt = int(getattr(raw, "prompt_tokens", 0) or 0)
    completion = int(getattr(raw, "completion_tokens", 0) or 0)
    total = int(getattr(raw, "total_tokens", 0) or 0) or prompt + completion
    return Usage(prompt, completion, total)


def _status_error(exc: openai.APIStatusError) -> LlmError:
    status = exc.status_code
    if status == 429:
        return LlmError("rate", "HTTP 429 rate limited", _retry_after(exc.response.headers))
    if status >= 500:
        return LlmError("server", f"HTTP {status} from the model server")
    if status in (400, 413, 422):
        message = str(getattr(exc, "message", "") or "")[:200]
        return LlmError("bad_request", f"HTTP {status} from the model server: {message}")
    return LlmError("refused", f"HTTP {status} from the model server")


class LlmClient:
    """One ``AsyncOpenAI`` for the process; remembers when the server refuses json_schema."""

    def __init__(self, settings: Settings, *, client: AsyncOpenAI | None = None) -> None:
        self.model = settings.llm_model
        self.embedding_model = settings.llm_embedding_model
        self._client = client or AsyncOpenAI(
            base_url=settings.llm_base_url,
            # A local server needs no key, but the client insists on one: a placeholder it
            # ignores (it refuses an empty one).
            api_key=settings.llm_key or NO_KEY,
            max_retries=0,
            timeout=settings.llm_timeout,
        )
        self.json_schema_supported = True

    async def close(self) -> None:
        await self._client.close()

    async def _create(self, messages: list[dict[str, str]], response_format: Any) -> Any:
        try:
            return await self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=response_format,
                temperature=0.3,
            )
        except openai.APITimeoutError:
            raise LlmError("timeout", "the model server did not answer in time") from None
        except openai.APIConnectionError:
            raise LlmError("timeout", "cannot connect to the model server") from None

    async def chat(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> Completion:
        """One chat completion asking for JSON: ``json_schema`` (strict) while the server
        takes it; after a 400 the same request asks for ``json_object``, and when that one is
        accepted the server is taken not to support schemas (for the process' life). A 400 on
        both is the request's own fault and says nothing about schema support."""
        kind = "json_schema" if self.json_schema_supported else "json_object"
        try:
            if kind == "json_schema":
                try:
                    response = await self._create(
                        messages,
                        {
                            "type": "json_schema",
                            "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": schema},
                        },
                    )
                except openai.BadRequestError:
                    kind = "json_object"
                    response = await self._create(messages, {"type": "json_object"})
                    if self.json_schema_supported:
                        log.warning(
                            "the model server refused response_format json_schema (400) and "
                            "took json_object; asking for json_object from now on"
                        )
                    self.json_schema_supported = False
            else:
                response = await self._create(messages, {"type": "json_object"})
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None
        except openai.APIResponseValidationError:
            raise LlmError("server", "the model server's answer is not a chat completion") from None
        if not response.choices:
            raise LlmError("server", "the model server answered with no choices")
        choice = response.choices[0]
        return Completion(
            content=choice.message.content or "",
            finish_reason=str(choice.finish_reason or ""),
            usage=_usage(response.usage),
            response_format=kind,
        )

    async def embed(self, text: str) -> tuple[list[float], Usage]:
        try:
            response = await self._client.embeddings.create(model=self.embedding_model, input=text)
        except openai.APITimeoutError:
            raise LlmError("timeout", "the model server did not answer in time") from None
        except openai.APIConnectionError:
            raise LlmError("timeout", "cannot connect to the model server") from None
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None
        if not response.data:
            raise LlmError("server", "the embeddings answer holds no vector")
        vector = [float(x) for x in response.data[0].embedding]
        return vector, _usage(response.usage)
