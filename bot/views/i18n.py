"""Translations and locale-aware formatting.

Catalogs live in ``locales/<catalog>/LC_MESSAGES/messages.{po,mo}`` (domain ``messages``),
with catalog names ``en``, ``zh_Hans`` and ``zh_Hant``. The bot itself only knows the codes
``"en"``, ``"zh"`` and ``"zh_Hant"`` (:mod:`bot.rules`); everything locale-specific (catalog
directory, Babel locale) hangs off those codes here so the rest never spells ``zh_Hans_CN``.

Renderers take a :class:`Translator` (``tr = translator(lang)``) and alias its methods locally::

    _ = tr.gettext
    ngettext = tr.ngettext
    text = _("Hello, {name}").format(name=html.escape(name))

``pybabel extract -k _ -k N_ -k ngettext:1,2`` (see the Makefile) matches a call by its
last name, so ``_(...)``, ``tr._(...)``, ``tr.gettext(...)`` and ``tr.ngettext(...)`` are all
extracted; the msgid must be a string literal (never an f-string or a variable).
Module-level tables mark strings with :func:`N_` and translate them at render time.
"""

from __future__ import annotations

import gettext as _gettext
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_datetime as _babel_format_datetime
from babel.dates import format_skeleton, format_timedelta, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from bot import digest_time
from bot.rules import Lang, is_chinese, is_language, language_from_code

DOMAIN: Final = "messages"
LOCALES_DIR: Final[Path] = Path(__file__).resolve().parents[2] / "locales"

# Catalog directory per language (what `pybabel init -l ...` created).
CATALOGS: Final[dict[Lang, str]] = {"en": "en", "zh": "zh_Hans", "zh_Hant": "zh_Hant"}
# Babel locale used for dates and numbers; zh_Hans_CN gives mainland conventions, zh_Hant_TW
# Taiwan's (the same standard OpenCC's s2twp converts article text to).
BABEL_LOCALES: Final[dict[Lang, str]] = {
    "en": "en",
    "zh": "zh_Hans_CN",
    "zh_Hant": "zh_Hant_TW",
}
# Endonyms: shown as-is in every UI language, so a lost user can still find their own.
LANGUAGE_NAMES: Final[dict[Lang, str]] = {"en": "English", "zh": "简体中文", "zh_Hant": "繁體中文"}


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (translate later with ``_``)."""
    return message


# --- catalogs ----------------------------------------------------------------------------

_cache: dict[Lang, _gettext.NullTranslations] = {}
_cache_lock = threading.Lock()


def _load(lang: Lang, locales_dir: Path) -> _gettext.NullTranslations:
    messages = locales_dir / CATALOGS[lang] / "LC_MESSAGES"
    mo = messages / f"{DOMAIN}.mo"
    if mo.is_file():
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    po = messages / f"{DOMAIN}.po"
    if po.is_file():
        # Uncompiled checkout (e.g. a test run without `make`): compile in memory so the
        # bot still speaks Chinese instead of silently falling back to English.
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=CATALOGS[lang], domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    return _gettext.NullTranslations()


def get_translations(lang: Lang) -> _gettext.NullTranslations:
    """Compiled catalog for ``lang``, loaded once per process."""
    cached = _cache.get(lang)
    if cached is not None:
        return cached
    with _cache_lock:
        if lang not in _cache:
            _cache[lang] = _load(lang, LOCALES_DIR)
        return _cache[lang]


def clear_cache() -> None:
    """Forget loaded catalogs (tests, or after recompiling while running)."""
    with _cache_lock:
        _cache.clear()
    _translators.clear()


@dataclass(frozen=True, slots=True)
class Translator:
    """One language's gettext plus its Babel locale; cheap to pass to pure renderers."""

    lang: Lang
    translations: _gettext.NullTranslations

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    # ``tr._("...")`` also works: pybabel matches the last name of a dotted call.
    _ = gettext

    def marked(self, message: str) -> str:
        """Translate a string marked with :func:`N_` elsewhere (a table entry, a variable).

        ``_()`` only ever gets literals (a test scans for that); this is the one way to
        translate a msgid that was extracted where it was marked.
        """
        return self.translations.gettext(message)

    @property
    def locale(self) -> Locale:
        return babel_locale(self.lang)


