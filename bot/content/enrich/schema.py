"""What an article lacks, the JSON schema asked for, and the check of an answer.

An answer is one JSON object shaped like a record of docs/article-format.md (``title``,
``summary``, ``analysis`` as ``{lang: text}``, ``scores``, ``tags``) plus a ``rationale`` per
score. It is checked twice: by a pydantic model of exactly what was asked, then merged
with the source into a whole record and run through the import validator
(``bot.content.records.validate_record``), so generated text obeys the same rules as
imported text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.content.records import (
    Lang,
    RecordError,
    ScoresRecord,
    Text,
    describe_validation_error,
    validate_record,
)
from bot.rules import TEXT_LANGUAGES
from storage.enrichment import GENERATED, TRANSLATED, SourceArticle
from storage.generated import Enriched, GeneratedText

TEXT_FIELDS = ("title", "summary", "analysis")
SCORE_NAMES = ("hot", "quality", "impact")
MAX_TAGS = 3
# The prompt asks for at most ~300 characters and 3-6 paragraphs; answers are refused only
# well outside that, so a model that is roughly right is not retried for nothing.
SUMMARY_MAX_CHARS = 600
ANALYSIS_PARAGRAPHS = (2, 8)
RATIONALE_MAX_CHARS = 300
TITLE_MAX_CHARS = 300


class InvalidAnswer(ValueError):
    """The model's answer is not what was asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Wanted:
    """What one request asks for: languages per text field, and whether scores and tags."""

    texts: dict[str, list[str]] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # "lang.field" -> origin
    scores: bool = False
    tags: list[str] | None = None  # slugs to choose from, None: not asked

    @property
    def empty(self) -> bool:
        return not self.texts and not self.scores and self.tags is None

    def describe(self) -> str:
        parts = [f"{name} {'+'.join(langs)}" for name, langs in self.texts.items()]
        if self.scores:
            parts.append("scores")
        if self.tags is not None:
            parts.append("tags")
        return ", ".join(parts) or "nothing"


def lacking(source: SourceArticle, tag_slugs: list[str]) -> Wanted:
    """Exactly what ``source`` lacks: the source's own fields are never asked for again."""
    texts: dict[str, list[str]] = {}
    origins: dict[str, str] = {}
    for name in TEXT_FIELDS:
        have: dict[str, str] = getattr(source, name)
        missing: list[str] = [lang for lang in TEXT_LANGUAGES if not have.get(lang, "").strip()]
        if not missing:
            continue
        texts[name] = missing
        origin = TRANSLATED if any(t.strip() for t in have.values()) else GENERATED
        for lang in missing:
            origins[f"{lang}.{name}"] = origin
    tags = sorted(tag_slugs) if not source.tags and tag_slugs else None
    return Wanted(texts=texts, origins=origins, scores=not source.scores_given, tags=tags)


def _text_map(langs: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(langs),
        "properties": {lang: {"type": "string"} for lang in langs},
    }


def json_schema(wanted: Wanted) -> dict[str, Any]:
    """The strict JSON schema of the answer to ``wanted`` (for ``response_format``)."""
    properties: dict[str, Any] = {name: _text_map(langs) for name, langs in wanted.texts.items()}
    if wanted.scores:
        properties["scores"] = {
            "type": "object",
            "additionalProperties": False,
            "required": list(SCORE_NAMES),
            "properties": {name: {"type": "integer"} for name in SCORE_NAMES},
        }
        properties["rationale"] = {
            "type": "object",
            "additionalProperties": False,
            "required": list(SCORE_NAMES),
            "properties": {name: _text_map(list(TEXT_LANGUAGES)) for name in SCORE_NAMES},
        }
    if wanted.tags is not None:
        properties["tags"] = {"type": "array", "items": {"type": "string", "enum": wanted.tags}}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }


def answer_shape(wanted: Wanted) -> dict[str, Any]:
    """An example answer for the prompt (the same shape as the schema)."""
    shape: dict[str, Any] = {
        name: {lang: f"<{name} in {lang}>" for lang in langs}
        for name, langs in wanted.texts.items()
    }
    if wanted.scores:
        shape["scores"] = {name: "<integer 0-100>" for name in SCORE_NAMES}
        shape["rationale"] = {
            name: {lang: f"<one line: why this {name} score, in {lang}>" for lang in TEXT_LANGUAGES}
            for name in SCORE_NAMES
        }
    if wanted.tags is not None:
        shape["tags"] = ["<1-3 slugs from the list>"]
    return shape


