"""Source formats -> ``RawRecord``: JSON, JSON Lines, RSS/Atom (feedparser), JSON Feed.

``read_stream`` sniffs the format from the first non-blank line; JSON Lines is streamed line
by line. Feed HTML becomes plain text (``html_to_text``).
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from itertools import chain
from typing import IO, Any

import feedparser

from bot.content.langdetect import detect_language
from bot.content.records import RawRecord, SourceError

JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".jsonlines"})
JSON_FEED_PREFIX = "https://jsonfeed.org/version/"
# A feed summary longer than this with no separate content is split: first paragraph as the
# summary, the full text as the analysis.
LONG_SUMMARY_CHARS = 1_000


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


def _xml_feed(data: bytes, label: str, now: datetime) -> Iterator[RawRecord]:
    """RSS or Atom bytes, decoded by feedparser itself (BOM, XML declaration, HTTP rules)."""
    parsed = feedparser.parse(data)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no feed found"
        raise SourceError(f"not an RSS or Atom feed ({reason})")
    yield from _feedparser_records(parsed, label, now)


# UTF-32 first: the UTF-32 little-endian BOM starts with the UTF-16 one.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _wide_encoding(head: bytes) -> str | None:
    return next((name for bom, name in _WIDE_BOMS if head.startswith(bom)), None)


def _wide(
    data: bytes, encoding: str, label: str, now: datetime, jsonl: bool
) -> Iterator[RawRecord]:
    """A UTF-16 / UTF-32 source with its BOM: a feed goes to feedparser as the bytes it is;
    JSON (Lines, Feed) is re-encoded as UTF-8 and read like any other."""
    try:
        text = data.decode(encoding)  # the codec reads the byte order from the BOM
    except UnicodeDecodeError:
        raise SourceError(f"not valid {encoding.upper()}") from None
    if text.lstrip(" \t\r\n").startswith("<"):
        yield from _xml_feed(data, label, now)
        return
    yield from read_stream(io.BytesIO(text.encode("utf-8")), label, now=now, jsonl=jsonl)


def _lines(head: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    """The stream's lines, ``head`` (already read from it) included."""
    first = head if head.endswith(b"\n") else head + stream.readline()
    yield from io.BytesIO(first)
    yield from stream


def _document(data: bytes, label: str, now: datetime) -> Iterator[RawRecord]:
    """A whole JSON array / object, or an XML feed."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        yield from _xml_feed(data, label, now)
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
    a time, so the file's size does not matter; other formats are whole documents. UTF-8
    (with or without BOM) is read as is; UTF-16 and UTF-32 need their BOM.
    """
    head = stream.read(4)
    encoding = _wide_encoding(head)
    if encoding is not None:
        yield from _wide(head + stream.read(), encoding, label, now, jsonl)
        return
    lines = _lines(head, stream)
    consumed: list[bytes] = []
    first = b""
    for line in lines:
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
        numbered = chain(enumerate(consumed, start=1), enumerate(lines, start=len(consumed) + 1))
        yield from _json_lines(numbered, label)
        return
    yield from _document(b"".join(consumed) + b"".join(lines), label, now)
