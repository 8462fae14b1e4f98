"""full-text search over article texts

SQLite: an FTS5 table ``article_fts`` with one row per article (rowid = article.id) holding
every language's title, summary and analysis, tokenized into trigrams so Chinese (no spaces
between words) is searchable by substring. Triggers on ``article_text`` keep it in sync.
It stores its own copy of the text: an external-content table would have to key on
article_text's implicit rowid, which VACUUM may renumber, and a contentless one cannot
delete rows without the exact old values.

PostgreSQL: a GIN index on a weighted ``to_tsvector('simple', ...)`` expression of each
article_text row (title A, summary B, analysis C). Since 0012 the same expression is a stored
column, ``search_vector``, and the index is over that column.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_VECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, title), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, summary), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, analysis), 'C'))"
)


def _refresh(article_id: str) -> str:
    # Rebuild one article's row from all its languages; no row is inserted when none is left.
    # The trailing space puts a text's last two characters into a trigram too, so a 2-character
    # query can be answered from the index (storage.search expands it via article_fts_vocab).
    return f"""
        DELETE FROM article_fts WHERE rowid = {article_id};
        INSERT INTO article_fts(rowid, title, summary, analysis)
            SELECT article_id, group_concat(title, ' ') || ' ', group_concat(summary, ' ') || ' ',
                   group_concat(analysis, ' ') || ' '
            FROM (SELECT * FROM article_text WHERE article_id = {article_id} ORDER BY lang)
            GROUP BY article_id;
    """


SQLITE_TRIGGERS = {
    "article_text_fts_insert": f"AFTER INSERT ON article_text BEGIN {_refresh('new.article_id')} END",
    "article_text_fts_delete": f"AFTER DELETE ON article_text BEGIN {_refresh('old.article_id')} END",
    "article_text_fts_update": (
        "AFTER UPDATE ON article_text BEGIN "
        f"{_refresh('old.article_id')} {_refresh('new.article_id')} END"
    ),
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE article_fts USING fts5("
            "title, summary, analysis, tokenize = 'trigram')"
        )
        # The index's term list, to expand 2-character queries into the trigrams they start.
        op.execute("CREATE VIRTUAL TABLE article_fts_vocab USING fts5vocab(article_fts, 'row')")
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        op.execute(
            "INSERT INTO article_fts(rowid, title, summary, analysis) "
            "SELECT article_id, group_concat(title, ' ') || ' ', "
            "group_concat(summary, ' ') || ' ', group_concat(analysis, ' ') || ' ' "
            "FROM (SELECT * FROM article_text ORDER BY article_id, lang) GROUP BY article_id"
        )
    elif bind.dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_article_text_fts ON article_text USING gin ({PG_VECTOR})")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS article_fts_vocab")
        op.execute("DROP TABLE IF EXISTS article_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_article_text_fts")
