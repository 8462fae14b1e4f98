"""A strict fake OpenAI-compatible server on loopback, for the real ``openai`` client.

Like the Bot API emulator, it checks every request as a real server would: the bearer key,
the model, the messages, ``response_format`` (a strict ``json_schema`` whose ``required``
lists every property, or ``json_object`` with "JSON" in the messages). Answers are built
from the prompt itself: the article JSON and the answer shape the prompt carries; a
translation is the source text behind a marker (``【译】`` for Chinese, ``[EN]`` for
English), so tests can see where each text came from. ``fail_next`` scripts faults: a slow
answer, 429 with Retry-After, 500, invalid JSON, JSON that breaks the schema, a cut-off
answer (``finish_reason: "length"``), or a 400 for ``json_schema``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

ZH_MARK = "【译】"
EN_MARK = "[EN] "


@dataclass
class Fault:
    # slow | 429 | 500 | invalid_json | schema_break | length | no_schema | bad_request
    kind: str
    seconds: float = 0.0
    retry_after: str = "30"


@dataclass
class FakeLlm:
    model: str = "fake-model"
    api_key: str = "sk-fake-0123456789-secret"
    embedding_model: str = "fake-embed"
    refuse_json_schema: bool = False
    tokens_per_answer: int = 1000
    chat_requests: list[dict[str, Any]] = field(default_factory=list)
    embedding_requests: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    vectors: dict[str, list[float]] = field(default_factory=dict)

    def fail_next(self, kind: str, times: int = 1, **options: Any) -> None:
        for _ in range(times):
            self.faults.append(Fault(kind, **options))


def _error(status: int, message: str, **extra: Any) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", **extra}}
    return web.json_response(body, status=status)


def _strict_schema_problem(schema: Any, where: str = "schema") -> str | None:
    """What makes ``schema`` unacceptable in strict mode (as OpenAI documents it)."""
    if not isinstance(schema, dict):
        return f"{where} is not an object"
    if schema.get("type") == "object":
        props = schema.get("properties")
        if not isinstance(props, dict):
            return f"{where}.properties missing"
        if schema.get("additionalProperties") is not False:
            return f"{where}.additionalProperties must be false"
        if sorted(schema.get("required", [])) != sorted(props):
            return f"{where}.required must list every property"
        for name, sub in props.items():
            problem = _strict_schema_problem(sub, f"{where}.{name}")
            if problem:
                return problem
    elif schema.get("type") == "array":
        return _strict_schema_problem(schema.get("items"), f"{where}.items")
    elif schema.get("type") not in ("string", "integer", "number", "boolean"):
        return f"{where}.type unsupported"
    return None


def _json_after(text: str, marker: str) -> Any:
    start = text.index(marker) + len(marker)
    decoder = json.JSONDecoder()
    brace = text.index("{", start)
    value, _end = decoder.raw_decode(text, brace)
    return value


def _translate(text: str, lang: str) -> str:
    return (ZH_MARK + text) if lang == "zh" else (EN_MARK + text)


def answer_for(
    article: dict[str, Any], shape: dict[str, Any], slugs: list[str] | None = None
) -> dict[str, Any]:
    """A valid answer to ``shape`` about ``article`` (translations marked, analysis 3 ¶,
    the first tag slug offered)."""
    answer: dict[str, Any] = {}
    for name in ("title", "summary", "analysis"):
        if name not in shape:
            continue
        have = article.get(name) or {}
        answer[name] = {}
        for lang in shape[name]:
            if have:
                source = next(iter(have.values()))
                if name == "summary":
                    source = source[:200]
                answer[name][lang] = _translate(source, lang)
                continue
            base = next(iter(article["summary"].values()))[:80]
            label = "深度分析" if lang == "zh" else "Analysis"
            answer[name][lang] = "\n\n".join(f"{label} {i}: {base}" for i in range(1, 4))
    if "scores" in shape:
        answer["scores"] = {"hot": 81, "quality": 72, "impact": 64}
        answer["rationale"] = {
            score: {"en": f"Why {score}: it matters.", "zh": f"{score}评分理由:影响大。"}
            for score in ("hot", "quality", "impact")
        }
    if "tags" in shape:
        answer["tags"] = (slugs or [])[:1]
    return answer


class FakeLlmServer:
    """Serves ``FakeLlm`` on 127.0.0.1 (a free port); ``base_url`` ends in ``/v1``."""

    def __init__(self, fake: FakeLlm) -> None:
        self.fake = fake
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeLlmServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def _refuse(self, status: int, message: str, **extra: Any) -> web.Response:
        self.fake.errors.append((status, message))
        return _error(status, message, **extra)

    def _auth(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.fake.api_key}":
            return self._refuse(401, "Incorrect API key provided")
        return None

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._refuse(400, "body is not JSON")
        if not isinstance(body, dict):
            return self._refuse(400, "body is not an object")
        return body

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        refused = self._auth(request)
        if refused:
            return refused
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if body.get("model") != self.fake.model:
            return self._refuse(404, f"The model `{body.get('model')}` does not exist")
        messages = body.get("messages")
        if (
            not isinstance(messages, list)
            or not messages
            or any(
                not isinstance(m, dict)
                or m.get("role") not in ("system", "user", "assistant")
                or not isinstance(m.get("content"), str)
                or not m["content"].strip()
                for m in messages
            )
            or messages[0]["role"] != "system"
            or messages[-1]["role"] != "user"
        ):
            return self._refuse(400, "messages: expected system then user messages with text")
        fmt = body.get("response_format")
        if not isinstance(fmt, dict):
            return self._refuse(400, "response_format is required by this fake")
        fault = self.fake.faults.popleft() if self.fake.faults else None
        user = messages[-1]["content"]
        try:
            article = _json_after(user, "as its publisher sent it (JSON):")
            shape = _json_after(user, "with no other keys and no text around it:")
        except (ValueError, json.JSONDecodeError):
            return self._refuse(400, "the prompt carries no article or answer shape")
        if fault and fault.kind == "bad_request":
            return self._refuse(
                400, "This model's maximum context length is 8192 tokens", param="messages"
            )
        if fmt.get("type") == "json_schema":
            if self.fake.refuse_json_schema or (fault and fault.kind == "no_schema"):
                return self._refuse(
                    400, "response_format json_schema is not supported", param="response_format"
                )
            spec = fmt.get("json_schema") or {}
            if not spec.get("name") or spec.get("strict") is not True:
                return self._refuse(400, "json_schema needs a name and strict: true")
            problem = _strict_schema_problem(spec.get("schema"))
            if problem:
                return self._refuse(400, f"invalid schema: {problem}")
            if sorted(spec["schema"]["properties"]) != sorted(shape):
                return self._refuse(400, "the schema and the prompt ask for different fields")
        elif fmt.get("type") == "json_object":
            if not any("JSON" in m["content"] for m in messages):
                return self._refuse(400, "'messages' must contain the word 'json'")
        else:
            return self._refuse(400, f"unknown response_format type {fmt.get('type')!r}")
        self.fake.chat_requests.append(body)
        finish = "stop"
        offered = re.search(r"Tag slugs you may choose from: (.*)", user)
        slugs = offered.group(1).split(", ") if offered else None
        content = json.dumps(answer_for(article, shape, slugs), ensure_ascii=False)
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "429":
                return web.json_response(
                    {"error": {"message": "Rate limit reached", "type": "requests"}},
                    status=429,
                    headers={"Retry-After": fault.retry_after},
                )
            elif fault.kind == "500":
                return _error(500, "The server had an error while processing your request")
            elif fault.kind == "invalid_json":
                content = '{"title": {"zh": "未完'
            elif fault.kind == "schema_break":
                broken = json.loads(content)
                broken.pop("summary", None)
                if "scores" in broken:
                    broken["scores"]["hot"] = "very hot"
                content = json.dumps(broken, ensure_ascii=False)
            elif fault.kind == "length":
                content, finish = content[: len(content) // 2], "length"
        tokens = self.fake.tokens_per_answer
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.fake.chat_requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.fake.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": tokens * 3 // 4,
                    "completion_tokens": tokens - tokens * 3 // 4,
                    "total_tokens": tokens,
                },
            }
        )

    def _vector(self, text: str) -> list[float]:
        for key, vector in self.fake.vectors.items():
            if key in text:
                return vector
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        return [b / 255 - 0.5 for b in digest[:16]]

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        refused = self._auth(request)
        if refused:
            return refused
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if body.get("model") != self.fake.embedding_model:
            return self._refuse(404, f"The model `{body.get('model')}` does not exist")
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if (
            not isinstance(inputs, list)
            or not inputs
            or not all(isinstance(t, str) and t for t in inputs)
        ):
            return self._refuse(400, "input must be a non-empty string or list of strings")
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            return self._refuse(400, "encoding_format must be float or base64")
        self.fake.embedding_requests.append(body)

        def encoded(vector: list[float]) -> Any:
            if encoding == "float":
                return vector
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")

        return web.json_response(
            {
                "object": "list",
                "model": self.fake.embedding_model,
                "data": [
                    {"object": "embedding", "index": i, "embedding": encoded(self._vector(t))}
                    for i, t in enumerate(inputs)
                ],
                "usage": {"prompt_tokens": 10 * len(inputs), "total_tokens": 10 * len(inputs)},
            }
        )
