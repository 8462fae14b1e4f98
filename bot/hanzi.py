"""Simplified ↔ Traditional Chinese conversion with OpenCC, cached in memory.

Article text is stored as it was imported (``zh`` = Simplified); a 繁體中文 reader sees it
converted on the way out (``s2twp``: Taiwan standard with Taiwanese phrases, so 芯片 reads
晶片 and 软件 reads 軟體). The conversion is never written back over the original. Queries and
muted keywords typed in Traditional are converted the other way (``tw2sp``) so "晶片" finds
articles that say "芯片".

Pure and storage-free like :mod:`bot.rules`, so views (showing text) and services (searching,
filtering) share one converter.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Final

import opencc

_TO_TRADITIONAL: Final = "s2twp"
_TO_SIMPLIFIED: Final = "tw2sp"
_lock = threading.RLock()  # re-entered: a conversion builds its converter under it
_converters: dict[str, opencc.OpenCC] = {}


def _converter(config: str) -> opencc.OpenCC:
    found = _converters.get(config)
    if found is None:
        with _lock:  # building one loads its dictionaries: once per process
            found = _converters.get(config) or opencc.OpenCC(config)
            _converters[config] = found
    return found


def _has_han(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


@lru_cache(maxsize=8192)
def to_traditional(text: str) -> str:
    """Simplified → Traditional (Taiwan phrases); text without Han characters is returned as is."""
    if not text or not _has_han(text):
        return text
    with _lock:  # the OpenCC object is not documented as thread-safe
        return str(_converter(_TO_TRADITIONAL).convert(text))


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """Traditional → Simplified (mainland phrases), for queries and keywords."""
    if not text or not _has_han(text):
        return text
    with _lock:
        return str(_converter(_TO_SIMPLIFIED).convert(text))


def variants(text: str) -> tuple[str, ...]:
    """``text`` and its Simplified form when that differs (what a search or mute should match)."""
    simplified = to_simplified(text)
    return (text,) if simplified == text else (text, simplified)
