"""One story, one item: duplicates found without the model, and across languages with
embeddings from the fake server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.content.enrich.dedup import (
    find_duplicates,
    jaccard,
    link_duplicates,
    normalize_title,
    normalize_url,
    shingles,
)
from bot.content.enrich.worker import Newsroom
from storage.articles import article_views
from storage.models import Article
from storage.stories import StoryCandidate
from tests.bot.content.enrich.conftest import NOW, english_feed, import_text, llm_settings
from tests.factories import make_article
from tests.fake_llm import FakeLlm, FakeLlmServer


def _item(i: int, url: str, title: str, summary: str = "", lang: str = "en") -> StoryCandidate:
    return StoryCandidate(i, url, NOW + timedelta(seconds=i), None, {lang: (title, summary)})


def test_urls_are_compared_without_tracking_scheme_www_or_trailing_slash() -> None:
    assert normalize_url("https://www.Example.com/a/b/?utm_source=x&id=3#top") == normalize_url(
        "http://example.com/a/b?id=3&fbclid=zz"
    )
    assert normalize_url("https://example.com/a?id=3") != normalize_url(
        "https://example.com/a?id=4"
    )


def test_titles_and_shingles() -> None:
    assert normalize_title("Nvidia Unveils a NEW GPU!") == normalize_title(
        "nvidia unveils a new gpu"
    )
    a = shingles("OpenAI releases a new reasoning model for developers")
    b = shingles("OpenAI releases a new reasoning model for enterprises")
    assert 0.5 < jaccard(a, b) < 1
    assert shingles("英伟达发布新款数据中心芯片")  # Chinese: one token per character


def test_find_duplicates_links_to_the_first_article() -> None:
    items = [
        _item(1, "https://a.example/x", "Nvidia unveils a new GPU for AI data centers", "Chips."),
        _item(2, "https://b.example/y", "Nvidia unveils a new GPU for AI data centers!", "Other."),
        _item(3, "https://c.example/z?utm_source=feed", "Completely different story", "Text."),
        _item(4, "https://c.example/z", "A rewritten headline", "Same link as the third."),
        _item(5, "https://d.example/", "Home page link", "A feed linking its home page."),
        _item(6, "https://d.example/", "Another home page link", "Not the same story."),
    ]
    assert find_duplicates(items) == {1: None, 2: 1, 3: None, 4: 3, 5: None, 6: None}


def test_across_languages_only_embeddings_can_tell() -> None:
    items = [
        _item(1, "https://a.example/x", "Nvidia unveils a new GPU", "Chips."),
        _item(2, "https://b.example/y", "英伟达发布新款GPU", "芯片。", lang="zh"),
        _item(3, "https://c.example/z", "欧盟对人工智能合作展开调查", "监管。", lang="zh"),
    ]
    assert find_duplicates(items) == {1: None, 2: None, 3: None}
    vectors = {1: [1.0, 0.1, 0.0], 2: [0.98, 0.12, 0.01], 3: [0.0, 0.2, 1.0]}
    assert find_duplicates(items, vectors, 0.9) == {1: None, 2: 1, 3: None}


def test_two_feeds_with_the_same_story_make_one_item_also_covered_by(
    engine: Engine, settings: Settings
) -> None:
    import_text(engine, english_feed())
    import_text(
        engine,
        english_feed(source="Chip Daily", host="chips.example.org"),
    )
    assert link_duplicates(engine=engine, settings=settings, now=NOW) == 2
    with Session(engine) as session:
        rows = session.exec(select(Article.id, Article.source, Article.duplicate_of)).all()
        firsts = [i for i, source, dup in rows if dup is None]
        assert len(firsts) == 2
        assert {source for _, source, dup in rows if dup is not None} == {"Chip Daily"}
        views = article_views(session=session, ids=[i for i in firsts if i is not None])
    assert [v.also_covered_by for v in views] == [("Chip Daily",), ("Chip Daily",)]
    # Idempotent: a second pass changes nothing.
    assert link_duplicates(engine=engine, settings=settings, now=NOW) == 0


def test_a_story_that_stops_matching_stands_alone_again(engine: Engine, settings: Settings) -> None:
    same = {"en": "Same headline for both stories", "zh": "两个故事的同一个标题"}
    when = NOW - timedelta(hours=1)
    with Session(engine) as session:
        make_article(session, published_at=when, title=same)
        second = make_article(session, published_at=when, title=same)
    assert link_duplicates(engine=engine, settings=settings, now=NOW) == 1
    with Session(engine) as session:
        make_article(
            session,
            external_id=second.external_id,
            url=second.url,
            published_at=when,
            title={"en": "A different headline after all", "zh": "终究是另一个标题"},
            summary={"en": "Something else entirely.", "zh": "完全是另一回事。"},
        )
    assert link_duplicates(engine=engine, settings=settings, now=NOW) == 1
    with Session(engine) as session:
        assert session.get(Article, second.id).duplicate_of is None  # type: ignore[union-attr]


async def test_embeddings_from_the_server_link_a_chinese_and_an_english_story(
    engine: Engine, settings: Settings, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    import_text(engine, english_feed())
    zh = english_feed(
        source="中文科技", host="zh.example.cn", title="英伟达为人工智能数据中心发布新款GPU"
    )
    zh = zh.replace(
        "The chip maker announced its next data-center GPU and software.",
        "这家芯片制造商发布了下一代数据中心GPU和软件。",
    )
    zh = zh.replace("EU regulators open an antitrust probe into AI partnerships", "欧盟调查")
    zh = zh.replace("Brussels wants to know whether cloud deals lock in start-ups.", "监管机构。")
    import_text(engine, zh)
    fake_llm.vectors = {
        "Nvidia unveils": [1.0, 0.0, 0.1],
        "英伟达": [0.99, 0.02, 0.1],
    }
    config = llm_settings(
        settings, llm_server, fake_llm, DIGESTBOT_LLM_EMBEDDING_MODEL=fake_llm.embedding_model
    )
    newsroom = Newsroom(engine=engine, settings=config, clock=lambda: NOW)
    report = await newsroom.run_pass()
    await newsroom.close()
    assert report.embedded == 4 and len(fake_llm.embedding_requests) == 4
    with Session(engine) as session:
        rows = session.exec(select(Article.source, Article.url, Article.duplicate_of)).all()
    dups = [(source, url) for source, url, dup in rows if dup is not None]
    assert dups == [("中文科技", "https://zh.example.cn/2026/06/gpu")]
    # The duplicate is never sent to the model: three stories, three requests.
    assert len(fake_llm.chat_requests) == 3
