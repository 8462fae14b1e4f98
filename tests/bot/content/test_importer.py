"""Importing: sources, batches, counts and exit codes of ``digestbot import``."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.content.importer import ImportCounts, import_records, run_import
from bot.content.records import RawRecord
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
