"""Sandbox mode at the HTTP level: the real bot behind the emulator, driven via the web chat API."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.content.formats import read_stream
from bot.delivery.planner import SERVICE_KEY
from bot.rules import LANGUAGES, language_from_code
from bot.sandbox import (
    SAMPLE_AGE,
    SAMPLE_ARTICLES,
    Sandbox,
    SandboxError,
    SandboxOptions,
    load_samples,
    serve,
    shift_records,
)
from bot.sandbox.web import TELEGRAM_LANGUAGES

TIMEOUT = 15.0


@pytest.fixture
async def sandbox(settings: Settings, engine: Engine) -> AsyncIterator[Sandbox]:
    async with Sandbox(settings, engine, SandboxOptions(port=0)) as running:
        yield running


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.server.url, timeout=TIMEOUT) as http:
        yield http


async def _json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _new_user(client: httpx.AsyncClient, name: str, language: str = "en") -> int:
    data = await _json(
        await client.post(
            "/sandbox/api/users", json={"first_name": name, "language_code": language}
        ),
        201,
    )
    return int(data["user"]["id"])


async def _send(client: httpx.AsyncClient, chat_id: int, user_id: int, text: str) -> None:
    await _json(
        await client.post(
            f"/sandbox/api/chats/{chat_id}/messages", json={"user_id": user_id, "text": text}
        ),
        201,
    )


async def _bot_messages(client: httpx.AsyncClient, chat_id: int) -> list[dict[str, Any]]:
    data = await _json(await client.get(f"/sandbox/api/chats/{chat_id}/messages"))
    return [m for m in data["messages"] if m["from_bot"]]


def _entity_texts(message: dict[str, Any], kind: str) -> list[str]:
    raw = message["text"].encode("utf-16-le")
    return [
        raw[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message["entities"]
        if e["type"] == kind
    ]


# --- samples --------------------------------------------------------------------------------


def test_shift_records_moves_newest_sample_to_an_hour_ago_keeping_spacing() -> None:
    now = datetime(2031, 3, 4, 12, 0, tzinfo=UTC)
    with SAMPLE_ARTICLES.open("rb") as stream:
        records = list(read_stream(stream, "samples", now=now, jsonl=True))
    shifted = shift_records(records, now - SAMPLE_AGE)

    def stamps(items: list[Any], name: str) -> dict[str, datetime]:
        return {
            r.value["id"]: datetime.fromisoformat(r.value[name]) for r in items if r.value.get(name)
        }

    before, after = stamps(records, "published_at"), stamps(shifted, "published_at")
    assert max(after.values()) == now - timedelta(hours=1)
    delta = after["sample-001"] - before["sample-001"]
    assert all(after[key] - before[key] == delta for key in before)
    updated_before, updated_after = stamps(records, "updated_at"), stamps(shifted, "updated_at")
    assert updated_after and all(
        updated_after[key] - updated_before[key] == delta for key in updated_before
    )


def test_samples_are_imported_only_into_an_empty_database(engine: Engine) -> None:
    now = datetime.now(UTC)
    counts = load_samples(engine, SAMPLE_ARTICLES, now=now, err=io.StringIO())
    assert counts is not None and counts.imported == 25 and counts.rejected == 0
    assert load_samples(engine, SAMPLE_ARTICLES, now=now, err=io.StringIO()) is None


# --- loopback only --------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_refuses_a_non_loopback_interface(settings: Settings, engine: Engine, host: str) -> None:
    with pytest.raises(SandboxError, match="DIGESTBOT_SANDBOX_ALLOW_REMOTE"):
        Sandbox(settings, engine, SandboxOptions(host=host, port=0))


def test_a_non_loopback_interface_needs_the_explicit_allow_flag(
    settings: Settings, engine: Engine
) -> None:
    sandbox = Sandbox(settings, engine, SandboxOptions(host="0.0.0.0", port=0, allow_remote=True))
    assert sandbox.server.host == "0.0.0.0"
    for host in ("127.0.0.1", "::1", "localhost"):
        SandboxOptions(host=host).check()


def test_the_web_chat_language_picker_reaches_every_product_language() -> None:
    # Telegram codes, not product languages: each must still land on a distinct one.
    reached = [language_from_code(code) for code in TELEGRAM_LANGUAGES]
    assert sorted(map(str, reached)) == sorted(LANGUAGES)


async def test_serve_refuses_a_non_loopback_host_with_one_line(
    settings: Settings, engine: Engine
) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = await serve(
        settings, engine, out=out, err=err, options=SandboxOptions(host="0.0.0.0", port=0)
    )
    assert code == 2
    assert out.getvalue() == ""
    assert err.getvalue().startswith("digestbot: refusing to serve the sandbox on '0.0.0.0'")


async def test_serve_prints_the_mode_and_the_url_first_then_stops_cleanly(
    settings: Settings, engine: Engine
) -> None:
    class Out(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.loaded = asyncio.Event()

        def write(self, text: str) -> int:
            if "sample articles loaded" in text:
                self.loaded.set()
            return super().write(text)

    out, err = Out(), io.StringIO()
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve(settings, engine, out=out, err=err, options=SandboxOptions(port=0), stop=stop)
    )
    loaded = asyncio.create_task(out.loaded.wait())
    done, _ = await asyncio.wait({task, loaded}, timeout=TIMEOUT, return_when="FIRST_COMPLETED")
    assert loaded in done, err.getvalue()
    first = out.getvalue().splitlines()[0]
    assert first.startswith(
        "digestbot: sandbox mode (no TELEGRAM_BOT_TOKEN) — open http://127.0.0.1:"
    )
    url = first.split("open ", 1)[1].split(" ", 1)[0]
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        page = await http.get(url)
    assert page.status_code == 200 and "digestbot sandbox" in page.text
    stop.set()
    async with asyncio.timeout(TIMEOUT):
        assert await task == 0


# --- the web chat API -----------------------------------------------------------------------


async def test_page_and_static_files_are_served_without_a_cdn(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "http" not in page.text.replace('name="viewport"', "")  # no external resources
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for name in ("app.js", "app.css"):
        static = await client.get(f"/static/{name}")
        assert static.status_code == 200 and static.content
    script = (await client.get("/static/app.js")).text
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script


async def test_start_in_chinese_gets_the_bots_reply_through_the_api(
    sandbox: Sandbox, client: httpx.AsyncClient
) -> None:
    user_id = await _new_user(client, "李雷", "zh-hans")
    state = await _json(await client.get("/sandbox/api/state"))
    assert any(c["id"] == user_id and c["type"] == "private" for c in state["chats"])
    await _send(client, user_id, user_id, "/start")
    await sandbox.fake.wait_for(1, chat=user_id, timeout=TIMEOUT)
    replies = await _bot_messages(client, user_id)
    reply = replies[0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reply["text"]), reply["text"]
    assert reply["sender"]["is_bot"] is True
    assert reply["reply_markup"]["inline_keyboard"]


async def test_event_stream_delivers_new_bot_messages_and_edits(
    sandbox: Sandbox, client: httpx.AsyncClient
) -> None:
    user_id = await _new_user(client, "Ada")
    events: list[dict[str, Any]] = []
    async with client.stream("GET", "/sandbox/api/events") as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        async with asyncio.timeout(TIMEOUT):
            assert (await anext(lines)).startswith("retry:")
            await _send(client, user_id, user_id, "/language")
            bot_message: dict[str, Any] | None = None
            while bot_message is None:
                line = await anext(lines)
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    events.append(event)
                    if event["kind"] == "message" and event["message"]["from_bot"]:
                        bot_message = event["message"]
            # The user's own message came first, then the bot's answer.
            assert events[0]["message"]["text"] == "/language"
            buttons = [b for row in bot_message["reply_markup"]["inline_keyboard"] for b in row]
            chinese = next(b for b in buttons if b["text"] == "简体中文")
            answer = await _json(
                await client.post(
                    f"/sandbox/api/chats/{user_id}/press",
                    json={
                        "user_id": user_id,
                        "message_id": bot_message["message_id"],
                        "data": chinese["callback_data"],
                    },
                )
            )
            assert answer["query_id"]
            # The choice shows up live: an edit of that message, or a new message, in Chinese.
            while True:
                line = await anext(lines)
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                message = event.get("message")
                if event["kind"] in ("edit", "message") and message and message["from_bot"]:
                    break
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message["text"]), message["text"]
    assert sandbox.fake.callback_queries[answer["query_id"]].answered


async def test_inline_query_results_and_choosing_one_posts_the_card(
    client: httpx.AsyncClient,
) -> None:
    user_id = await _new_user(client, "Grace")
    answer = await _json(
        await client.post(
            "/sandbox/api/inline", json={"user_id": user_id, "chat_id": user_id, "query": ""}
        )
    )
    assert answer["results"], "an empty inline query lists today's top articles"
    first = answer["results"][0]
    assert first["title"] and first["text"]
    posted = await _json(
        await client.post(
            "/sandbox/api/inline/choose",
            json={
                "user_id": user_id,
                "chat_id": user_id,
                "query_id": answer["query_id"],
                "result_id": first["id"],
            },
        ),
        201,
    )
    card = posted["message"]
    assert card["via_bot"] and not card["from_bot"]
    assert card["text"] == first["text"]
    assert card["reply_markup"]["inline_keyboard"]


async def test_group_with_members_and_deliver_digest_now_once_per_day(
    sandbox: Sandbox, client: httpx.AsyncClient
) -> None:
    admin = await _new_user(client, "Admin")
    member = await _new_user(client, "Member")
    created = await _json(
        await client.post(
            "/sandbox/api/groups",
            json={"title": "AI club", "members": [member], "admins": [admin], "added_by": admin},
        ),
        201,
    )
    chat = created["chat"]
    assert chat["type"] == "group" and chat["bot_status"] == "member"
    assert chat["members"] == {str(admin): "administrator", str(member): "member"}

    # A non-admin cannot subscribe the group, so nothing is delivered for them.
    refused = await _json(
        await client.post(f"/sandbox/api/chats/{chat['id']}/deliver", json={"user_id": member})
    )
    assert refused == {"mode": "planner", "planned": 0, "detail": "not_subscribed"}

    result = await _json(
        await client.post(f"/sandbox/api/chats/{chat['id']}/deliver", json={"user_id": admin})
    )
    assert result == {"mode": "planner", "planned": 1, "detail": "planned"}

    def digest_sent() -> bool:
        return any(
            m.params.get("text", "").startswith("📰") or "📰" in (m.text or "")
            for m in sandbox.fake.bot_messages(chat["id"])
        )

    await sandbox.fake.wait_for(digest_sent, timeout=TIMEOUT)
    again = await _json(
        await client.post(f"/sandbox/api/chats/{chat['id']}/deliver", json={"user_id": admin})
    )
    assert again["detail"] == "already_delivered_today"


async def test_deliver_now_counts_the_row_whoever_plans_it(sandbox: Sandbox) -> None:
    """The scheduled pass may run at the same moment and plan the chat first: "deliver now"
    still reports the digest it caused (passes of one process run one at a time)."""
    assert sandbox.application is not None
    service = sandbox.application.bot_data[SERVICE_KEY]
    user = sandbox.fake.create_user("Bo", language_code="en")
    results = await asyncio.gather(
        *(sandbox.deliver_now(user.id, user.id) if i == 2 else service.tick() for i in range(4))
    )
    assert results[2] == {"mode": "planner", "planned": 1, "detail": "planned"}
    await sandbox.fake.wait_for(lambda: sandbox.fake.bot_messages(user.id), timeout=TIMEOUT)


async def test_api_errors_are_json_and_short(sandbox: Sandbox, client: httpx.AsyncClient) -> None:
    user_id = next(iter(sandbox.fake.users))
    missing = await client.post(
        "/sandbox/api/chats/999/messages", json={"user_id": user_id, "text": "hi"}
    )
    assert missing.status_code == 404 and "999" in missing.json()["error"]
    form = await client.post(
        f"/sandbox/api/chats/{user_id}/messages", data={"user_id": str(user_id), "text": "hi"}
    )
    assert form.status_code == 415  # cross-site forms cannot post
    empty = await client.post(
        f"/sandbox/api/chats/{user_id}/messages", json={"user_id": user_id, "text": "  "}
    )
    assert empty.status_code == 400
    bad_lang = await client.post(
        "/sandbox/api/users", json={"first_name": "X", "language_code": "fr"}
    )
    assert bad_lang.status_code == 400


async def test_foreign_host_names_are_refused(client: httpx.AsyncClient) -> None:
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not drive the API.
    response = await client.get("/sandbox/api/state", headers={"Host": "evil.example"})
    assert response.status_code == 421
