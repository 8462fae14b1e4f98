"""Importing articles: the interchange format (docs/article-format.md), readers, ``run_import``.

Readers turn a source (a file, ``-`` for stdin, or an http(s) URL) into ``RawRecord`` items;
``validate_record`` turns one into ``ArticleData`` or raises ``RecordError`` naming the field;
``import_records`` upserts them in batches. JSON Lines is streamed line by line.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from itertools import chain
from pathlib import Path
from typing import IO, Annotated, Any
from urllib.parse import urlsplit

import feedparser
import httpx
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
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.content.langdetect import detect_language
from bot.content.scoring import ScoreInput, score
from storage.articles import ArticleData, TagData, UpsertResult, upsert_article
from storage.db import session_scope

BATCH_SIZE = 500
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
HTTP_TIMEOUT_SECONDS = 20.0
USER_AGENT = "digestbot/0.1 (AI news digest bot; +https://github.com/digestbot)"
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".jsonlines"})
JSON_FEED_PREFIX = "https://jsonfeed.org/version/"
# A feed summary longer than this with no separate content is split: first paragraph as the
# summary, the full text as the analysis.
LONG_SUMMARY_CHARS = 1_000

_LANG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_SLUG_RE = re.compile(r"^[a-z0-9-]{1,32}$")


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


# --- plain text from feed HTML --------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "tr",
        "table",
        "section",
        "article",
        "figure",
        "figcaption",
        "hr",
        "header",
        "footer",
    ]
)
_SKIP_TAGS = frozenset({"script", "style", "template"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def normalize_text(text: str) -> str:
    """Paragraphs separated by one blank line; runs of spaces collapsed; lines kept."""
    paragraphs = []
    for block in re.split(r"\n[ \t\r\f\v\xa0]*\n", text.replace("\r\n", "\n")):
        lines = [" ".join(line.split()) for line in block.split("\n")]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, paragraphs kept."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return normalize_text("".join(parser.parts))


# --- feed entries -> interchange records ----------------------------------------------------


def external_id_for(raw_id: str, feed_key: str) -> str:
    """A stable id of at most 128 chars for a feed entry.

    Absolute URIs (links, ``tag:``/``urn:`` ids) are globally unique and kept as they are;
    anything else (``<guid>42</guid>``) is only unique within its feed, so it is qualified with
    the feed before hashing.
    """
    raw_id = raw_id.strip()
    is_uri = bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", raw_id))
    if is_uri and len(raw_id) <= 128:
        return raw_id
    key = raw_id if is_uri else f"{feed_key}\n{raw_id}"
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:32].rstrip("-")


def _first_paragraph(text: str, limit: int = 500) -> str:
    first = text.split("\n\n", 1)[0]
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _time_from_struct(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), UTC)


def _texts_to_record(
    *,
    raw_id: str,
    feed_key: str,
    url: str,
    source: str | None,
    title: str,
    summary: str,
    content: str,
    published: str | None,
    updated: str | None,
    tags: Iterable[tuple[str, str]],
    now: datetime,
) -> tuple[dict[str, Any], bool]:
    """A record dict from one entry's plain texts, and whether its date was made up."""
    if not summary:
        summary = _first_paragraph(content) if content else title
    elif not content and len(summary) > LONG_SUMMARY_CHARS:
        summary, content = _first_paragraph(summary), summary
    if not title:
        title = _first_paragraph(summary, limit=120)
    analysis = content if len(content) > len(summary) else ""
    lang = detect_language(f"{title}\n{summary}")
    record: dict[str, Any] = {
        "id": external_id_for(raw_id, feed_key),
        "url": url,
        "title": {lang: title},
        "summary": {lang: summary},
        "published_at": published or now.isoformat(),
    }
    if source:
        record["source"] = source[:200]
    if analysis:
        record["analysis"] = {lang: analysis}
    if updated and updated != published:
        record["updated_at"] = updated
    tag_list: list[dict[str, Any]] = []
    for term, label in tags:
        slug = slugify(term)
        if slug and all(t["slug"] != slug for t in tag_list):
            tag_list.append({"slug": slug, "name": {lang: label or term}})
    if tag_list:
        record["tags"] = tag_list
    return record, published is None


def _detail_text(entry: Mapping[str, Any], key: str) -> str:
    detail = entry.get(f"{key}_detail") or {}
    value = str(entry.get(key) or "")
    if detail.get("type") == "text/plain":
        return normalize_text(value)
    return html_to_text(value)


