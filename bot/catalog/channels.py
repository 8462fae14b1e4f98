"""Channels and forum topics: who set a channel up, which channels a person manages, and the
topic a group's digest goes to.

Settings of a channel change through the same services as any chat (``bot.catalog.chats``);
the handlers check with Telegram, at each change, that the person is still its administrator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.context import Deps
from storage import chats as chat_store
from storage.db import session_scope


@dataclass(frozen=True, slots=True)
class ChannelRef:
    chat_id: int
    title: str
    added_by: int | None
    subscribed: bool


def channel_added(deps: Deps, *, chat_id: int, user_id: int | None) -> None:
    """The bot became an administrator that can post: remember who did it; reachable again."""
    with session_scope(deps.engine) as session:
        values: dict[str, object] = {"active": True}
        if user_id is not None:
            values["added_by"] = user_id
        chat_store.update_chat(session=session, chat_id=chat_id, **values)


def channel_lost(deps: Deps, *, chat_id: int) -> ChannelRef | None:
    """The bot can no longer post: stop the digest (settings kept). The channel as it was,
    or None when it was already inactive (nobody to tell twice)."""
    with session_scope(deps.engine) as session:
        chat = chat_store.get_chat(session=session, chat_id=chat_id)
        if chat is None or not chat.active:
            return None
        ref = ChannelRef(chat.id, chat.title or str(chat.id), chat.added_by, chat.subscribed)
        chat_store.deactivate_chats(session=session, chat_ids=[chat_id])
        return ref


def due_channels(deps: Deps, *, now: datetime) -> list[ChannelRef]:
    """Channels about to be planned; the caller confirms the bot may still post in each."""
    with session_scope(deps.engine) as session:
        return [
            ChannelRef(c.id, c.title or str(c.id), c.added_by, c.subscribed)
            for c in chat_store.due_channels(session=session, now=now)
        ]


def channels_of(deps: Deps, *, user_id: int) -> list[ChannelRef]:
    """Channels this person set up, to be confirmed against Telegram by the caller."""
    with session_scope(deps.engine) as session:
        return [
            ChannelRef(c.id, c.title or str(c.id), c.added_by, c.subscribed)
            for c in chat_store.channels_added_by(session=session, user_id=user_id)
        ]


def channel_title(deps: Deps, *, chat_id: int) -> str | None:
    """The channel's title, or None when the bot does not know this chat as a channel."""
    with session_scope(deps.engine) as session:
        chat = chat_store.get_chat(session=session, chat_id=chat_id)
        if chat is None or chat.type != "channel":
            return None
        return chat.title or str(chat.id)


def set_topic(deps: Deps, *, chat_id: int, thread_id: int | None) -> None:
    """The forum topic the digest goes to (None: General)."""
    with session_scope(deps.engine) as session:
        chat_store.update_chat(session=session, chat_id=chat_id, message_thread_id=thread_id)
