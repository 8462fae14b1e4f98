"""The HTTP transport: method routing, tokens, body formats, loopback only."""

from __future__ import annotations

import httpx
import pytest
from telegram import (
    Bot,
)

from bot.emulator import (
    FakeTelegram,
    FakeTelegramServer,
)

pytestmark = pytest.mark.asyncio


async def test_get_me_and_request_log(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "digest_test_bot"
    assert [r.method for r in fake.requests_for("getMe")] == ["getMe", "getMe"]
    assert all(r.status == 200 for r in fake.requests)


async def test_unknown_method_wrong_token_and_json_bodies(
    server: FakeTelegramServer, fake: FakeTelegram
) -> None:
    user = fake.create_user("Ann")
    async with httpx.AsyncClient() as client:
        missing = await client.post(f"{server.api_url}/noSuchMethod")
        assert missing.status_code == 404
        assert missing.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        wrong = await client.get(f"{server.base_url}123456789:WRONG/getMe")
        assert wrong.status_code == 401
        assert wrong.json()["description"] == "Unauthorized"
        # JSON body with typed values, case-insensitive method name.
        sent = await client.post(
            f"{server.api_url}/SENDMESSAGE",
            json={"chat_id": user.id, "text": "<b>hi</b>", "parse_mode": "HTML"},
        )
        assert sent.json()["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
        # Query-string GET.
        got = await client.get(f"{server.api_url}/getChat", params={"chat_id": str(user.id)})
        assert got.json()["result"]["first_name"] == "Ann"


async def test_server_refuses_non_loopback_hosts(fake: FakeTelegram) -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        FakeTelegramServer(fake, host="0.0.0.0")
    FakeTelegramServer(fake, host="::1")
    FakeTelegramServer(fake, host="0.0.0.0", allow_non_loopback=True)