def _feedparser_records(parsed: Any, label: str, now: datetime) -> Iterator[RawRecord]:
    feed = parsed.feed
    source = html_to_text(str(feed.get("title") or "")) or None
    feed_key = str(feed.get("link") or label)
    for index, entry in enumerate(parsed.entries):
        location = f"{label}[{index}]"
        link = str(entry.get("link") or "")
        raw_id = str(entry.get("id") or link)
        if not raw_id:
            yield RawRecord(location, error="entry has neither an id nor a link")
            continue
        if not link and raw_id.startswith(("http://", "https://")):
            link = raw_id
        contents = entry.get("content") or []
        content = ""
        if contents:
            first = contents[0]
            value = str(first.get("value") or "")
            content = (
                normalize_text(value)
                if first.get("type") == "text/plain"
                else (html_to_text(value))
            )
        published = _time_from_struct(entry.get("published_parsed"))
        # ``in`` first: .get() would fall back to published_parsed with a DeprecationWarning.
        updated = _time_from_struct(entry["updated_parsed"]) if "updated_parsed" in entry else None
        first_date = published or updated
        tags = [
            (str(t.get("term") or ""), str(t.get("label") or "")) for t in entry.get("tags") or []
        ]
        record, estimated = _texts_to_record(
            raw_id=raw_id,
            feed_key=feed_key,
            url=link,
            source=source,
            title=_detail_text(entry, "title"),
            summary=_detail_text(entry, "summary"),
            content=content,
            published=first_date.isoformat() if first_date else None,
            updated=updated.isoformat() if updated else None,
            tags=tags,
            now=now,
        )
        yield RawRecord(location, record, published_at_estimated=estimated)


def _json_feed_records(
    document: Mapping[str, Any], label: str, now: datetime
) -> Iterator[RawRecord]:
    source = str(document.get("title") or "") or None
    feed_key = str(document.get("home_page_url") or document.get("feed_url") or label)
    items = document.get("items")
    if not isinstance(items, list):
        raise SourceError("JSON Feed has no items list")
    for index, item in enumerate(items):
        location = f"{label}[{index}]"
        if not isinstance(item, dict):
            yield RawRecord(location, error="JSON Feed item is not an object")
            continue
        url = str(item.get("url") or item.get("external_url") or "")
        raw_id = str(item.get("id") or url)
        if not raw_id:
            yield RawRecord(location, error="item has neither an id nor a url")
            continue
        if item.get("content_html"):
            content = html_to_text(str(item["content_html"]))
        else:
            content = normalize_text(str(item.get("content_text") or ""))
        tags = [(str(t), str(t)) for t in item.get("tags") or [] if isinstance(t, str)]
        published = item.get("date_published") or item.get("date_modified")
        updated = item.get("date_modified")
        record, estimated = _texts_to_record(
            raw_id=raw_id,
            feed_key=feed_key,
            url=url,
            source=source,
            title=normalize_text(str(item.get("title") or "")),
            summary=normalize_text(str(item.get("summary") or "")),
            content=content,
            published=str(published) if published else None,
            updated=str(updated) if updated else None,
            tags=tags,
            now=now,
        )
        yield RawRecord(location, record, published_at_estimated=estimated)


# --- readers --------------------------------------------------------------------------------


def _is_json_feed(value: object) -> bool:
    return isinstance(value, dict) and str(value.get("version", "")).startswith(JSON_FEED_PREFIX)


def _json_lines(lines: Iterable[tuple[int, bytes]], label: str) -> Iterator[RawRecord]:
    for number, raw in lines:
        text = raw.strip()
        if not text:
            continue
        location = f"{label}:{number}"
        try:
            yield RawRecord(location, json.loads(text))
        except json.JSONDecodeError as exc:
            yield RawRecord(location, error=f"invalid JSON: {exc.msg} (column {exc.colno})")
        except UnicodeDecodeError:
            yield RawRecord(location, error="line is not valid UTF-8")


