from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.content.ingest import (
    ImportCounts,
    RawRecord,
    RecordError,
    external_id_for,
    html_to_text,
    import_records,
    read_stream,
    run_import,
    validate_record,
)
from storage.articles import article_id_for_external, count_articles, get_article_view
from storage.models import Article
from storage.schemas import ArticleView
from tests.factories import article_record

DATA = Path(__file__).resolve().parents[2] / "data"
SEED = DATA / "seed-article.json"
NOW = datetime(2026, 6, 16, 12, 0, tzinfo=UTC)


def _run(
    engine: Engine, settings: Settings, *files: str | Path, stdin: bytes = b""
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_import(
        engine,
        settings,
        [str(f) for f in files],
        out=out,
        err=err,
        stdin=io.BytesIO(stdin),
        now=NOW,
    )
    return code, out.getvalue(), err.getvalue()


def _view(engine: Engine, external_id: str) -> ArticleView:
    with Session(engine) as session:
        article_id = article_id_for_external(session=session, external_id=external_id)
        assert article_id is not None, external_id
        view = get_article_view(session=session, article_id=article_id)
    assert view is not None
    return view


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return count_articles(session=session)


def _jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    return path


# --- the seed article -----------------------------------------------------------------------


def test_seed_article_lands_with_every_field(engine: Engine, settings: Settings) -> None:
    code, out, err = _run(engine, settings, SEED)
    assert (code, out, err) == (0, "imported 1, updated 0, unchanged 0, rejected 0\n", "")
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    view = _view(engine, "seed-margin-financing-2026")
    assert view.url == seed["url"]
    assert view.source == "AI News"
    assert dict(view.title) == seed["title"]
    assert dict(view.summary) == seed["summary"]
    assert dict(view.analysis) == seed["analysis"]
    assert "\n\n" in view.analysis["en"]  # paragraphs survive
    assert (view.hot, view.quality, view.impact) == (65, 65, 60)
    assert view.published_at == datetime(2026, 6, 15, 1, 0, tzinfo=UTC)
    assert view.updated_at == datetime(2026, 6, 15, 6, 0, tzinfo=UTC)
    assert view.published_at.utcoffset() == timedelta(0)
    assert view.updated_at is not None and view.updated_at.tzinfo is not None
    assert (view.views, view.ai_generated) == (45, True)
    names = {tag.slug: dict(tag.names) for tag in view.tags}
    assert names == {
        "finance-ai": {"en": "Finance AI", "zh": "金融AI"},
        "product-launch": {"en": "Product Launch", "zh": "产品发布"},
        "research": {"en": "Research", "zh": "研究"},
    }
    with Session(engine) as session:
        article = session.exec(select(Article)).one()
        assert article.scores_estimated is False


def test_reimport_is_unchanged_and_edit_updates(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    assert _run(engine, settings, SEED)[0] == 0
    code, out, _ = _run(engine, settings, SEED)
    assert (code, out) == (0, "imported 0, updated 0, unchanged 1, rejected 0\n")
    assert _count(engine) == 1

    seed = json.loads(SEED.read_text(encoding="utf-8"))
    seed["title"]["en"] = "Margin balance falls again"
    seed["scores"]["hot"] = 90
    seed["tags"] = ["research"]
    del seed["analysis"]["zh"]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(seed), encoding="utf-8")
    code, out, _ = _run(engine, settings, edited)
    assert (code, out) == (0, "imported 0, updated 1, unchanged 0, rejected 0\n")
    assert _count(engine) == 1
    view = _view(engine, "seed-margin-financing-2026")
    assert view.title["en"] == "Margin balance falls again"
    assert view.hot == 90
    assert [t.slug for t in view.tags] == ["research"]
    assert set(view.analysis) == {"en"}


# --- JSON Lines, arrays, stdin --------------------------------------------------------------


def test_jsonl_with_bad_lines_imports_the_rest_and_names_them(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    lines: list[Any] = [article_record() for _ in range(10)]
    lines[2] = article_record(url="ftp://example.com/x")
    lines[5] = article_record(title=None)
    lines[8] = article_record(published_at="2026-06-15T09:00:00")
    lines.insert(4, "")  # blank lines are skipped but still counted
    path = _jsonl(tmp_path / "articles.jsonl", lines)
    code, out, err = _run(engine, settings, path)
    assert code == 1
    assert out == "imported 7, updated 0, unchanged 0, rejected 3\n"
    errors = err.splitlines()
    assert len(errors) == 3
    assert errors[0].startswith(f"{path}:3: url: not an http(s) URL")
    assert errors[1] == f"{path}:7: title: required field is missing"
    assert errors[2].startswith(f"{path}:10: published_at: ")
    assert "no UTC offset" in errors[2]
    assert _count(engine) == 7


def test_invalid_json_line_is_one_rejected_record(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = _jsonl(tmp_path / "x.jsonl", ["{not json", article_record(), "[1, 2]"])
    code, out, err = _run(engine, settings, path)
    assert code == 1
    assert out == "imported 1, updated 0, unchanged 0, rejected 2\n"
    assert f"{path}:1: invalid JSON: " in err
    assert f"{path}:3: expected a JSON object, got list" in err


def test_jsonl_is_sniffed_without_the_extension(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = _jsonl(tmp_path / "export.txt", [article_record(), article_record()])
    assert _run(engine, settings, path)[:2] == (
        0,
        "imported 2, updated 0, unchanged 0, rejected 0\n",
    )


def test_json_array_reports_indexes(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    records = [article_record(), article_record(views=-1), article_record(scores={"hot": 5})]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    code, out, err = _run(engine, settings, path)
    assert code == 1
    assert out == "imported 1, updated 0, unchanged 0, rejected 2\n"
    assert err.splitlines() == [
        f"{path}[1]: views: Input should be greater than or equal to 0",
        f"{path}[2]: scores.quality: required field is missing; "
        "scores.impact: required field is missing",
    ]


def test_stdin(engine: Engine, settings: Settings) -> None:
    body = "\n".join(json.dumps(article_record(id=f"in-{i}")) for i in range(3)).encode()
    code, out, err = _run(engine, settings, "-", stdin=body)
    assert (code, out, err) == (0, "imported 3, updated 0, unchanged 0, rejected 0\n", "")
    assert _view(engine, "in-2").title["en"].startswith("Record")


def test_unreadable_sources_exit_2_but_readable_ones_are_imported(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    garbage = tmp_path / "notes.txt"
    garbage.write_text("hello world\n", encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": "x",', encoding="utf-8")
    missing = tmp_path / "missing.jsonl"
    code, out, err = _run(engine, settings, missing, SEED, garbage, broken, tmp_path)
    assert code == 2
    assert out == "imported 1, updated 0, unchanged 0, rejected 0\n"
    lines = err.splitlines()
    assert lines[0] == f"{missing}: cannot read: No such file or directory"
    assert lines[1] == f"{garbage}: not JSON, JSON Lines, RSS, Atom or JSON Feed"
    assert lines[2].startswith(f"{broken}: invalid JSON at line 1")
    assert lines[3].startswith(f"{tmp_path}: cannot read: ")
    assert "Traceback" not in err


def test_empty_file_imports_nothing(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    assert _run(engine, settings, path)[:2] == (
        0,
        "imported 0, updated 0, unchanged 0, rejected 0\n",
    )


def test_database_error_on_one_record_keeps_the_others(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER poison BEFORE INSERT ON article "
                "WHEN NEW.external_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
        )
    records = [article_record(), article_record(id="poison"), article_record()]
    path = _jsonl(tmp_path / "p.jsonl", records)
    code, out, err = _run(engine, settings, path)
    assert code == 1
    assert out == "imported 2, updated 0, unchanged 0, rejected 1\n"
    assert err == f"{path}:2: database error: poisoned\n"


def test_batches_commit_as_they_go(engine: Engine) -> None:
    records = [RawRecord(f"r:{i}", article_record(id=f"b-{i}")) for i in range(7)]
    seen: list[int] = []

    def watched() -> Iterator[RawRecord]:
        for record in records:
            seen.append(_count(engine))
            yield record

    counts = ImportCounts()
    import_records(engine, watched(), now=NOW, err=io.StringIO(), counts=counts, batch_size=3)
    assert counts.imported == 7
    # Before reading records 3 and 6 the earlier batches were already committed.
    assert seen == [0, 0, 0, 3, 3, 3, 6]


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


def _reason(**overrides: Any) -> str:
    with pytest.raises(RecordError) as info:
        validate_record(article_record(**overrides), now=NOW)
    return str(info.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"id": ""}, "id: String should have at least 1 character"),
        ({"id": "x" * 129}, "id: String should have at most 128 characters"),
        ({"id": "   "}, "id: must not be blank"),
        ({"id": 7}, "id: Input should be a valid string"),
        ({"url": "example.com/a"}, "url: not an http(s) URL"),
        ({"url": "javascript:alert(1)"}, "url: not an http(s) URL"),
        ({"title": {}}, "title: needs text in at least one language"),
        ({"title": {"en": "  "}}, "title: needs text in at least one language"),
        ({"summary": None}, "summary: required field is missing"),
        ({"title": {"english": "x"}}, "title: invalid language code 'english'"),
        ({"title": {"en": 5}}, "title.en: Input should be a valid string"),
        ({"summary": {"en": "a\x00b"}}, "summary.en: text contains a NUL character"),
        ({"scores": {"hot": 1, "quality": 2}}, "scores.impact: required field is missing"),
        ({"scores": {"hot": 101, "quality": 2, "impact": 3}}, "scores.hot: Input should be less"),
        (
            {"scores": {"hot": "5", "quality": 2, "impact": 3}},
            "scores.hot: Input should be a valid",
        ),
        (
            {"scores": {"hot": 5.5, "quality": 2, "impact": 3}},
            "scores.hot: Input should be a valid",
        ),
        ({"tags": ["Not A Slug"]}, "tags[0].slug: 'Not A Slug' is not a slug"),
        ({"tags": ["ok", {"slug": "x" * 33}]}, "tags[1].slug: "),
        ({"tags": [{"name": {"en": "X"}}]}, "tags[0].slug: required field is missing"),
        ({"tags": "chips"}, "tags: Input should be a valid list"),
        ({"published_at": None}, "published_at: required field is missing"),
        ({"published_at": "2026-06-15T09:00:00"}, "published_at: 2026-06-15T09:00:00 has no UTC"),
        ({"published_at": "2026-06-15"}, "published_at: 2026-06-15 has no UTC offset"),
        ({"published_at": "yesterday"}, "published_at: not an ISO-8601 date-time: 'yesterday'"),
        ({"published_at": 1781485200}, "published_at: expected an ISO-8601 date-time string"),
        ({"updated_at": "2026-06-15 14:00"}, "updated_at: 2026-06-15 14:00 has no UTC offset"),
        ({"views": -1}, "views: Input should be greater than or equal to 0"),
        ({"views": "3"}, "views: Input should be a valid integer"),
        ({"ai_generated": "yes"}, "ai_generated: Input should be a valid boolean"),
        ({"source": "s" * 201}, "source: String should have at most 200 characters"),
    ],
)
def test_validation_names_the_field(overrides: dict[str, Any], expected: str) -> None:
    assert _reason(**overrides).startswith(expected)


def test_valid_edge_cases_are_accepted() -> None:
    data = validate_record(
        article_record(
            id="x" * 128,
            title={"zh-Hant": "標題", "EN": "Title"},
            published_at="2026-06-15T01:00:00Z",
            updated_at=None,
            tags=["a", {"slug": "a", "name": {"zh": "甲"}}, {"slug": "b-2"}],
            something_new={"ignored": True},
            analysis={"en": "   "},
        ),
        now=NOW,
    )
    assert data.external_id == "x" * 128
    assert set(data.title) == {"zh-Hant", "en"}  # primary subtag lower-cased
    assert data.published_at == datetime(2026, 6, 15, 1, 0, tzinfo=UTC)
    assert data.updated_at is None
    assert [(t.slug, dict(t.names)) for t in data.tags] == [("a", {"zh": "甲"}), ("b-2", {})]
    assert dict(data.analysis) == {}
    with pytest.raises(RecordError, match="expected a JSON object, got str"):
        validate_record("nope", now=NOW)


def test_missing_scores_are_estimated() -> None:
    data = validate_record(article_record(scores=None, published_at=NOW.isoformat()), now=NOW)
    assert data.scores_estimated is True
    assert data.hot >= 70  # published right now
    assert 0 < data.quality <= 100 and 0 < data.impact <= 100
    given = validate_record(article_record(), now=NOW)
    assert (given.hot, given.quality, given.impact, given.scores_estimated) == (70, 60, 50, False)


# --- feeds ----------------------------------------------------------------------------------


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
