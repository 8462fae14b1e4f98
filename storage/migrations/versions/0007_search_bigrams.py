"""CJK unigram/bigram index for PostgreSQL search; due-group index for set-based planning

PostgreSQL: ``cjk_grams(text)`` returns the distinct single CJK characters and CJK character
pairs of a text (runs of ideographs/kana/hangul; no case, so no lower() is needed and the
result does not depend on the database's locale). ``article_text.cjk_grams`` is a stored
generated column over title, summary and analysis, so it is maintained with the text by
PostgreSQL itself, with a GIN index. A 1- or 2-character Chinese term is then one index key
(exact); a longer term is the AND of its pairs, rechecked with ILIKE (``storage.search``).
The ``'simple'`` tsvector cannot do this: it keeps a Chinese run as one "word".

Both backends: ``ix_chat_due`` gains (timezone, digest_time), so the planner's
``INSERT ... SELECT`` for one (zone, time, due) group reads only that group's index range.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must match storage.search._GRAM_RUN (Python side of the same character classes).
CJK_RUN = r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]+"

CJK_GRAMS = f"""
CREATE FUNCTION cjk_grams(doc text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(m.run[1], i, n.n)), '{{}}'::text[])
    FROM regexp_matches(doc, '{CJK_RUN}', 'g') AS m(run)
    CROSS JOIN (VALUES (1), (2)) AS n(n)
    CROSS JOIN LATERAL generate_series(1, char_length(m.run[1]) - n.n + 1) AS i
$$
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(CJK_GRAMS)
        op.execute(
            "ALTER TABLE article_text ADD COLUMN cjk_grams text[] GENERATED ALWAYS AS "
            "(cjk_grams(title || ' ' || summary || ' ' || analysis)) STORED"
        )
        op.execute("CREATE INDEX ix_article_text_grams ON article_text USING gin (cjk_grams)")
    with op.batch_alter_table("chat") as batch_op:
        batch_op.drop_index("ix_chat_due")
        batch_op.create_index(
            "ix_chat_due", ["subscribed", "active", "next_digest_at", "timezone", "digest_time"]
        )


def downgrade() -> None:
    with op.batch_alter_table("chat") as batch_op:
        batch_op.drop_index("ix_chat_due")
        batch_op.create_index("ix_chat_due", ["subscribed", "active", "next_digest_at"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_article_text_grams")
        op.execute("ALTER TABLE article_text DROP COLUMN IF EXISTS cjk_grams")
        op.execute("DROP FUNCTION IF EXISTS cjk_grams(text)")
