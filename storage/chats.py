"""Chats and their digest settings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from storage.db import insert_ignoring_conflicts
from storage.models import Chat, ChatFilter, ChatMutedTag, ChatTag, DeliveredArticle
from storage.types import utcnow

_CHAT = Chat.__table__  # type: ignore[attr-defined]
_CHAT_TAG = ChatTag.__table__  # type: ignore[attr-defined]


def get_chat(*, session: Session, chat_id: int) -> Chat | None:
    return session.get(Chat, chat_id)


def ensure_chat(
    *,
    session: Session,
    chat_id: int,
    chat_type: str,
    title: str | None,
    language: str,
    timezone: str,
    digest_time: str,
    article_count: int,
) -> Chat:
    """Return the chat, creating it on first contact with the operator's defaults and the
    language of the person who wrote first (the digest has no user to ask later)."""
    chat = session.get(Chat, chat_id)
    if chat is None:
        # Two updates from a new chat can arrive at once: the second insert is a no-op.
        now = utcnow()
        row = {
            "id": chat_id,
            "type": chat_type,
            "title": title,
            "language": language,
            "timezone": timezone,
            "digest_time": digest_time,
            "article_count": article_count,
            "subscribed": False,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        insert_ignoring_conflicts(session, _CHAT, [row])
        chat = session.get(Chat, chat_id)
        assert chat is not None
    elif chat.title != title or chat.type != chat_type or not chat.active:
        # A chat that writes to us again (unblocked, re-added) is reachable again.
        chat.title, chat.type, chat.active = title, chat_type, True
        chat.updated_at = utcnow()
    return chat


def update_chat(*, session: Session, chat_id: int, **values: object) -> Chat | None:
    """Set settings columns (language, timezone, digest_time, article_count, subscribed, ...)."""
    chat = session.get(Chat, chat_id)
    if chat is None:
        return None
    for name, value in values.items():
        if name not in Chat.model_fields or name in {"id", "created_at"}:
            raise ValueError(f"not a chat setting: {name}")
        setattr(chat, name, value)
    chat.updated_at = utcnow()
    session.add(chat)
    return chat


def followed_tag_ids(*, session: Session, chat_id: int) -> set[int]:
    rows = session.exec(select(ChatTag.tag_id).where(ChatTag.chat_id == chat_id))
    return set(rows)


def set_tag_followed(*, session: Session, chat_id: int, tag_id: int, followed: bool) -> None:
    if followed:  # a double tap must not fail on the second insert
        insert_ignoring_conflicts(session, _CHAT_TAG, [{"chat_id": chat_id, "tag_id": tag_id}])
    else:
        session.execute(
            delete(ChatTag).where(col(ChatTag.chat_id) == chat_id, col(ChatTag.tag_id) == tag_id)
        )


def deactivate_chats(
    *, session: Session, chat_ids: Iterable[int], now: datetime | None = None
) -> None:
    """The bot was blocked or removed: keep the settings, send nothing more."""
    ids = sorted(set(chat_ids))
    if ids:
        session.execute(
            update(Chat)
            .where(col(Chat.id).in_(ids))
            .values(active=False, updated_at=now or utcnow())
        )


def migrate_chat(*, session: Session, old_id: int, new_id: int) -> None:
    """A group became a supergroup: move the chat and everything keyed by its id."""
    old = session.get(Chat, old_id)
    if old is None or session.get(Chat, new_id) is not None:
        return
    new = Chat(**{**old.model_dump(), "id": new_id, "type": "supergroup", "updated_at": utcnow()})
    session.add(new)
    session.flush()
    for table in (ChatTag, DeliveredArticle, ChatFilter, ChatMutedTag):
        session.execute(update(table).where(col(table.chat_id) == old_id).values(chat_id=new_id))
    session.delete(old)
    session.flush()


def subscriber_counts(*, session: Session) -> list[tuple[str | None, str, int]]:
    """(language, chat type, count) of subscribed, active chats."""
    rows = session.exec(
        select(Chat.language, Chat.type, func.count())
        .where(col(Chat.subscribed), col(Chat.active))
        .group_by(col(Chat.language), col(Chat.type))
    )
    return [(lang, kind, int(n)) for lang, kind, n in rows]


def count_inactive_chats(*, session: Session) -> int:
    """Chats the bot was blocked in or removed from (``active`` False)."""
    return int(session.exec(select(func.count()).select_from(Chat).where(~col(Chat.active))).one())


def digest_subscriptions(*, session: Session) -> list[tuple[str | None, tuple[int, ...], int]]:
    """(language, followed tag ids ascending, article count) of each subscribed, active chat."""
    chats = session.exec(
        select(Chat.id, Chat.language, Chat.article_count).where(
            col(Chat.subscribed), col(Chat.active)
        )
    ).all()
    followed: dict[int, list[int]] = {}
    for chat_id, tag_id in session.exec(
        select(ChatTag.chat_id, ChatTag.tag_id).order_by(col(ChatTag.chat_id), col(ChatTag.tag_id))
    ):
        followed.setdefault(int(chat_id), []).append(int(tag_id))
    return [
        (language, tuple(followed.get(int(chat_id), ())), int(count))
        for chat_id, language, count in chats
    ]


def active_channels(*, session: Session) -> list[Chat]:
    """Every active channel the bot is in, by title (who administers each is Telegram's to say)."""
    rows = session.exec(
        select(Chat)
        .where(Chat.type == "channel", col(Chat.active))
        .order_by(col(Chat.title), col(Chat.id))
    )
    return list(rows)


def leave_topic(*, session: Session, chat_id: int, thread_id: int) -> bool:
    """The subscription's topic was closed or deleted: deliver to General from now on. True
    only for the caller that cleared it, so the admins are told once however many senders."""
    result = session.execute(
        update(Chat)
        .where(col(Chat.id) == chat_id, col(Chat.message_thread_id) == thread_id)
        .values(message_thread_id=None, updated_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


def due_channels(*, session: Session, now: datetime) -> list[Chat]:
    """Subscribed, active channels whose digest is due: the planner checks the bot may post."""
    rows = session.exec(
        select(Chat).where(
            Chat.type == "channel",
            col(Chat.subscribed),
            col(Chat.active),
            col(Chat.next_digest_at) <= now,
        )
    )
    return list(rows)
