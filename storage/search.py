"""Full-text search over article titles, summaries and analyses in every language.

The query is user input: it is split on whitespace into terms, every term must occur (AND),
and terms are always passed as quoted phrases or escaped LIKE patterns, so no character or
word (quotes, ``*``, ``-``, ``AND``, parentheses, ...) has a syntax meaning and nothing raises.

Order: articles whose title contains every term first, then text relevance, then the ranking
score (``storage.ranking``), then newer, then higher id. Only the newest ``SEARCH_CANDIDATES``
matching articles are ranked, so a very common term costs no more than a rare one; a news
bot's users want recent articles, and paging deeper than that returns nothing more.

SQLite (migration 0002): FTS5 table ``article_fts`` with the ``trigram`` tokenizer, one row per
article (rowid = article id). Trigrams find any substring of 3+ characters, which is what
Chinese needs (no spaces between words). A 2-character term (most Chinese words, "AI") is
expanded through the ``article_fts_vocab`` term list into the indexed trigrams it starts and
OR-ed; a 1-character term is matched with LIKE on the stored text (a scan that stops after
SEARCH_CANDIDATES hits, or a full scan when the character is rare).

PostgreSQL: the weighted ``to_tsvector('simple', ...)`` of each article_text row (title A,
summary B, analysis C) is stored in ``article_text.search_vector`` (migration 0012, a generated
column) with a GIN index, queried with ``plainto_tsquery`` (which accepts any text); ranking
and the title test read the stored vector (``ts_rank``; its weight-A lexemes, ``ts_filter``,
are the title's words), so no match's text is parsed again. The 'simple' parser splits on
spaces and punctuation only, so Chinese runs become one long "word" and a Chinese substring
would not match. Queries containing CJK characters use the ``article_text.cjk_grams`` column
instead (migration 0007: every single CJK character and CJK pair of the row, GIN-indexed): a
1- or 2-character term is one key, found exactly; a longer term is the AND of its pairs,
rechecked with ILIKE. With GIN statistics the planner chooses between the index (rare terms)
and walking article ids newest first until ``SEARCH_CANDIDATES`` matches (common terms). Only
CJK terms made of characters outside those classes (e.g. fullwidth Latin letters, when no
other term has a key) fall back to ILIKE over every text (a sequential scan). No extension is
needed (``pg_trgm`` would not serve 1- and 2-character terms). A term made only of such
caseless characters is looked for with ``strpos`` (what ILIKE finds, without lower-casing each
text). The score only orders candidates of equal (title, relevance), so only the candidates
tied with or ahead of the page's last one are joined to ``article`` (a few hundred primary-key
probes for a common term instead of SEARCH_CANDIDATES).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import Float, Integer, Table, column, or_, select, text, true, tuple_
from sqlalchemy.sql import FromClause
from sqlmodel import Session

from storage.models import Article
from storage.ranking import RankWeights, score_expression

MAX_QUERY_CHARS = 256  # longer input is cut: no real query needs more, and it bounds the work
MAX_TERMS = 12
# Relevance is ranked among the newest SEARCH_CANDIDATES matches (see _sqlite_sql).
SEARCH_CANDIDATES = 5000
MAX_EXPANSION = 256  # trigrams a 2-character term may expand to before LIKE takes over
TRIGRAM = 3

_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]")
# Characters with no case that cjk_grams() indexes; must match migration 0007's CJK_RUN.
_GRAM_RUN = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]+")


def query_terms(query: str) -> list[str]:
    """Distinct, lower-cased terms of a user query (control characters dropped)."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch
        for ch in query[:MAX_QUERY_CHARS]
    )
    terms: dict[str, None] = {}
    for term in cleaned.split():
        terms.setdefault(term.lower(), None)
    return list(terms)[:MAX_TERMS]


def _fts_phrase(term: str) -> str:
    # Inside double quotes FTS5 treats everything as text; a quote is escaped by doubling it.
    return '"' + term.replace('"', '""') + '"'


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_ARTICLE: Table = Article.__table__  # type: ignore[attr-defined]


