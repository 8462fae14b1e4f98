"""The newsroom's queue worker against the strict fake server, through the real client."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.content.enrich.worker import Newsroom
from bot.content.records import validate_record
from storage.articles import article_views, upsert_article
from storage.enrichment import queue_counts
from storage.llm_usage import tokens_used
from storage.models import Article, Enrichment, GeneratedField
from tests.bot.content.enrich.conftest import NOW, english_feed, import_text, llm_settings
from tests.fake_llm import ZH_MARK, FakeLlm, FakeLlmServer
from tests.harness import Clock


def _ids(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(select(Article.url, Article.id)).all()
    return {url.rsplit("/", 1)[-1]: int(i) for url, i in rows if i is not None}


def _states(engine: Engine) -> dict[int, Enrichment]:
    with Session(engine) as session:
        return {row.article_id: row for row in session.exec(select(Enrichment))}


def _newsroom(engine: Engine, settings: Settings, clock: Clock | None = None) -> Newsroom:
    return Newsroom(engine=engine, settings=settings, clock=clock or Clock(NOW))


async def test_an_english_feed_becomes_bilingual_with_labels_scores_and_rationales(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    import_text(engine, english_feed())
    newsroom = _newsroom(engine, llm_settings(settings, llm_server, fake_llm))
    report = await newsroom.run_pass()
    await newsroom.close()
    assert (report.enriched, report.failed, report.requests) == (2, 0, 2)
    assert report.tokens == 2 * fake_llm.tokens_per_answer
    assert all(r["response_format"]["type"] == "json_schema" for r in fake_llm.chat_requests)
    ids = _ids(engine)
    with Session(engine) as session:
        gpu, probe = article_views(session=session, ids=[ids["gpu"], ids["eu-probe"]])
        assert tokens_used(session=session, day="2026-06-15") == 2000
    assert gpu.title["zh"] == ZH_MARK + "Nvidia unveils a new GPU for AI data centers"
    assert gpu.title["en"] == "Nvidia unveils a new GPU for AI data centers"  # source kept
    assert gpu.origin("zh", "title") == "translated"
    assert gpu.origin("en", "title") is None
    # The feed had content for the GPU story: its analysis is translated, not invented.
    assert gpu.origin("zh", "analysis") == "translated"
    assert gpu.analysis["zh"].startswith(ZH_MARK)
    # The probe had none: both languages' analyses are generated, three paragraphs each.
    assert probe.origin("en", "analysis") == "generated"
    assert probe.origin("zh", "analysis") == "generated"
    assert len(probe.analysis["zh"].split("\n\n")) == 3
    assert (gpu.hot, gpu.quality, gpu.impact) == (81, 72, 64)
    assert gpu.rationales["hot"]["zh"] == "hot评分理由:影响大。"
    # The probe came without tags: the newsroom chose one of the existing slugs.
    assert [t.slug for t in probe.tags] == ["chips"]
    with Session(engine) as session:
        fields = session.exec(
            select(GeneratedField).where(GeneratedField.article_id == ids["gpu"])
        ).all()
    assert {f.model for f in fields} == {fake_llm.model}
    assert {f.prompt_version for f in fields} == {"v1"}
    assert len({f.source_hash for f in fields}) == 1


async def test_only_what_is_lacking_is_asked(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    import_text(engine, english_feed())
    newsroom = _newsroom(engine, llm_settings(settings, llm_server, fake_llm))
    await newsroom.run_pass(limit=1)
    await newsroom.close()
    schema = fake_llm.chat_requests[0]["response_format"]["json_schema"]["schema"]
    props = schema["properties"]
    # The GPU story has an English title, summary and analysis and a tag: only Chinese is
    # asked for, plus the scores (a feed sends none); never tags.
    assert props["title"]["required"] == ["zh"]
    assert props["analysis"]["required"] == ["zh"]
    assert set(props) == {"title", "summary", "analysis", "scores", "rationale"}


async def test_reimport_unchanged_sends_nothing_and_a_change_asks_again(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    import_text(engine, english_feed())
    newsroom = _newsroom(engine, llm_settings(settings, llm_server, fake_llm))
    await newsroom.run_pass()
    assert len(fake_llm.chat_requests) == 2
    counts = import_text(engine, english_feed())
    assert counts.unchanged == 2
    report = await newsroom.run_pass()
    assert report.requests == 0 and len(fake_llm.chat_requests) == 2
    ids = _ids(engine)
    with Session(engine) as session:
        gpu, probe = article_views(session=session, ids=[ids["gpu"], ids["eu-probe"]])
    # Generated fields and tags survive the re-import; the generated scores too.
    assert gpu.title["zh"].startswith(ZH_MARK) and gpu.hot == 81
    assert [t.slug for t in probe.tags] == ["chips"] and probe.rationales

    changed = english_feed(title="Nvidia unveils two new GPUs for AI data centers")
    assert import_text(engine, changed).updated == 1
    report = await newsroom.run_pass()
    await newsroom.close()
    assert report.requests == 1 and len(fake_llm.chat_requests) == 3
    with Session(engine) as session:
        (gpu,) = article_views(session=session, ids=[ids["gpu"]])
    assert gpu.title["zh"] == ZH_MARK + "Nvidia unveils two new GPUs for AI data centers"


async def test_source_data_wins_over_generated_text(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    import_text(engine, english_feed())
    newsroom = _newsroom(engine, llm_settings(settings, llm_server, fake_llm))
    await newsroom.run_pass()
    await newsroom.close()
    ids = _ids(engine)
    with Session(engine) as session:
        (gpu,) = article_views(session=session, ids=[ids["gpu"]])
        record = {
            "id": gpu.external_id,
            "url": gpu.url,
            "title": {"en": gpu.title["en"], "zh": "英伟达发布新GPU"},
            "summary": {"en": gpu.summary["en"]},
            "scores": {"hot": 10, "quality": 20, "impact": 30},
            "published_at": gpu.published_at.isoformat(),
        }
        upsert_article(session=session, data=validate_record(record, now=NOW))
        session.commit()
        (gpu,) = article_views(session=session, ids=[ids["gpu"]])
    assert gpu.title["zh"] == "英伟达发布新GPU" and gpu.origin("zh", "title") is None
    assert (gpu.hot, gpu.quality, gpu.impact) == (10, 20, 30)


async def test_json_schema_refused_falls_back_to_json_object(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    fake_llm.refuse_json_schema = True
    import_text(engine, english_feed())
    newsroom = _newsroom(
        engine, llm_settings(settings, llm_server, fake_llm, DIGESTBOT_LLM_CONCURRENCY=1)
    )
    report = await newsroom.run_pass()
    await newsroom.close()
    assert report.enriched == 2
    assert fake_llm.errors[0][0] == 400
    assert len(fake_llm.errors) == 1  # refused once; the client remembers
    assert [r["response_format"]["type"] for r in fake_llm.chat_requests] == ["json_object"] * 2


async def test_a_request_the_server_cannot_take_fails_that_article_only(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    import_text(engine, english_feed())
    newsroom = _newsroom(
        engine, llm_settings(settings, llm_server, fake_llm, DIGESTBOT_LLM_CONCURRENCY=1)
    )
    fake_llm.fail_next("bad_request", times=2)  # the schema request and its json_object retry
    report = await newsroom.run_pass()
    await newsroom.close()
    assert (report.enriched, report.failed, report.stopped) == (1, 1, None)
    failed = [row for row in _states(engine).values() if row.state == "failed"]
    assert failed[0].reason is not None and "HTTP 400" in failed[0].reason
    assert "maximum context length" in failed[0].reason
    # Both refusals were this article's own: the next one still asks with a schema.
    assert fake_llm.chat_requests[-1]["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize("fault", ["invalid_json", "schema_break", "length"])
async def test_an_invalid_answer_is_asked_again_once_then_the_article_fails(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer, fault: str
) -> None:
    import_text(engine, english_feed())
    newsroom = _newsroom(
        engine, llm_settings(settings, llm_server, fake_llm, DIGESTBOT_LLM_CONCURRENCY=1)
    )
    fake_llm.fail_next(fault)  # first article: bad, then good
    fake_llm.fail_next("slow", seconds=0)
    fake_llm.fail_next(fault, times=2)  # second article: bad twice
    report = await newsroom.run_pass()
    await newsroom.close()
    assert (report.enriched, report.failed, report.requests) == (1, 1, 4)
    failed = [row for row in _states(engine).values() if row.state == "failed"]
    assert len(failed) == 1
    assert failed[0].reason is not None and failed[0].reason.startswith("invalid answer twice")
    if fault == "length":
        assert "finish_reason length" in failed[0].reason
    assert failed[0].tokens == 2 * fake_llm.tokens_per_answer


async def test_429_honours_retry_after_and_ends_the_pass(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    import_text(engine, english_feed())
    clock = Clock(NOW)
    newsroom = _newsroom(
        engine, llm_settings(settings, llm_server, fake_llm, DIGESTBOT_LLM_CONCURRENCY=1), clock
    )
    fake_llm.fail_next("429", retry_after="120")
    report = await newsroom.run_pass()
    assert report.stopped is not None and "rate limited" in report.stopped
    assert report.requests == 0 and len(fake_llm.chat_requests) == 1
    states = _states(engine)
    assert all(row.state == "pending" for row in states.values())
    limited = [row for row in states.values() if row.reason]
    assert len(limited) == 1 and limited[0].next_attempt_at == NOW + timedelta(seconds=120)
    assert limited[0].attempts == 0  # the server's wish to wait costs the article no attempt
    clock.now = NOW + timedelta(seconds=60)
    assert (await newsroom.run_pass()).requests == 0  # still paused
    assert len(fake_llm.chat_requests) == 1
    clock.now = NOW + timedelta(seconds=121)
    report = await newsroom.run_pass()
    await newsroom.close()
    assert report.enriched == 2


@pytest.mark.parametrize("fault", ["500", "slow"])
async def test_server_errors_and_timeouts_back_off(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer, fault: str
) -> None:
    import_text(engine, english_feed())
    clock = Clock(NOW)
    newsroom = _newsroom(
        engine,
        llm_settings(
            settings, llm_server, fake_llm, DIGESTBOT_LLM_CONCURRENCY=1, DIGESTBOT_LLM_TIMEOUT=0.5
        ),
        clock,
    )
    fake_llm.fail_next(fault, seconds=3)
    report = await newsroom.run_pass()
    assert (report.enriched, report.retry_later, report.failed) == (1, 1, 0)
    waiting = [row for row in _states(engine).values() if row.state == "pending"]
    assert len(waiting) == 1
    assert waiting[0].next_attempt_at == NOW + timedelta(seconds=30)
    assert waiting[0].reason and ("500" in waiting[0].reason or "in time" in waiting[0].reason)
    clock.now = NOW + timedelta(seconds=31)
    assert (await newsroom.run_pass()).enriched == 1
    await newsroom.close()


async def test_the_daily_token_budget_stops_requests(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    import_text(engine, english_feed())
    clock = Clock(NOW)
    newsroom = _newsroom(
        engine,
        llm_settings(
            settings,
            llm_server,
            fake_llm,
            DIGESTBOT_LLM_CONCURRENCY=1,
            DIGESTBOT_LLM_DAILY_TOKENS=1000,
        ),
        clock,
    )
    report = await newsroom.run_pass()
    assert report.enriched == 1 and report.stopped == "daily token budget spent"
    assert len(fake_llm.chat_requests) == 1
    assert (await newsroom.run_pass()).requests == 0
    with Session(engine) as session:
        assert queue_counts(session=session) == {"pending": 1, "running": 0, "done": 1, "failed": 0}
    clock.now = NOW + timedelta(days=1)  # a new UTC day, a new budget
    assert (await newsroom.run_pass()).enriched == 1
    await newsroom.close()


async def test_two_workers_never_ask_twice_for_one_article(
    any_engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    import_text(any_engine, english_feed())
    import_text(
        any_engine, english_feed(host="other.example.org", title="Another story about chips")
    )
    config = llm_settings(settings, llm_server, fake_llm, DIGESTBOT_LLM_CONCURRENCY=3)
    fake_llm.fail_next("slow", times=8, seconds=0.2)
    first, second = _newsroom(any_engine, config), _newsroom(any_engine, config)
    reports = await asyncio.gather(first.run_pass(), second.run_pass())
    await first.close()
    await second.close()
    # Four articles, but both feeds carry the EU probe: one story, enriched once.
    assert sum(r.enriched for r in reports) == 3
    assert len(fake_llm.chat_requests) == 3
    prompts = [r["messages"][-1]["content"] for r in fake_llm.chat_requests]
    assert len(set(prompts)) == 3


async def test_the_api_key_never_reaches_logs_or_reports(
    engine: Engine,
    settings: Settings,
    fake_llm: FakeLlm,
    llm_server: FakeLlmServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    import_text(engine, english_feed())
    wrong = "sk-wrong-key-that-must-stay-secret"
    newsroom = _newsroom(
        engine, llm_settings(settings, llm_server, fake_llm, DIGESTBOT_LLM_API_KEY=wrong)
    )
    report = await newsroom.run_pass()
    assert report.stopped is not None and "401" in report.stopped
    assert all(row.state == "pending" and row.attempts == 0 for row in _states(engine).values())
    right = _newsroom(engine, llm_settings(settings, llm_server, fake_llm))
    assert (await right.run_pass()).enriched == 2
    await newsroom.close()
    await right.close()
    assert wrong not in caplog.text and fake_llm.api_key not in caplog.text
    assert wrong not in str(report)


async def test_an_answer_to_a_source_that_changed_meanwhile_is_not_stored(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    import_text(engine, english_feed())
    newsroom = _newsroom(
        engine, llm_settings(settings, llm_server, fake_llm, DIGESTBOT_LLM_CONCURRENCY=1)
    )
    fake_llm.fail_next("slow", seconds=1.0)  # the first request (the GPU story, the newest)
    changed = english_feed(title="Nvidia unveils two new GPUs for AI data centers")

    async def edit_meanwhile() -> None:
        await asyncio.sleep(0.4)
        await asyncio.to_thread(import_text, engine, changed)

    report, _ = await asyncio.gather(newsroom.run_pass(), edit_meanwhile())
    assert report.requests == 2 and report.enriched == 1
    gpu = _ids(engine)["gpu"]
    assert _states(engine)[gpu].state == "pending"
    with Session(engine) as session:
        (view,) = article_views(session=session, ids=[gpu])
    assert "zh" not in view.title  # the stale translation was thrown away
    report = await newsroom.run_pass()
    await newsroom.close()
    assert report.enriched == 1
    with Session(engine) as session:
        (view,) = article_views(session=session, ids=[gpu])
    assert view.title["zh"] == ZH_MARK + "Nvidia unveils two new GPUs for AI data centers"
