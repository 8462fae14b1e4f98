"""Versioned prompt files (package data under ``prompts/<version>/``).

Changing a prompt means adding a new version directory and bumping ``PROMPT_VERSION``: every
generated field records the version it was written with.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from string import Template
from typing import Any

PROMPT_VERSION = "v1"
# Long source texts are cut before they reach the prompt: the model needs the story, and
# the budget is per token.
MAX_SOURCE_CHARS = 12_000


@cache
def load_prompt(name: str, version: str = PROMPT_VERSION) -> str:
    """The text of ``prompts/<version>/<name>.md``."""
    files = resources.files("bot.content.enrich") / "prompts" / version / f"{name}.md"
    return files.read_text(encoding="utf-8")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _cut(texts: dict[str, str]) -> dict[str, str]:
    return {
        lang: text if len(text) <= MAX_SOURCE_CHARS else text[:MAX_SOURCE_CHARS] + " …"
        for lang, text in texts.items()
    }


def build_messages(
    *,
    article: dict[str, Any],
    wanted: dict[str, list[str]],
    tag_slugs: list[str] | None,
    shape: dict[str, Any],
) -> list[dict[str, str]]:
    """The system and user messages of one request."""
    shown = dict(article)
    for key in ("title", "summary", "analysis"):
        if isinstance(shown.get(key), dict):
            shown[key] = _cut(shown[key])
    tags = ""
    if tag_slugs is not None:
        tags = "Tag slugs you may choose from: " + ", ".join(tag_slugs) + "\n"
    user = Template(load_prompt("user")).substitute(
        article=_dump(shown), wanted=_dump(wanted), tags=tags, shape=_dump(shape)
    )
    return [
        {"role": "system", "content": load_prompt("system").strip()},
        {"role": "user", "content": user.strip()},
    ]
