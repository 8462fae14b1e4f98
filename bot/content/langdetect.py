"""Language of a feed entry from its script: enough to tell Chinese from English news."""

from __future__ import annotations

from typing import Literal

# A Chinese text with English brand names ("英伟达发布Blackwell") still has a high share of
# ideographs; an English text quoting a Chinese name has a tiny one.
CJK_SHARE_FOR_ZH = 0.2


def is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK Unified Ideographs
        or 0x3400 <= code <= 0x4DBF  # Extension A
        or 0xF900 <= code <= 0xFAFF  # Compatibility Ideographs
        or 0x20000 <= code <= 0x2FA1F  # Extensions B–F and supplement
    )


def cjk_share(text: str) -> float:
    """Ideographs among all letters (digits, punctuation and spaces do not count)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if is_cjk(c)) / len(letters)


def detect_language(text: str) -> Literal["en", "zh"]:
    return "zh" if cjk_share(text) >= CJK_SHARE_FOR_ZH else "en"
