"""Compact, validated ``callback_data`` codec (Telegram allows at most 64 bytes).

Wire format — short ASCII prefixes, ``:``-separated, decimal ids without leading zeros:

=====================  ==========================  =========================================
``a:<id>:<page>``      :class:`ArticlePage`        open article ``id`` at analysis page
``sh:<id>``            :class:`Share`              share screen for article ``id``
``lang:<en|zh>``       :class:`SetLanguage`        set the chat's language
``sub:<1|0>``          :class:`Subscribe`          subscribe / unsubscribe the chat
``tag:<id>``           :class:`OpenTag`            list articles of tag ``id``
``tags:<page>``        :class:`TagsPage`           tag list page
``fol:<id>:<1|0>``     :class:`FollowTag`          follow / unfollow tag ``id``
``set:<screen>``       :class:`OpenSettings`       settings screen or one of its pickers
``cnt:<n>``            :class:`SetCount`           articles per digest (1-10)
``tz:<zone>``          :class:`SetTimezone`        IANA zone name
``time:<HH:MM>``       :class:`SetTime`            digest time (24-hour)
``dg:now``             :class:`DigestNow`          send the digest now
``otz:<zone>``         :class:`OnboardZone`        time zone picked in the subscribe reply
``otm:<HH:MM>``        :class:`OnboardTime`        digest time picked in the subscribe reply
``oth:<tz|time>``      :class:`OnboardOther`       "other…": how to set any zone or time
``ms:<n>``             :class:`SetMinScore`        minimum score filter (0-100, 0 = off)
``ol:<1|0>``           :class:`SetOwnLanguage`     only articles in the chat's language
``mt:<id>:<1|0>``      :class:`MuteTag`            mute / unmute tag ``id``
``ckw``                :class:`ClearKeywords`      forget every muted keyword
``ch:<id>:<k>:<v>``    :class:`ChannelAction`      change channel ``id`` from a private chat
``noop``               :class:`Noop`               inert button (page indicator)
=====================  ==========================  =========================================

Chat binding (safety): the payload deliberately carries **no chat or user id**. A button
can only ever act on the chat in which it was pressed: handlers must apply every action to
``update.callback_query.message.chat`` (``update.effective_chat``), never to an id taken
from the data. A forged button therefore cannot touch another chat; at worst it asks for
a public article or changes the presser's own chat — which in groups handlers still gate
behind an admin check.

The one exception is :class:`ChannelAction`: a channel's settings are changed from the
admin's private chat, so its data names the channel. Its handler acts only in a private chat
and only after ``getChatMember`` confirms, at that moment, that the presser administers that
channel; a forged id therefore gains nothing.

Anything that does not decode (garbage, oversized, a button from an older bot version, an
inaccessible message) gets :data:`None` and a polite "this button has expired" answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Final, Literal, TypeAlias, get_args

from bot.rules import (
    CALLBACK_DATA_MAX_BYTES,
    DEEP_LINK_PAYLOAD_MAX,
    MAX_ARTICLE_COUNT,
    MIN_ARTICLE_COUNT,
    Lang,
    is_language,
)
from bot.views.i18n import is_valid_timezone

MAX_ID: Final = 2**63 - 1  # BIGINT; decimal ids are at most 19 digits
MAX_PAGE: Final = 9999

SettingsScreen = Literal["main", "lang", "tz", "time", "cnt", "tags", "flt"]
SETTINGS_SCREENS: Final[tuple[str, ...]] = get_args(SettingsScreen)


class CallbackDataError(ValueError):
    """Raised by :func:`encode` for a value that cannot be represented (a programming bug)."""


@dataclass(frozen=True, slots=True)
class ArticlePage:
    article_id: int
    page: int = 0  # zero-based analysis page


@dataclass(frozen=True, slots=True)
class Share:
    article_id: int


@dataclass(frozen=True, slots=True)
class SetLanguage:
    lang: Lang


@dataclass(frozen=True, slots=True)
class Subscribe:
    on: bool


@dataclass(frozen=True, slots=True)
class OpenTag:
    tag_id: int


@dataclass(frozen=True, slots=True)
class TagsPage:
    page: int = 0


@dataclass(frozen=True, slots=True)
class FollowTag:
    tag_id: int
    follow: bool


@dataclass(frozen=True, slots=True)
class OpenSettings:
    screen: SettingsScreen = "main"


@dataclass(frozen=True, slots=True)
class SetCount:
    count: int


@dataclass(frozen=True, slots=True)
class SetTimezone:
    zone: str


@dataclass(frozen=True, slots=True)
class SetTime:
    hour: int
    minute: int

    @property
    def value(self) -> time:
        return time(self.hour, self.minute)

    @property
    def hhmm(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True, slots=True)
class DigestNow:
    pass


@dataclass(frozen=True, slots=True)
class Noop:
    pass


@dataclass(frozen=True, slots=True)
class OnboardZone:
    zone: str


@dataclass(frozen=True, slots=True)
class OnboardTime:
    hour: int
    minute: int

    @property
    def hhmm(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True, slots=True)
class OnboardOther:
    what: Literal["tz", "time"]


@dataclass(frozen=True, slots=True)
class SetMinScore:
    score: int


@dataclass(frozen=True, slots=True)
class SetOwnLanguage:
    on: bool


@dataclass(frozen=True, slots=True)
class MuteTag:
    tag_id: int
    mute: bool


@dataclass(frozen=True, slots=True)
class ClearKeywords:
    pass


# key -> what the value is: s screen, l language, n count, z time zone, t time (HHMM), o on/off,
# f follow a tag ("<tag id>.<1|0>")
ChannelKey = Literal["s", "l", "n", "z", "t", "o", "f"]
CHANNEL_KEYS: Final[tuple[str, ...]] = get_args(ChannelKey)
CHANNEL_SCREENS: Final = ("main", "lang", "tz", "time", "cnt", "tags")
_FOLLOW_RE: Final = re.compile(r"(0|[1-9][0-9]{0,18})\.[01]")


@dataclass(frozen=True, slots=True)
class ChannelAction:
    chat_id: int  # the channel (negative, as Telegram numbers channels)
    key: ChannelKey
    value: str


Callback: TypeAlias = (
    ArticlePage
    | Share
    | SetLanguage
    | Subscribe
    | OpenTag
    | TagsPage
    | FollowTag
    | OpenSettings
    | SetCount
    | SetTimezone
    | SetTime
    | DigestNow
    | Noop
    | OnboardZone
    | OnboardTime
    | OnboardOther
    | SetMinScore
    | SetOwnLanguage
    | MuteTag
    | ClearKeywords
    | ChannelAction
)

_UINT_RE: Final = re.compile(r"0|[1-9][0-9]{0,18}")
_TIME_RE: Final = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_ZONE_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}")
_ALLOWED_RE: Final = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces


def _check_id(value: int, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise CallbackDataError(f"{what} out of range: {value!r}")
    return str(value)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def encode(cb: Callback) -> str:
    """Serialise ``cb``; raises :class:`CallbackDataError` if it cannot fit or is invalid."""
    match cb:
        case ArticlePage(article_id, page):
            if not 0 <= page <= MAX_PAGE:
                raise CallbackDataError(f"page out of range: {page}")
            data = f"a:{_check_id(article_id, 'article id')}:{page}"
        case Share(article_id):
            data = f"sh:{_check_id(article_id, 'article id')}"
        case SetLanguage(lang):
            if not is_language(lang):
                raise CallbackDataError(f"unknown language: {lang!r}")
            data = f"lang:{lang}"
        case Subscribe(on):
            data = f"sub:{_flag(on)}"
        case OpenTag(tag_id):
            data = f"tag:{_check_id(tag_id, 'tag id')}"
        case TagsPage(page):
            if not 0 <= page <= MAX_PAGE:
                raise CallbackDataError(f"page out of range: {page}")
            data = f"tags:{page}"
        case FollowTag(tag_id, follow):
            data = f"fol:{_check_id(tag_id, 'tag id')}:{_flag(follow)}"
        case OpenSettings(screen):
            if screen not in SETTINGS_SCREENS:
                raise CallbackDataError(f"unknown settings screen: {screen!r}")
            data = f"set:{screen}"
        case SetCount(count):
            if not MIN_ARTICLE_COUNT <= count <= MAX_ARTICLE_COUNT:
                raise CallbackDataError(f"count out of range: {count}")
            data = f"cnt:{count}"
        case SetTimezone(zone):
            if not _ZONE_RE.fullmatch(zone):
                raise CallbackDataError(f"bad time zone name: {zone!r}")
            data = f"tz:{zone}"
        case SetTime(hour, minute):
            if not (0 <= hour <= 23 and 0 <= minute <= 59):
                raise CallbackDataError(f"bad time: {hour}:{minute}")
            data = f"time:{hour:02d}:{minute:02d}"
        case DigestNow():
            data = "dg:now"
        case Noop():
            data = "noop"
        case OnboardZone(zone):
            if not _ZONE_RE.fullmatch(zone):
                raise CallbackDataError(f"bad time zone name: {zone!r}")
            data = f"otz:{zone}"
        case OnboardTime(hour, minute):
            if not (0 <= hour <= 23 and 0 <= minute <= 59):
                raise CallbackDataError(f"bad time: {hour}:{minute}")
            data = f"otm:{hour:02d}:{minute:02d}"
        case OnboardOther(what):
            if what not in ("tz", "time"):
                raise CallbackDataError(f"bad onboarding choice: {what!r}")
            data = f"oth:{what}"
        case SetMinScore(score):
            if not 0 <= score <= 100:
                raise CallbackDataError(f"score out of range: {score}")
            data = f"ms:{score}"
        case SetOwnLanguage(on):
            data = f"ol:{_flag(on)}"
        case MuteTag(tag_id, mute):
            data = f"mt:{_check_id(tag_id, 'tag id')}:{_flag(mute)}"
        case ClearKeywords():
            data = "ckw"
        case ChannelAction(chat_id, key, value):
            if not _channel_value_ok(key, value):
                raise CallbackDataError(f"bad channel action: {key}={value!r}")
            data = f"ch:{_check_id(-chat_id, 'channel id')}:{key}:{value}"
        case _:
            raise CallbackDataError(f"not a callback: {cb!r}")
    if len(data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
        raise CallbackDataError(
            f"callback data longer than {CALLBACK_DATA_MAX_BYTES} bytes: {data!r}"
        )
    return data


def _channel_value_ok(key: str, value: str) -> bool:
    match key:
        case "s":
            return value in CHANNEL_SCREENS
        case "l":
            return is_language(value)
        case "n":
            return value.isdigit() and MIN_ARTICLE_COUNT <= int(value) <= MAX_ARTICLE_COUNT
        case "z":
            return bool(_ZONE_RE.fullmatch(value)) and is_valid_timezone(value)
        case "t":
            return bool(_TIME_RE.fullmatch(f"{value[:2]}:{value[2:]}")) and len(value) == 4
        case "o":
            return value in ("0", "1")
        case "f":
            return bool(_FOLLOW_RE.fullmatch(value))
    return False


def _channel_action(rest: str) -> ChannelAction | None:
    raw_id, _, tail = rest.partition(":")
    key, _, value = tail.partition(":")
    chat_id = _uint(raw_id, MAX_ID)
    if chat_id is None or chat_id == 0 or not _channel_value_ok(key, value):
        return None
    for known in get_args(ChannelKey):
        if key == known:
            return ChannelAction(-chat_id, known, value)
    return None


def _uint(text: str, maximum: int) -> int | None:
    if not _UINT_RE.fullmatch(text):
        return None
    value = int(text)
    return value if value <= maximum else None


def _bool(text: str) -> bool | None:
    return {"1": True, "0": False}.get(text)


def decode(data: object) -> Callback | None:
    """Parse ``callback_data``; ``None`` for anything malformed, oversized or unknown.

    Total and side-effect free: safe to call on attacker-controlled input.
    """
    if not isinstance(data, str) or not data:
        return None
    if len(data) > CALLBACK_DATA_MAX_BYTES or len(data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
        return None
    if not _ALLOWED_RE.fullmatch(data):
        return None
    if data == "noop":
        return Noop()
    if data == "dg:now":
        return DigestNow()
    if data == "ckw":
        return ClearKeywords()
    prefix, sep, rest = data.partition(":")
    if not sep:
        return None
    if prefix == "ch":
        return _channel_action(rest)
    parts = rest.split(":")
    match prefix, parts:
        case "a", [raw_id, raw_page]:
            article_id, page = _uint(raw_id, MAX_ID), _uint(raw_page, MAX_PAGE)
            if article_id is None or page is None:
                return None
            return ArticlePage(article_id, page)
        case "sh", [raw_id]:
            article_id = _uint(raw_id, MAX_ID)
            return None if article_id is None else Share(article_id)
        case "lang", [code]:
            return SetLanguage(code) if is_language(code) else None
        case "sub", [raw]:
            on = _bool(raw)
            return None if on is None else Subscribe(on)
        case "tag", [raw_id]:
            tag_id = _uint(raw_id, MAX_ID)
            return None if tag_id is None else OpenTag(tag_id)
        case "tags", [raw_page]:
            page = _uint(raw_page, MAX_PAGE)
            return None if page is None else TagsPage(page)
        case "fol", [raw_id, raw_flag]:
            tag_id, follow = _uint(raw_id, MAX_ID), _bool(raw_flag)
            if tag_id is None or follow is None:
                return None
            return FollowTag(tag_id, follow)
        case "set", [screen]:
            for known in get_args(SettingsScreen):
                if screen == known:
                    return OpenSettings(known)
            return None
        case "cnt", [raw]:
            count = _uint(raw, MAX_ARTICLE_COUNT)
            return SetCount(count) if count is not None and count >= MIN_ARTICLE_COUNT else None
        case "tz", [zone]:
            if _ZONE_RE.fullmatch(zone) and is_valid_timezone(zone):
                return SetTimezone(zone)
            return None
        case "time", [hh, mm]:
            found = _TIME_RE.fullmatch(f"{hh}:{mm}")
            return SetTime(int(found.group(1)), int(found.group(2))) if found else None
        case "otz", [zone]:
            if _ZONE_RE.fullmatch(zone) and is_valid_timezone(zone):
                return OnboardZone(zone)
            return None
        case "otm", [hh, mm]:
            found = _TIME_RE.fullmatch(f"{hh}:{mm}")
            return OnboardTime(int(found.group(1)), int(found.group(2))) if found else None
        case "oth", ["tz"]:
            return OnboardOther("tz")
        case "oth", ["time"]:
            return OnboardOther("time")
        case "ms", [raw]:
            score = _uint(raw, 100)
            return None if score is None else SetMinScore(score)
        case "ol", [raw]:
            on = _bool(raw)
            return None if on is None else SetOwnLanguage(on)
        case "mt", [raw_id, raw_flag]:
            tag_id, mute = _uint(raw_id, MAX_ID), _bool(raw_flag)
            if tag_id is None or mute is None:
                return None
            return MuteTag(tag_id, mute)
    return None


__all__ = [
    "ArticlePage",
    "Callback",
    "CallbackDataError",
    "ChannelAction",
    "ClearKeywords",
    "DigestNow",
    "FollowTag",
    "MuteTag",
    "Noop",
    "OnboardOther",
    "OnboardTime",
    "OnboardZone",
    "OpenSettings",
    "OpenTag",
    "SetCount",
    "SetLanguage",
    "SetMinScore",
    "SetOwnLanguage",
    "SetTime",
    "SetTimezone",
    "Share",
    "Subscribe",
    "TagsPage",
    "article_payload",
    "decode",
    "encode",
    "parse_article_payload",
]


# --- deep-link / inline payloads ---------------------------------------------------------
# ``/start a<id>`` (t.me/<bot>?start=a123) and the inline query ``a<id>`` both name an
# article; Telegram allows [A-Za-z0-9_-]{1,64} in start payloads.

_PAYLOAD_RE: Final = re.compile(r"a(0|[1-9][0-9]{0,18})")


def article_payload(article_id: int) -> str:
    """Deep-link / inline-query payload for an article: ``a<id>``."""
    return f"a{_check_id(article_id, 'article id')}"


def parse_article_payload(payload: object) -> int | None:
    """Article id from an ``a<id>`` payload (surrounding whitespace allowed), else None."""
    if not isinstance(payload, str) or len(payload) > DEEP_LINK_PAYLOAD_MAX:
        return None
    found = _PAYLOAD_RE.fullmatch(payload.strip())
    if not found:
        return None
    value = int(found.group(1))
    return value if value <= MAX_ID else None