def _document(data: bytes, label: str, now: datetime) -> Iterator[RawRecord]:
    """A whole JSON array / object, or an XML feed."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        parsed = feedparser.parse(data)
        if not parsed.get("version") and not parsed.entries:
            reason = parsed.get("bozo_exception") or "no feed found"
            raise SourceError(f"not an RSS or Atom feed ({reason})")
        yield from _feedparser_records(parsed, label, now)
        return
    if head not in (b"[", b"{"):
        raise SourceError("not JSON, JSON Lines, RSS, Atom or JSON Feed")
    try:
        document = json.loads(data)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError:
        raise SourceError("not valid UTF-8") from None
    if isinstance(document, list):
        for index, value in enumerate(document):
            yield RawRecord(f"{label}[{index}]", value)
    elif _is_json_feed(document):
        yield from _json_feed_records(document, label, now)
    else:
        yield RawRecord(label, document)


def read_stream(
    stream: IO[bytes], label: str, *, now: datetime, jsonl: bool = False
) -> Iterator[RawRecord]:
    """Records from a binary stream, the format sniffed from its first non-blank line.

    JSON Lines (a first line that is a whole object, or ``jsonl=True``) is read one line at
    a time, so the file's size does not matter; other formats are whole documents.
    """
    consumed: list[bytes] = []
    first = b""
    while True:
        line = stream.readline()
        if not line:
            break
        consumed.append(line)
        first = line.strip().lstrip(b"\xef\xbb\xbf").strip()
        if first:
            break
    if not first:
        return
    if not jsonl and first.startswith(b"{") and first != b"{":
        try:
            jsonl = not _is_json_feed(json.loads(first))
        except (json.JSONDecodeError, UnicodeDecodeError):
            jsonl = True  # a broken first line is reported as such, the rest still imported
    if jsonl:
        numbered = chain(enumerate(consumed, start=1), enumerate(stream, start=len(consumed) + 1))
        yield from _json_lines(numbered, label)
        return
    yield from _document(b"".join(consumed) + stream.read(), label, now)


def read_limited(response: httpx.Response, limit: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """The body of a streamed response, refusing to hold more than ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise SourceError(f"response is larger than {limit // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def make_http_client() -> httpx.Client:
    return httpx.Client(
        timeout=HTTP_TIMEOUT_SECONDS, headers={"User-Agent": USER_AGENT}, follow_redirects=True
    )


def download(client: httpx.Client, url: str) -> bytes:
    try:
        with client.stream("GET", url) as response:
            if response.status_code != httpx.codes.OK:
                raise SourceError(f"HTTP {response.status_code} {response.reason_phrase}")
            return read_limited(response)
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot fetch: {exc or type(exc).__name__}") from None


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_source(
    source: str,
    *,
    now: datetime,
    stdin: IO[bytes],
    client: Callable[[], httpx.Client],
) -> Iterator[RawRecord]:
    """Records of a path, ``-`` (stdin) or an http(s) URL; raises ``SourceError``."""
    if source == "-":
        yield from read_stream(stdin, "<stdin>", now=now)
        return
    if is_url(source):
        data = download(client(), source)
        yield from read_stream(io.BytesIO(data), source, now=now)
        return
    path = Path(source)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    with stream:
        try:
            yield from read_stream(
                stream, source, now=now, jsonl=path.suffix.lower() in JSONL_SUFFIXES
            )
        except OSError as exc:
            raise SourceError(f"cannot read: {exc.strerror or exc}") from None


# --- importing ------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportCounts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, result: UpsertResult) -> None:
        setattr(self, result, getattr(self, result) + 1)

    def summary(self) -> str:
        return (
            f"imported {self.imported}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {self.rejected}"
        )


def _reject(counts: ImportCounts, err: IO[str], location: str, reason: str) -> None:
    counts.rejected += 1
    err.write(f"{location}: {reason}\n")


def _store_batch(
    engine: Engine, batch: list[tuple[str, ArticleData]], counts: ImportCounts, err: IO[str]
) -> None:
    try:
        with session_scope(engine) as session:
            results = [upsert_article(session=session, data=data) for _, data in batch]
    except SQLAlchemyError:
        # Replay one record per transaction so a bad record costs only itself.
        for location, data in batch:
            try:
                with session_scope(engine) as session:
                    result = upsert_article(session=session, data=data)
            except SQLAlchemyError as exc:
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                _reject(counts, err, location, f"database error: {reason}")
            else:
                counts.add(result)
        return
    for result in results:
        counts.add(result)


def import_records(
    engine: Engine,
    records: Iterable[RawRecord],
    *,
    now: datetime,
    err: IO[str],
    counts: ImportCounts,
    batch_size: int = BATCH_SIZE,
) -> None:
    """Validate and upsert ``records``, committing every ``batch_size``; rejects go to ``err``."""
    batch: list[tuple[str, ArticleData]] = []
    try:
        for raw in records:
            if raw.error is not None:
                _reject(counts, err, raw.location, raw.error)
                continue
            try:
                data = validate_record(
                    raw.value, now=now, published_at_estimated=raw.published_at_estimated
                )
            except RecordError as exc:
                _reject(counts, err, raw.location, str(exc))
                continue
            batch.append((raw.location, data))
            if len(batch) >= batch_size:
                _store_batch(engine, batch, counts, err)
                batch = []
    finally:
        # Also on a SourceError half-way through: what was read and valid is kept.
        if batch:
            _store_batch(engine, batch, counts, err)


def run_import(
    engine: Engine,
    settings: Settings,
    files: Iterable[str],
    *,
    out: IO[str],
    err: IO[str],
    stdin: IO[bytes] | None = None,
    client: httpx.Client | None = None,
    now: datetime | None = None,
) -> int:
    """``digestbot import``: 0 all imported, 1 some records rejected, 2 a source unreadable."""
    del settings  # nothing to configure yet; kept so every command has the same shape
    now = now or datetime.now(UTC)
    counts = ImportCounts()
    unreadable = False
    own_client: httpx.Client | None = None

    def get_client() -> httpx.Client:
        nonlocal own_client
        if client is not None:
            return client
        if own_client is None:
            own_client = make_http_client()
        return own_client

    try:
        for source in files:
            records = read_source(
                source, now=now, stdin=stdin or sys.stdin.buffer, client=get_client
            )
            try:
                import_records(engine, records, now=now, err=err, counts=counts)
            except SourceError as exc:
                unreadable = True
                err.write(f"{source}: {exc}\n")
    finally:
        if own_client is not None:
            own_client.close()
    out.write(counts.summary() + "\n")
    if unreadable:
        return 2
    return 1 if counts.rejected else 0
