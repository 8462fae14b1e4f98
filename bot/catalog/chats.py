"""Chat-facing services: first contact, language, subscription and digest settings.

Each function opens its own short transaction; handlers never touch SQL.
"""

from __future__ import annotations

from enum import Enum

from sqlmodel import Session

from bot.config import parse_hhmm
from bot.context import Deps
from bot.digest_time import next_occurrence, parse_timezone
from bot.hanzi import to_traditional
from bot.rules import (
    MAX_ARTICLE_COUNT,
    MIN_ARTICLE_COUNT,
    ascii_int,
    is_language,
    language_from_code,
    resolve_language,
)
from storage import chats as chat_store
from storage import planning
from storage import tags as tag_store
from storage.db import session_scope
from storage.models import Chat
from storage.schemas import ChatSettings


class SettingError(Enum):
    """Why a setting was refused; handlers turn it into a localized sentence."""

    BAD_TIME = "bad_time"
    BAD_TIMEZONE = "bad_timezone"
    BAD_COUNT = "bad_count"
    BAD_LANGUAGE = "bad_language"
    UNKNOWN_TAG = "unknown_tag"


def _snapshot(session: Session, chat: Chat, language: str) -> ChatSettings:
    followed = chat_store.followed_tag_ids(session=session, chat_id=chat.id)
    names = tuple(
        tag.names.get(language)
        or (to_traditional(tag.names.get("zh", "")) if language == "zh_Hant" else "")
        or tag.slug
        for tag in tag_store.tags_with_counts(session=session)
        if tag.id in followed
    )
    return ChatSettings(
        chat_id=chat.id,
        chat_type=chat.type,
        language=language,
        timezone=chat.timezone,
        digest_time=chat.digest_time,
        article_count=chat.article_count,
        subscribed=chat.subscribed,
        followed_tag_ids=frozenset(followed),
        followed_tag_names=names,
        next_digest_at=chat.next_digest_at,
    )


def resolve_chat(
    deps: Deps,
    *,
    chat_id: int,
    chat_type: str,
    title: str | None,
    user_language_code: str | None,
) -> str:
    """Record first contact and return the update's language (stored → Telegram → default)."""
    settings = deps.settings
    first_contact = resolve_language(None, user_language_code, settings.default_language)
    with session_scope(deps.engine) as session:
        chat = chat_store.ensure_chat(
            session=session,
            chat_id=chat_id,
            chat_type=chat_type,
            title=title,
            language=first_contact,
            timezone=settings.default_timezone,
            digest_time=settings.default_digest_time,
            article_count=settings.default_article_count,
        )
        return resolve_language(chat.language, user_language_code, settings.default_language)


def chat_settings(deps: Deps, *, chat_id: int, language: str) -> ChatSettings | None:
    with session_scope(deps.engine) as session:
        chat = chat_store.get_chat(session=session, chat_id=chat_id)
        if chat is None:
            return None
        return _snapshot(session, chat, chat.language or language)


def _update(deps: Deps, chat_id: int, fallback: str, **values: object) -> ChatSettings:
    with session_scope(deps.engine) as session:
        chat = chat_store.update_chat(session=session, chat_id=chat_id, **values)
        if chat is None:
            raise LookupError(chat_id)
        now = deps.clock()
        if chat.subscribed:
            # Any change of time, zone or subscription moves the next digest.
            chat.next_digest_at = next_occurrence(chat.digest_time, chat.timezone, now)
        else:
            chat.next_digest_at = None
        # A row the planner made ahead for the old schedule must not go out; it plans anew.
        planning.drop_future_rows(session=session, chat_id=chat_id, after=now)
        return _snapshot(session, chat, chat.language or fallback)


def set_language(deps: Deps, *, chat_id: int, language: str) -> ChatSettings | SettingError:
    """Set the chat's language from a stored code (``zh_Hant``) or a typed one (zh-tw, en)."""
    code = language.strip() if is_language(language.strip()) else language_from_code(language)
    if code is None or not is_language(code):
        return SettingError.BAD_LANGUAGE
    return _update(deps, chat_id, code, language=code)


def set_subscribed(deps: Deps, *, chat_id: int, language: str, subscribed: bool) -> ChatSettings:
    return _update(deps, chat_id, language, subscribed=subscribed, active=True)


def set_digest_time(
    deps: Deps, *, chat_id: int, language: str, text: str
) -> ChatSettings | SettingError:
    try:
        value = parse_hhmm(text).strftime("%H:%M")
    except ValueError:
        return SettingError.BAD_TIME
    return _update(deps, chat_id, language, digest_time=value)


def set_timezone(
    deps: Deps, *, chat_id: int, language: str, text: str
) -> ChatSettings | SettingError:
    zone = parse_timezone(text)
    if zone is None:
        return SettingError.BAD_TIMEZONE
    return _update(deps, chat_id, language, timezone=zone)


def set_article_count(
    deps: Deps, *, chat_id: int, language: str, text: str
) -> ChatSettings | SettingError:
    count = ascii_int(text)
    if count is None or not MIN_ARTICLE_COUNT <= count <= MAX_ARTICLE_COUNT:
        return SettingError.BAD_COUNT
    return _update(deps, chat_id, language, article_count=count)


def set_tag_followed(
    deps: Deps, *, chat_id: int, language: str, tag_id: int, followed: bool
) -> ChatSettings | SettingError:
    with session_scope(deps.engine) as session:
        if all(tag.id != tag_id for tag in tag_store.tags_with_counts(session=session)):
            return SettingError.UNKNOWN_TAG
        chat_store.set_tag_followed(
            session=session, chat_id=chat_id, tag_id=tag_id, followed=followed
        )
    settings = chat_settings(deps, chat_id=chat_id, language=language)
    assert settings is not None
    return settings


def is_admin(deps: Deps, user_id: int | None) -> bool:
    return user_id is not None and user_id in deps.settings.admin_ids


def bot_left(deps: Deps, *, chat_id: int) -> None:
    """Blocked in a private chat or removed from a group: keep settings, send nothing more."""
    with session_scope(deps.engine) as session:
        chat_store.deactivate_chats(session=session, chat_ids=[chat_id])
