"""Interchange-format records (docs/article-format.md): the pydantic model, validation, messages.

``validate_record`` turns one ``RawRecord`` into ``ArticleData`` or raises ``RecordError``
naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

from bot.content.scoring import ScoreInput, score
from storage.articles import ArticleData, TagData


class SourceError(Exception):
    """A whole source cannot be read (missing file, HTTP error, not a known format)."""


class RecordError(Exception):
    """One record breaks the interchange format; the message names the field."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read, before validation. ``error`` is set when it could not be decoded."""

    location: str
    value: object = None
    error: str | None = None
    published_at_estimated: bool = False


_LANG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_SLUG_RE = re.compile(r"^[a-z0-9-]{1,32}$")

# --- validation ---------------------------------------------------------------------------


def _check_lang(value: str) -> str:
    if len(value) > 16 or not _LANG_RE.match(value):
        raise ValueError(f"invalid language code {value!r}, expected BCP-47 such as en or zh-Hant")
    primary, _, rest = value.partition("-")
    return primary.lower() + ("-" + rest if rest else "")


def _check_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text contains a NUL character")
    return value.strip()


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(f"not an http(s) URL: {value[:80]!r}")
    return value


def _parse_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not an ISO-8601 date-time: {value[:40]!r}") from None
    else:
        raise ValueError("expected an ISO-8601 date-time string")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(
            f"{value!s:.40} has no UTC offset; write e.g. 2026-06-15T09:00:00+08:00 or ...Z"
        )
    return parsed.astimezone(UTC)


def _tag_shape(value: object) -> object:
    return {"slug": value} if isinstance(value, str) else value


Lang = Annotated[StrictStr, AfterValidator(_check_lang)]
Text = Annotated[StrictStr, AfterValidator(_check_text)]
Slug = Annotated[
    StrictStr, Field(pattern=_SLUG_RE.pattern, max_length=32, description="[a-z0-9-]{1,32}")
]
Score = Annotated[StrictInt, Field(ge=0, le=100)]
AwareTime = Annotated[datetime, BeforeValidator(_parse_datetime)]


class TagRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    slug: Slug
    name: dict[Lang, Text] = Field(default_factory=dict)


class ScoresRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hot: Score
    quality: Score
    impact: Score


class ArticleRecord(BaseModel):
    """The interchange format; unknown fields are ignored so producers can add their own."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    url: Annotated[StrictStr, Field(max_length=2048), AfterValidator(_check_url)]
    source: Annotated[StrictStr, Field(max_length=200), AfterValidator(_check_text)] | None = None
    title: dict[Lang, Text]
    summary: dict[Lang, Text]
    analysis: dict[Lang, Text] = Field(default_factory=dict)
    scores: ScoresRecord | None = None
    tags: list[Annotated[TagRecord, BeforeValidator(_tag_shape)]] = Field(default_factory=list)
    published_at: AwareTime
    updated_at: AwareTime | None = None
    views: Annotated[StrictInt, Field(ge=0)] = 0
    ai_generated: StrictBool = False

    @field_validator("id")
    @classmethod
    def _id_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("title", "summary")
    @classmethod
    def _some_language(cls, value: dict[str, str]) -> dict[str, str]:
        kept = {lang: text for lang, text in value.items() if text}
        if not kept:
            raise ValueError('needs text in at least one language, e.g. {"en": "..."}')
        return kept

    @field_validator("analysis")
    @classmethod
    def _drop_blank(cls, value: dict[str, str]) -> dict[str, str]:
        return {lang: text for lang, text in value.items() if text}


def _format_location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        if item == "[key]" or (i + 1 < len(loc) and loc[i + 1] == "[key]"):
            continue  # the message already quotes the bad key
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.startswith(("function-", "constrained-")):
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def describe_validation_error(exc: ValidationError) -> str:
    """``field.path: reason`` for each problem, joined by ``; ``."""
    problems = []
    for error in exc.errors(include_url=False):
        where = _format_location(error["loc"])
        if error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "string_pattern_mismatch":
            message = f"{error['input']!r} is not a slug [a-z0-9-]{{1,32}}"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def validate_record(
    value: object, *, now: datetime, published_at_estimated: bool = False
) -> ArticleData:
    """Check ``value`` against the interchange format; scores missing → the scorer's."""
    if not isinstance(value, dict):
        raise RecordError(f"expected a JSON object, got {type(value).__name__}")
    try:
        record = ArticleRecord.model_validate(value)
    except ValidationError as exc:
        raise RecordError(describe_validation_error(exc)) from None
    tags: dict[str, dict[str, str]] = {}
    for tag in record.tags:
        tags.setdefault(tag.slug, {}).update(tag.name)
    if record.scores is not None:
        hot, quality, impact = record.scores.hot, record.scores.quality, record.scores.impact
    else:
        estimate = score(
            ScoreInput(
                published_at=record.published_at,
                title=record.title,
                summary=record.summary,
                analysis=record.analysis,
                views=record.views,
                tags=list(tags),
            ),
            now,
        )
        hot, quality, impact = estimate.hot, estimate.quality, estimate.impact
    return ArticleData(
        external_id=record.id,
        url=record.url,
        source=record.source or None,
        published_at=record.published_at,
        updated_at=record.updated_at,
        title=record.title,
        summary=record.summary,
        analysis=record.analysis,
        hot=hot,
        quality=quality,
        impact=impact,
        scores_estimated=record.scores is None,
        views=record.views,
        ai_generated=record.ai_generated,
        tags=tuple(TagData(slug, names) for slug, names in tags.items()),
        published_at_estimated=published_at_estimated,
    )