def search_article_ids(
    *,
    session: Session,
    query: str,
    limit: int,
    offset: int = 0,
    weights: RankWeights | None = None,
) -> list[int]:
    """Article ids matching every term of ``query``, best first (see module docstring)."""
    terms = query_terms(query)
    if not terms or limit <= 0:
        return []
    params: dict[str, Any] = {}
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        matches = _sqlite_matches(session, terms, params)
        if matches is None:
            return []
    elif dialect == "postgresql":
        matches = _postgres_matches(terms, params)
    else:  # pragma: no cover - only the two supported backends
        raise NotImplementedError(f"search is not implemented for {dialect}")
    m = (
        text(matches)
        .bindparams(**params)
        .columns(column("id", Integer), column("in_title"), column("relevance", Float))
        .cte("m")
    )
    if dialect == "sqlite":
        articles: FromClause = _ARTICLE
        source = m.join(_ARTICLE, _ARTICLE.c.id == m.c.id)
        relevance = m.c.relevance.asc()  # bm25: lower is better
    else:
        # LATERAL + OFFSET 0 keeps a nested loop of primary-key probes: with a plain join the
        # planner misjudges the candidate count and hashes a sequential scan of article.
        a = _ARTICLE.c
        articles = (
            select(a.id, a.hot, a.quality, a.impact, a.published_at)
            .where(a.id == m.c.id)
            .offset(0)
            .lateral("a")
        )
        source = m.join(articles, true())
        relevance = m.c.relevance.desc()
    statement = select(articles.c.id).select_from(source)
    if dialect == "postgresql":
        # Scores only break ties of (in_title, relevance): only the candidates tied with or
        # ahead of the page's last row need their article row. The primary-key probes then
        # cost a few hundred rows for a common term instead of all SEARCH_CANDIDATES.
        ahead = (m.c.in_title.desc(), relevance)
        last = (
            select(m.c.in_title, m.c.relevance)
            .order_by(*ahead)
            .offset(max(offset, 0) + limit - 1)
            .limit(1)
        )
        statement = statement.where(
            or_(
                ~last.exists(),
                tuple_(m.c.in_title, m.c.relevance) >= last.scalar_subquery(),
            )
        )
    statement = (
        statement.order_by(
            m.c.in_title.desc(),
            relevance,
            # The ranking score, defined once in storage.ranking; then newer, then higher id.
            score_expression(weights or RankWeights(), articles).desc(),
            articles.c.published_at.desc(),
            articles.c.id.desc(),
        )
        .limit(limit)
        .offset(max(offset, 0))
    )
    return [int(row[0]) for row in session.execute(statement).all()]


def _trigram_expansion(session: Session, term: str) -> list[str] | None:
    """Indexed trigrams starting with a 2-character term; None when too many to OR together."""
    rows = (
        session.connection()
        .execute(
            text(
                "SELECT term FROM article_fts_vocab WHERE term >= :low AND term < :high LIMIT :cap"
            ),
            {"low": term, "high": term + "\U0010ffff", "cap": MAX_EXPANSION + 1},
        )
        .all()
    )
    terms = [str(row[0]) for row in rows]
    return None if len(terms) > MAX_EXPANSION else terms


