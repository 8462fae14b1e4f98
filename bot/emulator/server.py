"""HTTP transport for FakeTelegram: a tornado server on loopback speaking the Bot API."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.rules import is_loopback_host

from .params import ApiResponse
from .state import FakeTelegram

_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


def _json_response(handler: tornado.web.RequestHandler, status: int, body: dict[str, Any]) -> None:
    handler.set_status(status)
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps(body))


class _BotApiHandler(tornado.web.RequestHandler):
    """``/bot<token>/<method>``: decode parameters and hand them to FakeTelegram."""

    fake: FakeTelegram
    server: FakeTelegramServer

    def initialize(self, fake: FakeTelegram, server: FakeTelegramServer) -> None:
        self.fake = fake
        self.server = server
        self._disconnected = asyncio.Event()

    def on_connection_close(self) -> None:
        self._disconnected.set()

    def check_xsrf_cookie(self) -> None:
        return None

    async def get(self, token: str, method: str) -> None:
        await self._handle(token, method)

    async def post(self, token: str, method: str) -> None:
        await self._handle(token, method)

    def _params(self) -> dict[str, Any]:
        # PTB's HTTPXRequest sends application/x-www-form-urlencoded (every non-string value
        # JSON-encoded) or multipart/form-data when uploading; other clients send JSON.
        params: dict[str, Any] = {
            name: values[-1].decode() for name, values in self.request.query_arguments.items()
        }
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and self.request.body:
            try:
                body = json.loads(self.request.body)
            except json.JSONDecodeError:
                raise ValueError("can't parse JSON body") from None
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            params.update(body)
        else:
            for name, values in self.request.body_arguments.items():
                params[name] = values[-1].decode()
            for name, files in self.request.files.items():
                upload = files[-1]
                params[name] = {
                    "filename": upload.filename,
                    "content_type": upload.content_type,
                    "size": len(upload.body),
                }
        return params

    async def _handle(self, token: str, method: str) -> None:
        if token != self.fake.token:
            if _TOKEN_SHAPE.match(token):
                _json_response(
                    self, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                )
            else:
                _json_response(
                    self, 404, {"ok": False, "error_code": 404, "description": "Not Found"}
                )
            return
        try:
            params = self._params()
        except ValueError as err:
            _json_response(
                self, 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {err}"}
            )
            return
        response = await self.fake.call_api(method, params)
        if response.after is not None:
            await self._lose_response(response)
            return
        self.set_status(response.status)
        self.set_header("Content-Type", response.content_type)
        self.finish(response.body())

    async def _lose_response(self, response: ApiResponse) -> None:
        """The request was applied; now simulate the answer never arriving."""
        if response.after == "hang":
            hang = asyncio.ensure_future(self.fake.wait_closing(response.hang_seconds))
            gone = asyncio.ensure_future(self._disconnected.wait())
            try:
                await asyncio.wait({hang, gone}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                hang.cancel()
                gone.cancel()
        # detach() marks the handler finished so tornado writes nothing, then we hang up.
        self.detach().close()


class _NotFoundHandler(tornado.web.RequestHandler):
    def prepare(self) -> None:
        _json_response(self, 404, {"ok": False, "error_code": 404, "description": "Not Found"})


class FakeTelegramServer:
    """Serve a FakeTelegram over HTTP; ``async with FakeTelegramServer(fake) as server``."""

    def __init__(
        self,
        fake: FakeTelegram,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_non_loopback: bool = False,
        extra_handlers: Sequence[Any] = (),
    ) -> None:
        if not allow_non_loopback and not is_loopback_host(host):
            raise ValueError(
                f"refusing to listen on non-loopback host {host!r}; pass allow_non_loopback=True"
            )
        self.fake = fake
        self.host = host
        self._requested_port = port
        # More tornado rules (e.g. the sandbox web chat), served by the same server.
        self.extra_handlers = list(extra_handlers)
        self.port = 0
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def api_url(self) -> str:
        """Full method prefix, e.g. ``f"{server.api_url}/getMe"``."""
        return f"{self.base_url}{self.fake.token}"

    def make_app(self) -> tornado.web.Application:
        """The tornado application (a web UI can mount more handlers next to it)."""
        return tornado.web.Application(
            [
                (
                    r"/bot([^/]+)/([A-Za-z0-9_]*)",
                    _BotApiHandler,
                    {"fake": self.fake, "server": self},
                ),
                *self.extra_handlers,
                (r"/.*", _NotFoundHandler),
            ],
            log_function=lambda handler: None,
        )

    async def start(self) -> FakeTelegramServer:
        if self._server is not None:
            return self
        self.fake.reopen()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sockets = tornado.netutil.bind_sockets(self._requested_port, self.host, family=family)
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(self.make_app())
        self._server.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        server.stop()
        self.fake.close()  # release long polls and hanging requests first
        await self.fake.stop_webhook_delivery()
        await asyncio.sleep(0)
        await server.close_all_connections()

    async def __aenter__(self) -> FakeTelegramServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
