"""Building digests for a batch of claimed deliveries: candidates → render once → validate.

Candidates: for each (followed tags, article count) group, the ranking query runs once without
the per-chat "already delivered" filter, for ``count + SLACK`` articles; one query then finds
which of those each chat already received, and each chat takes its first ``count`` unseen ones.
Only a chat that has seen more than ``SLACK`` of its group's top articles is ranked alone.

Rendering: one message per distinct (language, article ids, local date) — whatever the number
of recipients — validated before any of them is sent: at most 4096 UTF-16 units, well-formed
Telegram HTML, every callback_data at most 64 bytes. A digest that fails validation is a bug;
its deliveries fail with the reason instead of sending something Telegram would refuse.

No new articles: no empty digest. The delivery is marked ``skipped`` with reason
``no new articles`` (visible in ``digestbot status``); the next day's digest is unaffected.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html.parser import HTMLParser

from sqlmodel import Session
from telegram import InlineKeyboardMarkup

from bot.catalog.ranking import digest_candidates, hidden_count, ranked_article_ids, spec_for
from bot.config import Settings
from bot.rules import ALLOWED_HTML_TAGS, CALLBACK_DATA_MAX_BYTES, MESSAGE_LIMIT, utf16_len
from bot.views.digest import render_channel_digest, render_digest
from storage.articles import article_views
from storage.filters import filters_for_chats
from storage.outbox import ClaimedDelivery, delivered_pairs
from storage.schemas import ArticleView

SLACK = 20
NO_NEW_ARTICLES = "no new articles"
# Candidates are re-ranked after this long, so a broadcast lasting hours picks up new articles.
CANDIDATE_TTL_S = 300.0
# Rendered digests kept for reuse. Chats of one kind share a digest, so a few hundred cover a
# broadcast; the bound keeps memory flat however many distinct digests a big audience needs.
MAX_RENDERED = 1024


class InvalidDigest(ValueError):
    """A rendered digest Telegram would refuse; never sent."""


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    text: str
    markup: InlineKeyboardMarkup | None
    article_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DigestPlan:
    """The message for one delivery, or why there is none."""

    delivery: ClaimedDelivery
    digest: RenderedDigest | None
    skip_reason: str | None = None
    error: str | None = None


class _HtmlChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_HTML_TAGS:
            self.problem = self.problem or f"unsupported tag <{tag}>"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problem = self.problem or f"unbalanced </{tag}>"
            return
        self.stack.pop()

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.problem = self.problem or f"unsupported entity &{name};"


def validate_message(text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Raise InvalidDigest unless Telegram would accept this HTML message and keyboard."""
    if not text.strip():
        raise InvalidDigest("empty text")
    if utf16_len(text) > MESSAGE_LIMIT:
        raise InvalidDigest(f"text is {utf16_len(text)} UTF-16 units (max {MESSAGE_LIMIT})")
    checker = _HtmlChecker()
    checker.feed(text)
    checker.close()
    if checker.problem is None and checker.stack:
        checker.problem = f"unclosed <{checker.stack[-1]}>"
    if checker.problem is not None:
        raise InvalidDigest(f"malformed HTML: {checker.problem}")
    if markup is not None:
        for row in markup.inline_keyboard:
            for button in row:
                data = button.callback_data
                if isinstance(data, str) and len(data.encode()) > CALLBACK_DATA_MAX_BYTES:
                    raise InvalidDigest(
                        f"callback_data over {CALLBACK_DATA_MAX_BYTES} bytes: {data!r}"
                    )


def _digest_moment(day: date) -> datetime:
    # Noon UTC of the local digest date: rendered with tz=UTC the header shows exactly that
    # date, so the message depends only on (language, articles, date), not on the chat's zone.
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


