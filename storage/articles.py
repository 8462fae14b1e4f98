"""Articles: the idempotent upsert used by every importer, and batch read views."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, event, func, insert
from sqlmodel import Session, col, select

from storage.generated import generated_fields
from storage.models import Article, ArticleTag, ArticleText, GeneratedField, Tag
from storage.schemas import ArticleView, TagInfo
from storage.stories import also_covered_by
from storage.types import utcnow

UpsertResult = Literal["imported", "updated", "unchanged"]

# Keeps IN (...) lists well under every backend's bound-parameter limit.
_IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class TagData:
    slug: str
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ArticleData:
    """One validated article as the importers hand it to storage (times aware)."""

    external_id: str
    url: str
    published_at: datetime
    title: Mapping[str, str]
    summary: Mapping[str, str]
    analysis: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    hot: int = 0
    quality: int = 0
    impact: int = 0
    scores_estimated: bool = False
    updated_at: datetime | None = None
    views: int = 0
    ai_generated: bool = False
    tags: tuple[TagData, ...] = ()
    # Feed entries without a date get the fetch time; a re-fetch must not move them.
    published_at_estimated: bool = False

    @property
    def languages(self) -> list[str]:
        seen = dict.fromkeys([*self.title, *self.summary, *self.analysis])
        return list(seen)


def _texts_of(data: ArticleData) -> dict[str, tuple[str, str, str]]:
    return {
        lang: (data.title.get(lang, ""), data.summary.get(lang, ""), data.analysis.get(lang, ""))
        for lang in data.languages
    }


_TAG_CACHE = "digestbot.tag_cache"


def _tag_cache(session: Session) -> dict[str, Tag]:
    """Tags already looked up in this session: a batch import mentions the same few tags over
    and over. Dropped on rollback, which discards tags the transaction created."""
    cache = session.info.get(_TAG_CACHE)
    if cache is None:
        cache = session.info[_TAG_CACHE] = {}
        event.listen(session, "after_soft_rollback", _drop_tag_cache)
    assert isinstance(cache, dict)
    return cache


def _drop_tag_cache(session: Session, _previous: object) -> None:
    session.info.pop(_TAG_CACHE, None)


def merge_tag(*, session: Session, slug: str, names: Mapping[str, str]) -> tuple[Tag, bool]:
    """Create the tag or merge ``names`` into its existing names (new text wins per language).

    The tag, and whether an existing tag's names changed.
    """
    given = {lang: text for lang, text in names.items() if text}
    cache = _tag_cache(session)
    tag = cache.get(slug) or session.exec(select(Tag).where(Tag.slug == slug)).first()
    if tag is None:
        tag = Tag(slug=slug, names=given)
        session.add(tag)
        session.flush()
        cache[slug] = tag
        return tag, False
    cache[slug] = tag
    merged = {**tag.names, **given}
    if merged == tag.names:
        return tag, False
    tag.names = merged  # a new dict, so the JSON column is seen as changed
    session.add(tag)
    session.flush()
    return tag, True


def upsert_article(*, session: Session, data: ArticleData) -> UpsertResult:
    """Insert or update the article with ``data.external_id``; the caller commits.

    Re-importing identical data changes nothing (not even ``modified_at``). Estimated scores
    drift with the clock, so they alone never make an article count as changed.
    """
    tag_names_changed = False
    tag_ids: list[int] = []
    for tag_data in data.tags:
        tag, renamed = merge_tag(session=session, slug=tag_data.slug, names=tag_data.names)
        tag_names_changed |= renamed
        assert tag.id is not None
        if tag.id not in tag_ids:
            tag_ids.append(tag.id)

    article = session.exec(select(Article).where(Article.external_id == data.external_id)).first()
    if article is None:
        article = Article(
            external_id=data.external_id, url=data.url, published_at=data.published_at
        )
        _apply_fields(article, data, with_scores=True)
        session.add(article)
        session.flush()
        assert article.id is not None
        # Core executemany: building ORM objects for these rows is most of an import's time.
        session.execute(
            insert(ArticleText),
            [
                {"article_id": article.id, "lang": lang, "title": t, "summary": s, "analysis": a}
                for lang, (t, s, a) in _texts_of(data).items()
            ],
        )
        if tag_ids:
            session.execute(
                insert(ArticleTag), [{"article_id": article.id, "tag_id": i} for i in tag_ids]
            )
        return "imported"

    assert article.id is not None
    article_id = article.id
    ignore_scores = data.scores_estimated and article.scores_estimated
    fields_changed = _fields_differ(article, data, with_scores=not ignore_scores)
    existing_texts = {
        row.lang: (row.title, row.summary, row.analysis)
        for row in session.exec(select(ArticleText).where(ArticleText.article_id == article_id))
    }
    new_texts = _texts_of(data)
    tag_rows = session.exec(
        select(ArticleTag.tag_id, ArticleTag.generated).where(ArticleTag.article_id == article_id)
    ).all()
    # Tags the newsroom chose stand in for a publisher who sent none; they are not the
    # source's, so they never count as a change, and the publisher's own tags replace them.
    existing_tags = {tag_id for tag_id, generated in tag_rows if not generated}
    generated_tags = {tag_id for tag_id, generated in tag_rows if generated}
    texts_changed = existing_texts != new_texts
    tags_changed = existing_tags != set(tag_ids)
    if not (fields_changed or texts_changed or tags_changed):
        return "updated" if tag_names_changed else "unchanged"

    # Scores the newsroom gave beat the heuristic's; the publisher's own beat both.
    keep_generated = data.scores_estimated and article.scores_generated
    _apply_fields(article, data, with_scores=not keep_generated)
    if not data.scores_estimated:
        article.scores_generated = False
    article.modified_at = utcnow()
    session.add(article)
    if texts_changed:
        gone = [lang for lang in existing_texts if lang not in new_texts]
        if gone:
            session.execute(
                delete(ArticleText).where(
                    col(ArticleText.article_id) == article_id, col(ArticleText.lang).in_(gone)
                )
            )
        for lang, (t, s, a) in new_texts.items():
            if existing_texts.get(lang) == (t, s, a):
                continue
            row = session.get(ArticleText, (article_id, lang))
            if row is None:
                row = ArticleText(article_id=article_id, lang=lang, title=t, summary=s, analysis=a)
            else:
                row.title, row.summary, row.analysis = t, s, a
            session.add(row)
    if tags_changed:
        if tag_ids and generated_tags:
            session.execute(
                delete(ArticleTag).where(
                    col(ArticleTag.article_id) == article_id,
                    col(ArticleTag.tag_id).in_(generated_tags),
                )
            )
        removed = existing_tags - set(tag_ids)
        if removed:
            session.execute(
                delete(ArticleTag).where(
                    col(ArticleTag.article_id) == article_id, col(ArticleTag.tag_id).in_(removed)
                )
            )
        session.add_all(
            ArticleTag(article_id=article_id, tag_id=tag_id)
            for tag_id in tag_ids
            if tag_id not in existing_tags
        )
    session.flush()
    return "updated"


def _field_values(data: ArticleData, *, with_scores: bool) -> dict[str, object]:
    values: dict[str, object] = {
        "url": data.url,
        "source": data.source,
        "published_at": data.published_at,
        "updated_at": data.updated_at,
        "views": data.views,
        "ai_generated": data.ai_generated,
    }
    if with_scores:
        values |= {
            "hot": data.hot,
            "quality": data.quality,
            "impact": data.impact,
            "scores_estimated": data.scores_estimated,
        }
    return values


def _fields_differ(article: Article, data: ArticleData, *, with_scores: bool) -> bool:
    values = _field_values(data, with_scores=with_scores)
    if data.published_at_estimated:
        del values["published_at"]
    return any(getattr(article, name) != value for name, value in values.items())


def _apply_fields(article: Article, data: ArticleData, *, with_scores: bool) -> None:
    values = _field_values(data, with_scores=with_scores)
    if data.published_at_estimated and article.id is not None:
        del values["published_at"]
    for name, value in values.items():
        setattr(article, name, value)


def article_id_for_external(*, session: Session, external_id: str) -> int | None:
    return session.exec(select(Article.id).where(Article.external_id == external_id)).first()


def count_articles(*, session: Session) -> int:
    return session.exec(select(func.count()).select_from(Article)).one()


def count_articles_by_external_id(*, session: Session, external_ids: Sequence[str]) -> int:
    """How many of ``external_ids`` are stored (up to a few hundred ids)."""
    if not external_ids:
        return 0
    query = select(func.count()).select_from(Article)
    return session.exec(query.where(col(Article.external_id).in_(external_ids))).one()


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def article_views(*, session: Session, ids: Sequence[int]) -> list[ArticleView]:
    """Views for ``ids`` in the same order (unknown ids are left out).

    Three queries per 500 ids, however many articles: lists and digests call this.
    """
    unique = list(dict.fromkeys(ids))
    articles: dict[int, Article] = {}
    texts: dict[int, list[ArticleText]] = defaultdict(list)
    tags: dict[int, list[TagInfo]] = defaultdict(list)
    for chunk in _chunks(unique):
        for article in session.exec(select(Article).where(col(Article.id).in_(chunk))):
            assert article.id is not None
            articles[article.id] = article
        text_rows = session.exec(
            select(ArticleText)
            .where(col(ArticleText.article_id).in_(chunk))
            .order_by(col(ArticleText.article_id), col(ArticleText.lang))
        )
        for text in text_rows:
            texts[text.article_id].append(text)
        tag_rows = session.exec(
            select(ArticleTag.article_id, Tag)
            .join(Tag, col(Tag.id) == col(ArticleTag.tag_id))
            .where(col(ArticleTag.article_id).in_(chunk))
            .order_by(col(ArticleTag.article_id), col(Tag.slug))
        )
        for article_id, tag in tag_rows:
            assert tag.id is not None
            tags[article_id].append(TagInfo(id=tag.id, slug=tag.slug, names=dict(tag.names)))
    known = list(articles)
    generated = generated_fields(session=session, ids=known)
    covered = also_covered_by(session=session, ids=known)
    return [
        _view(articles[i], texts[i], tags[i], generated.get(i, ()), covered.get(i, ()))
        for i in ids
        if i in articles
    ]


def _view(
    article: Article,
    texts: Iterable[ArticleText],
    tags: Iterable[TagInfo],
    generated: Iterable[GeneratedField] = (),
    covered: tuple[str, ...] = (),
) -> ArticleView:
    assert article.id is not None
    rows = list(texts)
    fields: dict[str, dict[str, str]] = {
        "title": {row.lang: row.title for row in rows if row.title},
        "summary": {row.lang: row.summary for row in rows if row.summary},
        "analysis": {row.lang: row.analysis for row in rows if row.analysis},
    }
    origins: dict[str, str] = {}
    rationales: dict[str, dict[str, str]] = defaultdict(dict)
    for row in generated:
        if row.field.startswith("rationale."):
            rationales[row.field.removeprefix("rationale.")][row.lang] = row.text
            continue
        texts_of = fields.get(row.field)
        # The source's own text always wins; generated text only fills a gap.
        if texts_of is None or texts_of.get(row.lang) or not row.text:
            continue
        texts_of[row.lang] = row.text
        origins[f"{row.lang}.{row.field}"] = row.origin
    return ArticleView(
        id=article.id,
        external_id=article.external_id,
        url=article.url,
        source=article.source,
        title=fields["title"],
        summary=fields["summary"],
        analysis=fields["analysis"],
        origins=origins,
        # Only scores the newsroom gave come with its reasons; a publisher's scores stand alone.
        rationales=dict(rationales) if article.scores_generated else {},
        also_covered_by=covered,
        hot=article.hot,
        quality=article.quality,
        impact=article.impact,
        published_at=article.published_at,
        updated_at=article.updated_at,
        views=article.views,
        ai_generated=article.ai_generated,
        tags=tuple(tags),
    )


def get_article_view(*, session: Session, article_id: int) -> ArticleView | None:
    views = article_views(session=session, ids=[article_id])
    return views[0] if views else None