def _sqlite_matches(session: Session, terms: list[str], params: dict[str, Any]) -> str | None:
    """The candidate matches: columns ``id``, ``in_title``, ``relevance`` (lower is better)."""
    where: list[str] = []
    groups: list[str] = []
    title_all: list[str] = []
    for i, term in enumerate(terms):
        params[f"p{i}"] = _like_pattern(term)
        title_all.append(f"title LIKE :p{i} ESCAPE '\\'")
        if len(term) >= TRIGRAM:
            groups.append(_fts_phrase(term))
            continue
        # Every occurrence of a 2-character term begins some indexed trigram (texts end in a
        # space), so OR-ing those trigrams finds exactly the rows containing it.
        expansion = _trigram_expansion(session, term) if len(term) == TRIGRAM - 1 else None
        if expansion == []:
            return None  # the index has no trigram starting with it: nothing can match
        if expansion is not None:
            groups.append("(" + " OR ".join(_fts_phrase(t) for t in expansion) + ")")
        else:
            # 1 character, or too common a pair: filter the candidates' text with LIKE.
            where.append(
                f"(title LIKE :p{i} ESCAPE '\\' OR summary LIKE :p{i} ESCAPE '\\' "
                f"OR analysis LIKE :p{i} ESCAPE '\\')"
            )
    if groups:
        params["match"] = " AND ".join(groups)
        where.insert(0, "article_fts MATCH :match")
        # bm25 is lower-is-better; a title hit weighs 10x an analysis hit.
        relevance = "bm25(article_fts, 10.0, 3.0, 1.0)"
    else:
        # Nothing indexable (1-character terms): rank by where the terms occur.
        relevance = (
            "-("
            + " + ".join(
                f"(CASE WHEN summary LIKE :p{i} ESCAPE '\\' THEN 2 "
                f"WHEN analysis LIKE :p{i} ESCAPE '\\' THEN 1 ELSE 0 END)"
                for i in range(len(terms))
            )
            + ")"
        )
    params["candidates"] = SEARCH_CANDIDATES
    # The CTE walks matches newest first (rowid = article id, which grows with time) and stops
    # after SEARCH_CANDIDATES, so a term found in half the corpus costs no more than a rare one;
    # bm25 and the LIKEs are only evaluated for those rows.
    return (
        f"SELECT rowid AS id, ({' AND '.join(title_all)}) AS in_title, "
        f"{relevance} AS relevance FROM article_fts WHERE {' AND '.join(where)} "
        "ORDER BY rowid DESC LIMIT :candidates"
    )


def term_grams(term: str) -> tuple[list[str], bool]:
    """The ``cjk_grams`` keys a term's rows must all have, and whether having them is exactly
    containing the term (a 1- or 2-character CJK term) or an ILIKE recheck is needed."""
    runs = _GRAM_RUN.findall(term)
    pairs = {run[i : i + 2] for run in runs for i in range(len(run) - 1)}
    grams = sorted(pairs) if pairs else sorted({ch for run in runs for ch in run})
    return grams, len(runs) == 1 and runs[0] == term and len(term) <= 2


def _postgres_matches(terms: list[str], params: dict[str, Any]) -> str:
    """The candidate matches: columns ``id``, ``in_title``, ``relevance`` (higher is better)."""
    if any(_CJK.search(term) for term in terms):
        title_all: list[str] = []
        body_all: list[str] = []
        summary_hits: list[str] = []
        for i, term in enumerate(terms):
            grams, exact = term_grams(term)
            if _GRAM_RUN.fullmatch(term):
                # No character with a case: strpos finds what ILIKE would, without lower-casing
                # every text it reads.
                params[f"s{i}"] = term
                contains = f"strpos(t.{{}}, :s{i}) > 0"
            else:
                params[f"p{i}"] = _like_pattern(term)
                contains = f"t.{{}} ILIKE :p{i}"
            title_all.append(contains.format("title"))
            summary_hits.append(f"({contains.format('summary')})::int")
            if grams:
                params[f"g{i}"] = grams
                body_all.append(f"t.cjk_grams @> CAST(:g{i} AS TEXT[])")
            if not exact:
                body_all.append(
                    "("
                    + " OR ".join(contains.format(c) for c in ("title", "summary", "analysis"))
                    + ")"
                )
        matches = (
            f"SELECT t.article_id AS id, bool_or({' AND '.join(title_all)}) AS in_title, "
            f"max({' + '.join(summary_hits)})::float AS relevance "
            f"FROM article_text AS t WHERE {' AND '.join(body_all)} GROUP BY t.article_id"
        )
    else:
        params["query"] = " ".join(terms)
        # The stored vector (migration 0012), never the expression: re-parsing every match's
        # texts was most of a common word's cost. Its weight-A lexemes are the title's own.
        matches = (
            "SELECT t.article_id AS id, "
            "bool_or(ts_filter(t.search_vector, '{a}') @@ q.query) AS in_title, "
            "max(ts_rank(t.search_vector, q.query)) AS relevance "
            "FROM article_text AS t, plainto_tsquery('simple'::regconfig, :query) AS q(query) "
            "WHERE t.search_vector @@ q.query GROUP BY t.article_id"
        )
    params["candidates"] = SEARCH_CANDIDATES
    return matches + " ORDER BY t.article_id DESC LIMIT :candidates"