class DigestBuilder:
    """Caches candidates and rendered messages for the life of one broadcaster."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._candidates: dict[tuple[tuple[int, ...], int], tuple[float, list[int]]] = {}
        self._views: dict[int, ArticleView] = {}
        self._rendered: dict[tuple[str, tuple[int, ...], str, int, bool], RenderedDigest | str] = {}
        self.renders = 0  # how many times a message was actually rendered (tests, stats)
        # Set by the broadcaster once the bot knows its name: channel digests link to the bot.
        self.bot_username: str | None = None

    def language_of(self, delivery: ClaimedDelivery) -> str:
        return delivery.language or self._settings.default_language

    def _group_candidates(
        self, session: Session, tags: tuple[int, ...], count: int, now: datetime
    ) -> list[int]:
        key = (tags, count)
        cached = self._candidates.get(key)
        if cached is not None and self._clock() - cached[0] < CANDIDATE_TTL_S:
            return cached[1]
        ids = ranked_article_ids(
            session=session, settings=self._settings, now=now, limit=count + SLACK, tag_ids=tags
        )
        self._candidates[key] = (self._clock(), ids)
        return ids

    def pick_articles(
        self, *, session: Session, deliveries: Sequence[ClaimedDelivery], now: datetime
    ) -> dict[int, list[int]]:
        """Article ids for each delivery id (empty list: nothing new for that chat)."""
        picked = self._pick(session=session, deliveries=deliveries, now=now)
        return {key: ids for key, (ids, _hidden) in picked.items()}

    def _pick(
        self, *, session: Session, deliveries: Sequence[ClaimedDelivery], now: datetime
    ) -> dict[int, tuple[list[int], int]]:
        """(article ids, how many top articles the chat's filters removed) per delivery id.

        Chats with filters are ranked alone (filters make every chat's list its own); the
        group's list tells how many of its top articles the filters removed.
        """
        filters = filters_for_chats(session=session, chat_ids=[d.chat_id for d in deliveries])
        groups: dict[tuple[tuple[int, ...], int], list[ClaimedDelivery]] = defaultdict(list)
        for d in deliveries:
            groups[(d.tag_ids, max(1, d.article_count))].append(d)
        picked: dict[int, tuple[list[int], int]] = {}
        for (tags, count), members in groups.items():
            candidates = self._group_candidates(session, tags, count, now)
            seen = delivered_pairs(
                session=session, chat_ids=[m.chat_id for m in members], article_ids=candidates
            )
            for m in members:
                fresh = [a for a in candidates if (m.chat_id, a) not in seen][:count]
                if len(fresh) < count and len(candidates) == count + SLACK:
                    # This chat has read most of the group's top list: rank for it alone.
                    fresh = digest_candidates(
                        session=session,
                        settings=self._settings,
                        chat_id=m.chat_id,
                        limit=count,
                        now=now,
                    )
                spec = (
                    spec_for(filters[m.chat_id], self.language_of(m))
                    if m.chat_id in filters
                    else None
                )
                if spec is None:
                    picked[m.id] = (fresh, 0)
                    continue
                mine = digest_candidates(
                    session=session,
                    settings=self._settings,
                    chat_id=m.chat_id,
                    limit=count,
                    now=now,
                    filters=spec,
                )
                picked[m.id] = (mine, hidden_count(mine, fresh))
        return picked

    def build(
        self, *, session: Session, deliveries: Sequence[ClaimedDelivery], now: datetime
    ) -> list[DigestPlan]:
        picked = self._pick(session=session, deliveries=deliveries, now=now)
        missing = sorted({a for ids, _ in picked.values() for a in ids} - self._views.keys())
        if missing:
            for view in article_views(session=session, ids=missing):
                self._views[view.id] = view
        plans: list[DigestPlan] = []
        for d in deliveries:
            chosen, hidden = picked.get(d.id, ([], 0))
            ids = tuple(a for a in chosen if a in self._views)
            if not ids:
                plans.append(DigestPlan(d, None, skip_reason=NO_NEW_ARTICLES))
                continue
            channel = d.chat_type == "channel"
            rendered = self.render(
                self.language_of(d), ids, d.local_date, hidden=hidden, channel=channel
            )
            if isinstance(rendered, str):
                plans.append(DigestPlan(d, None, error=rendered))
            else:
                plans.append(DigestPlan(d, rendered))
        return plans

    def render(
        self,
        lang: str,
        ids: tuple[int, ...],
        local_date: str,
        *,
        hidden: int = 0,
        channel: bool = False,
    ) -> RenderedDigest | str:
        """The validated message for this key (rendered once), or the validation error.

        ``hidden``: how many top articles the chat's filters removed (the digest says so).
        A channel's digest has no per-reader buttons: links into the bot instead."""
        key = (lang, ids, local_date, hidden, channel)
        found = self._rendered.get(key)
        if found is not None:
            return found
        self.renders += 1
        articles = [self._views[a] for a in ids]
        moment = _digest_moment(date.fromisoformat(local_date))
        if channel and self.bot_username:
            text, markup = render_channel_digest(articles, lang, "UTC", moment, self.bot_username)
        else:
            text, markup = render_digest(articles, lang, "UTC", moment, hidden=hidden)
            if channel:  # no bot name to link to (never initialised, as in tools): no buttons
                markup = None
        result: RenderedDigest | str
        try:
            validate_message(text, markup)
            result = RenderedDigest(text=text, markup=markup, article_ids=ids)
        except InvalidDigest as exc:
            result = f"invalid digest: {exc}"
        if len(self._rendered) > MAX_RENDERED:
            self._rendered.clear()
        self._rendered[key] = result
        return result
