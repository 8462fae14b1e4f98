"""Source formats: JSON Lines streaming, RSS/Atom, JSON Feed, feed HTML to text."""

from __future__ import annotations

import codecs
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.content.formats import external_id_for, html_to_text, read_stream
from bot.content.importer import run_import
from storage.models import Article
from tests.bot.content.test_importer import DATA, NOW, _run, _view
from tests.factories import article_record


def test_jsonl_is_streamed_not_loaded(tmp_path: Path) -> None:
    """Records come out while the source is still being read: memory does not grow with size."""
    line = (json.dumps(article_record()) + "\n").encode()
    produced = 0

    class Endless(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            nonlocal produced
            produced += 1
            buffer[: len(line)] = line
            return len(line)

    stream = io.BufferedReader(Endless(), buffer_size=len(line))
    records = read_stream(stream, "endless", now=NOW)
    for index, record in zip(range(1000), records, strict=False):
        assert record.location == f"endless:{index + 1}"
        assert record.error is None
    # 1000 records from a source that never ends: only what was needed was read.
    assert produced <= 1002


def test_large_jsonl_reads_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.jsonl"
    line = json.dumps(article_record(analysis={"en": "x" * 5000})) + "\n"
    with path.open("w", encoding="utf-8") as f:
        for _ in range(2000):  # ~10 MB
            f.write(line)
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            count = sum(1 for _ in read_stream(stream, "big", now=NOW))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 2000
    assert peak < 1_000_000  # a few lines, not the 10 MB file


# --- validation rules -----------------------------------------------------------------------


def test_rss_feed_import(engine: Engine, settings: Settings) -> None:
    code, out, err = _run(engine, settings, DATA / "rss.xml")
    assert (code, out, err) == (0, "imported 2, updated 0, unchanged 0, rejected 0\n", "")
    view = _view(engine, "https://wire.example.com/2026/06/nvidia-gpu")
    assert view.title == {"en": "Nvidia unveils a new GPU for AI data centers"}
    assert view.summary["en"] == (
        "The chip maker announced its next data-center GPU & a software stack."
    )
    assert "Analysts expect shipments" in view.analysis["en"]
    assert "alert" not in view.analysis["en"]
    assert view.source == "Example AI Wire"
    assert view.published_at == datetime(2026, 6, 15, 1, 0, tzinfo=UTC)
    assert {t.slug: dict(t.names) for t in view.tags} == {
        "chips": {"en": "Chips"},
        "model-release": {"en": "Model Release"},
    }
    with Session(engine) as session:
        estimated = session.exec(select(Article.scores_estimated)).all()
    assert estimated == [True, True]
    # The guid "42" is only unique inside its feed: it is qualified and hashed.
    guid_id = external_id_for("42", "https://wire.example.com/")
    undated = _view(engine, guid_id)
    assert undated.url == "https://wire.example.com/2026/06/eu-probe"
    assert undated.published_at == NOW  # no date in the feed: the import time
    # Re-reading the feed a day later changes nothing: made-up dates are not "news".
    out2, err2 = io.StringIO(), io.StringIO()
    run_import(
        engine,
        settings,
        [str(DATA / "rss.xml")],
        out=out2,
        err=err2,
        now=NOW + timedelta(days=1),
    )
    assert out2.getvalue() == "imported 0, updated 0, unchanged 2, rejected 0\n"


def test_chinese_atom_feed_is_detected_as_zh(engine: Engine, settings: Settings) -> None:
    code, out, _ = _run(engine, settings, DATA / "atom-zh.xml")
    assert (code, out) == (0, "imported 2, updated 0, unchanged 0, rejected 0\n")
    view = _view(engine, "tag:zh.example.com,2026:news-1")
    assert view.languages == ("zh",)
    assert view.title == {"zh": "两市融资余额减少76.61亿元"}
    assert "退堂鼓" in view.analysis["zh"]
    assert view.updated_at == datetime(2026, 6, 15, 6, 0, tzinfo=UTC)
    assert [(t.slug, dict(t.names)) for t in view.tags] == [("finance", {"zh": "金融"})]
    second = _view(engine, "tag:zh.example.com,2026:news-2")
    assert second.languages == ("zh",)
    assert second.published_at == datetime(2026, 6, 14, 10, 0, tzinfo=UTC)


def test_json_feed_import(engine: Engine, settings: Settings) -> None:
    path = DATA / "feed.json"
    code, out, err = _run(engine, settings, path)
    assert code == 1
    assert out == "imported 2, updated 0, unchanged 0, rejected 1\n"
    assert err.startswith(f"{path}[2]: published_at: 2026-06-14T20:00:00 has no UTC offset")
    view = _view(engine, "https://notes.example.org/p/open-weights")
    assert view.source == "JSON AI Notes"
    assert "Benchmarks put it near" in view.analysis["en"]
    assert [t.slug for t in view.tags] == ["llm", "open-source"]
    note = _view(engine, external_id_for("2", "https://notes.example.org/"))
    assert note.summary == {"en": "Short note about export controls."}
    assert note.published_at == datetime(2026, 6, 14, 18, 0, tzinfo=UTC)


def test_html_to_text() -> None:
    html = (
        "<p>One &amp; <b>two</b></p>\n<p>Three<br>four</p><script>x()</script><ul><li>a</li></ul>"
    )
    assert html_to_text(html) == "One & two\n\nThree\nfour\n\na"
    assert html_to_text("plain  text") == "plain text"
    assert html_to_text("") == ""


def test_external_ids_are_stable_and_fit() -> None:
    long_url = "https://example.com/" + "a" * 200
    assert external_id_for(long_url, "f") == external_id_for(long_url, "other feed")
    assert len(external_id_for(long_url, "f")) <= 128
    assert external_id_for("https://e.com/x", "f") == "https://e.com/x"
    assert external_id_for("7", "feed-a") != external_id_for("7", "feed-b")
    assert external_id_for("7", "feed-a").startswith("sha256:")


# --- UTF-16 and UTF-32 sources (with their BOM) ----------------------------------------------

WIDE = ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"]
_BOMS = {
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}


def _wide_copy(source: Path, encoding: str, tmp_path: Path) -> Path:
    """``source`` as a publisher writing UTF-16/32 would: BOM, declaration naming it."""
    text = source.read_text(encoding="utf-8")
    family = encoding[:6].upper()  # UTF-16 / UTF-32
    text = re.sub(r'encoding="utf-8"', f'encoding="{family}"', text, count=1, flags=re.I)
    path = tmp_path / f"{source.stem}-{encoding}{source.suffix}"
    path.write_bytes(_BOMS[encoding] + text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", WIDE)
def test_wide_rss_and_atom_are_read_like_utf8(
    engine: Engine, settings: Settings, tmp_path: Path, encoding: str
) -> None:
    code, out, err = _run(engine, settings, _wide_copy(DATA / "rss.xml", encoding, tmp_path))
    assert (code, out, err) == (0, "imported 2, updated 0, unchanged 0, rejected 0\n", "")
    code, out, err = _run(engine, settings, _wide_copy(DATA / "atom-zh.xml", encoding, tmp_path))
    assert (code, out, err) == (0, "imported 2, updated 0, unchanged 0, rejected 0\n", "")
    view = _view(engine, "tag:zh.example.com,2026:news-1")
    assert view.title == {"zh": "两市融资余额减少76.61亿元"}


@pytest.mark.parametrize("encoding", WIDE)
def test_wide_json_feed_and_json_lines(
    engine: Engine, settings: Settings, tmp_path: Path, encoding: str
) -> None:
    code, out, _ = _run(engine, settings, _wide_copy(DATA / "feed.json", encoding, tmp_path))
    assert (code, out) == (1, "imported 2, updated 0, unchanged 0, rejected 1\n")
    lines = tmp_path / "articles.jsonl"
    records = [article_record(id="wide-1"), article_record(id="wide-2")]
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    lines.write_bytes(_BOMS[encoding] + body.encode(encoding))
    code, out, err = _run(engine, settings, lines)
    assert (code, out, err) == (0, "imported 2, updated 0, unchanged 0, rejected 0\n", "")


def test_broken_utf16_is_one_clear_line(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_bytes(codecs.BOM_UTF16_LE + "<rss>".encode("utf-16-le") + b"\x00\xd8")
    code, out, err = _run(engine, settings, path)
    assert (code, out) == (2, "imported 0, updated 0, unchanged 0, rejected 0\n")
    assert err == f"{path}: not valid UTF-16\n"


def test_first_bytes_of_a_short_utf8_source_are_kept(tmp_path: Path) -> None:
    # The format sniffer reads 4 bytes ahead; sources shorter than that, or whose first line
    # ends inside those bytes, lose nothing.
    for data in (b"[]", b"\n\n[]", b"\n{}\n", b"{}\n{}\n"):
        records = list(read_stream(io.BytesIO(data), "s", now=NOW))
        assert len(records) == data.count(b"{}"), data
