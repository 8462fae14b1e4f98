"""Every table of the bot, in one place.

Times are aware UTC (``UTCDateTime``). Telegram chat ids do not fit 32 bits, hence BigInteger.
"""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class Article(SQLModel, table=True):
    __tablename__ = "article"
    __table_args__ = (
        # Ranking scans a time window and orders by a weighted score: the covering index lets
        # it read scores straight from the index instead of the table.
        Index("ix_article_rank", "published_at", "hot", "quality", "impact", "id"),
        # The same for live articles only: ranking skips duplicates (``duplicate_of IS NULL``),
        # and a partial index keeps that filter inside an index-only scan (migration 0010).
        # ``duplicate_of`` (always NULL here) is a column too: SQLite counts an index as
        # covering only if it holds every column the query names, its WHERE's included.
        Index(
            "ix_article_rank_live",
            "published_at",
            "hot",
            "quality",
            "impact",
            "id",
            "duplicate_of",
            sqlite_where=text("duplicate_of IS NULL"),
            postgresql_where=text("duplicate_of IS NULL"),
        ),
        # Duplicates only ("also covered by" looks them up by ``duplicate_of IN (...)``): an
        # index holding the NULLs too made SQLite read the whole table for the ranking's
        # ``duplicate_of IS NULL`` once ANALYZE counted NULLs as distinct values (migration 0010).
        Index(
            "ix_article_duplicate_of",
            "duplicate_of",
            sqlite_where=text("duplicate_of IS NOT NULL"),
            postgresql_where=text("duplicate_of IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    url: str = Field(sa_column=Column(String(2048), nullable=False))
    source: str | None = Field(default=None, sa_column=Column(String(200)))
    hot: int = 0
    quality: int = 0
    impact: int = 0
    scores_estimated: bool = False
    published_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    views: int = 0
    ai_generated: bool = False
    # Scores written by the newsroom (still not the publisher's): a re-import that carries no
    # scores keeps them instead of the heuristic's.
    scores_generated: bool = False
    # Another article telling the same story (the first one imported): lists show only that one,
    # "also covered by" this article's source. No foreign key (see migration 0004).
    duplicate_of: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    modified_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class ArticleText(SQLModel, table=True):
    """One language of an article: title, summary and the long analysis."""

    __tablename__ = "article_text"

    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    lang: str = Field(sa_column=Column(String(16), primary_key=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    analysis: str = Field(default="", sa_column=Column(Text, nullable=False))


class Tag(SQLModel, table=True):
    __tablename__ = "tag"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    names: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ArticleTag(SQLModel, table=True):
    __tablename__ = "article_tag"
    __table_args__ = (
        Index("ix_article_tag_tag", "tag_id", "article_id"),
        # A tag's ranking window as one covering range of its live rows (migration 0011).
        Index(
            "ix_article_tag_rank_live",
            "tag_id",
            "live_published_at",
            "hot",
            "quality",
            "impact",
            "article_id",
            sqlite_where=text("live_published_at IS NOT NULL"),
            postgresql_where=text("live_published_at IS NOT NULL"),
        ),
    )

    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    tag_id: int = Field(
        sa_column=Column(Integer, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    )
    # Chosen by the newsroom for an article its publisher sent without tags.
    generated: bool = False
    # Copies of the article's ranking inputs, written only by database triggers (migration
    # 0011) so they never go stale; FetchedValue: the ORM never writes them and reloads them.
    hot: int | None = Field(
        default=None,
        sa_column=Column(Integer, server_default=FetchedValue(), server_onupdate=FetchedValue()),
    )
    quality: int | None = Field(
        default=None,
        sa_column=Column(Integer, server_default=FetchedValue(), server_onupdate=FetchedValue()),
    )
    impact: int | None = Field(
        default=None,
        sa_column=Column(Integer, server_default=FetchedValue(), server_onupdate=FetchedValue()),
    )
    # The article's published_at while it is live (not a duplicate), NULL otherwise.
    live_published_at: datetime | None = Field(
        default=None,
        sa_column=Column(
            UTCDateTime(), server_default=FetchedValue(), server_onupdate=FetchedValue()
        ),
    )


class Chat(SQLModel, table=True):
    """A private chat, group or channel that talks to the bot, with its digest settings."""

    __tablename__ = "chat"
    # The planner reads one (zone, time, due) group at a time: one range of ix_chat_due.
    __table_args__ = (
        Index("ix_chat_due", "subscribed", "active", "next_digest_at", "timezone", "digest_time"),
        # Only channels have an adder: no entry for the rest (migration 0009).
        Index(
            "ix_chat_added_by",
            "added_by",
            sqlite_where=text("added_by IS NOT NULL"),
            postgresql_where=text("added_by IS NOT NULL"),
        ),
    )

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    type: str = Field(sa_column=Column(String(16), nullable=False))
    title: str | None = Field(default=None, sa_column=Column(String(256)))
    # Set on first contact from the writer's Telegram language, changed by /language; None
    # (default language) only for chats made outside Telegram, e.g. by tools.
    language: str | None = Field(default=None, sa_column=Column(String(16)))
    timezone: str = Field(default="UTC", sa_column=Column(String(64), nullable=False))
    digest_time: str = Field(default="08:00", sa_column=Column(String(5), nullable=False))
    article_count: int = 5
    subscribed: bool = False
    active: bool = True
    # Forum supergroups: the topic /subscribe was sent in (None: General or not a forum).
    message_thread_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    # Channels: the user who made the bot an administrator; told privately about setup and loss.
    added_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    # When the next digest is due (UTC), so the planner finds due chats with one index scan.
    next_digest_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class ChatTag(SQLModel, table=True):
    """A tag a chat follows; a chat that follows none gets every tag."""

    __tablename__ = "chat_tag"

    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True)
    )
    tag_id: int = Field(
        sa_column=Column(Integer, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    )


class DeliveredArticle(SQLModel, table=True):
    """An article a chat has received in a digest; ranking never offers it to that chat again."""

    __tablename__ = "delivered_article"

    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True)
    )
    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    delivered_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class FeedState(SQLModel, table=True):
    """Polling state of one feed: validators for conditional GET and the error backoff."""

    __tablename__ = "feed_state"

    url: str = Field(sa_column=Column(String(2048), primary_key=True))
    etag: str | None = Field(default=None, sa_column=Column(String(512)))
    last_modified: str | None = Field(default=None, sa_column=Column(String(128)))
    failures: int = 0
    retry_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_fetched_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class DigestRun(SQLModel, table=True):
    """One planning pass that created deliveries; counts of its deliveries are live in status."""

    __tablename__ = "digest_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    # Set when none of its deliveries is pending or sending any more.
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    planned: int = 0
    skipped: int = 0
    first_sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Delivery(SQLModel, table=True):
    """The outbox: one row per (chat, local digest date), created at most once.

    States: pending -> sending -> sent | failed | unknown; skipped (too late, nothing new).
    ``chat_id`` has no foreign key: a group migrating to a supergroup changes its id, and the
    row must follow the chat, not be cascaded away with the old id.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        Index("uq_delivery_chat_date", "chat_id", "local_date", unique=True),
        Index("ix_delivery_state_due", "state", "due_at"),
        Index("ix_delivery_run", "run_id", "state"),
        # Planned rows are unowned: only claimed rows get an entry (migration 0009).
        Index(
            "ix_delivery_owner",
            "owner",
            "state",
            sqlite_where=text("owner IS NOT NULL"),
            postgresql_where=text("owner IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("digest_run.id", ondelete="SET NULL")),
    )
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # ISO date (YYYY-MM-DD) of the digest in the chat's time zone: the uniqueness key.
    local_date: str = Field(sa_column=Column(String(10), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    state: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    article_ids: list[int] | None = Field(default=None, sa_column=Column(JSON))
    message_ids: list[int] | None = Field(default=None, sa_column=Column(JSON))
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The instance working on the row (pending: claimed for sending; sending: on the wire) and
    # until when that claim holds unless renewed; an expired lease may be recovered by anyone.
    owner: str | None = Field(default=None, sa_column=Column(String(64)))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class BotInstance(SQLModel, table=True):
    """One running bot process: what ``digestbot status`` lists and elections report into.

    ``roles``: comma-separated ``poller``, ``sender``, ``webhook`` (empty: standing by).
    """

    __tablename__ = "bot_instance"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    host: str = Field(sa_column=Column(String(255), nullable=False))
    pid: int = Field(sa_column=Column(Integer, nullable=False))
    mode: str = Field(sa_column=Column(String(16), nullable=False))  # polling | webhook
    roles: str = Field(default="", sa_column=Column(String(64), nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    heartbeat_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# --- the newsroom (bot/content/enrich, docs/newsroom.md) ---------------------------------------


class GeneratedField(SQLModel, table=True):
    """A field the newsroom wrote because the source lacked it; the source's own always wins.

    ``field`` is ``title``/``summary``/``analysis``/``rationale.<score>`` (per ``lang``) or
    ``scores``/``tags`` (``lang`` empty, ``text`` a JSON value). ``origin`` is ``translated``
    (the source has it in another language) or ``generated``; ``source_hash`` is the hash of
    the source text it was made from.
    """

    __tablename__ = "generated_field"

    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    lang: str = Field(sa_column=Column(String(16), primary_key=True))
    field: str = Field(sa_column=Column(String(32), primary_key=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    origin: str = Field(sa_column=Column(String(16), nullable=False))
    model: str = Field(sa_column=Column(String(200), nullable=False))
    prompt_version: str = Field(sa_column=Column(String(32), nullable=False))
    source_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class Enrichment(SQLModel, table=True):
    """The durable queue: one row per article the newsroom looks at.

    States: pending -> running (leased by one worker) -> done | failed; pending again when the
    source text changes (``source_hash``) or after a transient error (``next_attempt_at``).
    """

    __tablename__ = "enrichment"
    __table_args__ = (Index("ix_enrichment_due", "state", "next_attempt_at"),)

    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    state: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    source_hash: str = Field(default="", sa_column=Column(String(64), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(64)))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    tokens: int = 0
    # The article's modified_at when its source hash was last computed: unchanged → no rehash.
    seen_modified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class LlmUsage(SQLModel, table=True):
    """Requests and tokens per UTC day (``day``) or per minute (``day`` = YYYY-MM-DDTHH:MM)."""

    __tablename__ = "llm_usage"

    day: str = Field(sa_column=Column(String(16), primary_key=True))
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ArticleEmbedding(SQLModel, table=True):
    """The embedding of an article's title and summary, for cross-language duplicates."""

    __tablename__ = "article_embedding"

    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    model: str = Field(sa_column=Column(String(200), nullable=False))
    source_hash: str = Field(sa_column=Column(String(64), nullable=False))
    vector: list[float] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ChatFilter(SQLModel, table=True):
    """A chat's filters beyond followed tags; no row means no filter.

    ``keywords`` are plain words or phrases as the chat typed them (matched case-insensitively
    as substrings of titles and summaries, never as patterns); muted tags are ``ChatMutedTag``.
    """

    __tablename__ = "chat_filter"

    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True)
    )
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    min_score: int = 0  # weighted score (0-100) an article needs; 0: no minimum
    own_language_only: bool = False  # only articles that have text in the chat's language
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class ChatMutedTag(SQLModel, table=True):
    """A tag a chat never wants to see, even on articles carrying a followed tag."""

    __tablename__ = "chat_muted_tag"

    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True)
    )
    tag_id: int = Field(
        sa_column=Column(Integer, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    )