_translators: dict[Lang, Translator] = {}


def translator(lang: str) -> Translator:
    """Translator for ``lang`` ("en"/"zh"/"zh_Hant"; else resolved like a Telegram code)."""
    code: Lang = lang if is_language(lang) else (language_from_code(lang) or "en")
    found = _translators.get(code)
    if found is None:
        found = _translators[code] = Translator(code, get_translations(code))
    return found


def babel_locale(lang: str) -> Locale:
    code: Lang = lang if is_language(lang) else "en"
    return Locale.parse(BABEL_LOCALES[code])


# --- formatting --------------------------------------------------------------------------


def get_zone(name: str | None, fallback: str = "UTC") -> tzinfo:
    """The zone for an IANA name or ``UTC±hh:mm``; a bad or missing name falls back."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return digest_time.get_zone(candidate)
            except KeyError:
                continue
    return ZoneInfo("UTC")


def is_valid_timezone(name: str) -> bool:
    if not name or len(name) > 64 or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _require_aware(dt: datetime, what: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


def format_relative(dt: datetime, now: datetime, lang: str) -> str:
    """'1 day ago' / '1天前'; future times read 'in 2 hours'. Both datetimes must be aware."""
    _require_aware(dt, "dt")
    _require_aware(now, "now")
    delta = dt - now
    if abs(delta) < timedelta(minutes=1):
        _ = translator(lang).gettext
        return _("just now")
    return format_timedelta(delta, add_direction=True, locale=babel_locale(lang))


def format_datetime(dt: datetime, tz: tzinfo | str, lang: str, fmt: str = "medium") -> str:
    """Absolute date-time in the chat's zone, e.g. 'Nov 25, 2026, 8:00:00 AM'."""
    _require_aware(dt, "dt")
    zone = get_zone(tz) if isinstance(tz, str) else tz
    return _babel_format_datetime(dt, fmt, tzinfo=zone, locale=babel_locale(lang))


def format_day(dt: datetime, tz: tzinfo | str, lang: str) -> str:
    """Short weekday + date in the chat's zone: 'Wed, Nov 25' / '11月25日周三'."""
    _require_aware(dt, "dt")
    zone = get_zone(tz) if isinstance(tz, str) else tz
    return format_skeleton("MMMEd", dt.astimezone(zone), locale=babel_locale(lang))


def format_number(value: int | float, lang: str) -> str:
    """Grouped number: 12345 -> '12,345' (both locales group by thousands)."""
    return format_decimal(value, locale=babel_locale(lang))


def format_utc_offset(zone: tzinfo, at: datetime) -> str:
    """'UTC+08:00' for ``zone`` at instant ``at`` (DST-aware)."""
    _require_aware(at, "at")
    offset = at.astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def zone_city(name: str, lang: str) -> str | None:
    """The zone's city in ``lang`` ('Shanghai' / '上海' / '台北'); None for UTC and offsets."""
    if name in ("UTC", "Etc/UTC") or name.startswith("UTC"):
        return None
    try:
        return str(
            get_timezone_location(get_zone(name), locale=babel_locale(lang), return_city=True)
        )
    except (LookupError, UnknownLocaleError):
        return name


def timezone_label(name: str, lang: str, at: datetime) -> str:
    """The zone named once: "Shanghai time (UTC+08:00)" / "上海时间（UTC+08:00）"; "UTC+05:30".

    A fixed offset or UTC is its own name, so it is never followed by itself in brackets.
    """
    offset = format_utc_offset(get_zone(name), at)
    if offset == "UTC+00:00" and name in ("UTC", "Etc/UTC"):
        return "UTC"
    city = zone_city(name, lang)
    if city is None:
        return offset
    _ = translator(lang).gettext
    return _("{city} time ({offset})").format(city=city, offset=offset)


def join_items(items: Sequence[str], lang: str) -> str:
    """Items of a list in one line: 'a, b, c' in English, 'a、b、c' in Chinese."""
    return ("、" if is_chinese(lang) else ", ").join(items)