def source_record(source: SourceArticle) -> dict[str, Any]:
    """The source article as an import-format record (what the prompt shows)."""
    record: dict[str, Any] = {
        "id": str(source.id),
        "url": source.url,
        "title": dict(source.title),
        "summary": dict(source.summary),
        "published_at": source.published_at.isoformat(),
    }
    if source.source:
        record["source"] = source.source
    if source.analysis:
        record["analysis"] = dict(source.analysis)
    if source.tags:
        record["tags"] = list(source.tags)
    return record


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: dict[Lang, Text] = Field(default_factory=dict)
    summary: dict[Lang, Text] = Field(default_factory=dict)
    analysis: dict[Lang, Text] = Field(default_factory=dict)
    scores: ScoresRecord | None = None
    rationale: dict[str, dict[Lang, Text]] = Field(default_factory=dict)
    tags: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list)


def _decode(content: str) -> dict[str, Any]:
    text = content.strip()
    if text.startswith("```"):  # some servers wrap JSON in a Markdown fence despite the ask
        text = text.strip("`").removeprefix("json").strip()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"not JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(value, dict):
        raise InvalidAnswer(f"expected a JSON object, got {type(value).__name__}")
    return value


def _check_texts(answer: _Answer, wanted: Wanted) -> list[GeneratedText]:
    texts: list[GeneratedText] = []
    for name, langs in wanted.texts.items():
        given: dict[str, str] = getattr(answer, name)
        for lang in langs:
            text = given.get(lang, "").strip()
            if not text:
                raise InvalidAnswer(f"{name}.{lang}: missing")
            if name == "title" and len(text) > TITLE_MAX_CHARS:
                raise InvalidAnswer(f"title.{lang}: longer than {TITLE_MAX_CHARS} characters")
            if name == "summary" and len(text) > SUMMARY_MAX_CHARS:
                raise InvalidAnswer(f"summary.{lang}: longer than {SUMMARY_MAX_CHARS} characters")
            if name == "analysis":
                paragraphs = [p for p in text.split("\n\n") if p.strip()]
                low, high = ANALYSIS_PARAGRAPHS
                if not low <= len(paragraphs) <= high:
                    raise InvalidAnswer(
                        f"analysis.{lang}: {len(paragraphs)} paragraphs, expected 3-6"
                    )
            texts.append(GeneratedText(lang, name, text, wanted.origins[f"{lang}.{name}"]))
    return texts


def _check_rationale(answer: _Answer) -> list[GeneratedText]:
    texts = []
    for name in SCORE_NAMES:
        lines = answer.rationale.get(name, {})
        for lang in TEXT_LANGUAGES:
            line = " ".join(lines.get(lang, "").split())
            if not line:
                raise InvalidAnswer(f"rationale.{name}.{lang}: missing")
            texts.append(
                GeneratedText(lang, f"rationale.{name}", line[:RATIONALE_MAX_CHARS], GENERATED)
            )
    return texts


def parse_answer(content: str, *, wanted: Wanted, source: SourceArticle, now: datetime) -> Enriched:
    """The fields of a valid answer, or ``InvalidAnswer`` naming the first problem."""
    raw = _decode(content)
    try:
        answer = _Answer.model_validate(raw)
    except ValidationError as exc:
        raise InvalidAnswer(describe_validation_error(exc)) from None
    texts = _check_texts(answer, wanted)
    scores = None
    if wanted.scores:
        if answer.scores is None:
            raise InvalidAnswer("scores: missing")
        scores = (answer.scores.hot, answer.scores.quality, answer.scores.impact)
        texts += _check_rationale(answer)
    tags: tuple[str, ...] = ()
    if wanted.tags is not None:
        allowed = set(wanted.tags)
        # Unknown slugs are dropped, not refused: tags are a hint, the rest is still good.
        tags = tuple(dict.fromkeys(t for t in answer.tags if t in allowed))[:MAX_TAGS]
    # The merged record must pass the very validator imports go through.
    record = source_record(source)
    for text in texts:
        if text.field in TEXT_FIELDS:
            record.setdefault(text.field, {})[text.lang] = text.text
    if scores is not None:
        record["scores"] = dict(zip(SCORE_NAMES, scores, strict=True))
    if tags:
        record["tags"] = list(tags)
    try:
        validate_record(record, now=now)
    except RecordError as exc:
        raise InvalidAnswer(str(exc)) from None
    return Enriched(texts=tuple(texts), scores=scores, tags=tags)
