"""Operations reports: ``digestbot status``, ``digestbot digest --dry-run`` and ``/stats``.

Each report is a data function (plain dataclasses, easy to test) plus a formatter.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.catalog.ranking import weights_from_settings
from bot.config import Settings
from bot.context import Deps
from bot.views.render import Rendered, article_title, render_stats
from storage import outbox, planning
from storage.articles import article_views, count_articles
from storage.chats import subscriber_counts
from storage.models import Chat, ChatTag, Tag
from storage.outbox import RunSummary
from storage.ranking import top_article_ids
from storage.types import utcnow

_CHAT: Table = Chat.__table__  # type: ignore[attr-defined]
_CHAT_TAG: Table = ChatTag.__table__  # type: ignore[attr-defined]
_TAG: Table = Tag.__table__  # type: ignore[attr-defined]


# --- status ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunReport:
    id: int
    started_at: datetime
    finished_at: datetime | None
    planned: int
    sent: int
    failed: int
    unknown: int
    skipped: int
    pending: int
    duration_s: float | None  # first to last message sent
    msgs_per_s: float | None
    # Planner lag: send time minus due time of the run's sent digests (seconds).
    lag_first_s: float | None = None
    lag_max_s: float | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    now: datetime
    runs: list[RunReport]
    states: dict[str, int]
    due_pending: int
    subscribers: int
    inactive: int


def _run_report(run: RunSummary, lag: planning.Lag | None) -> RunReport:
    c = run.counts
    duration = None
    rate = None
    if run.first_sent_at is not None and run.last_sent_at is not None:
        duration = (run.last_sent_at - run.first_sent_at).total_seconds()
        if duration > 0:
            rate = c[outbox.SENT] / duration
    return RunReport(
        id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        planned=run.planned,
        sent=c[outbox.SENT],
        failed=c[outbox.FAILED],
        unknown=c[outbox.UNKNOWN],
        skipped=c[outbox.SKIPPED],
        pending=c[outbox.PENDING] + c[outbox.SENDING],
        duration_s=duration,
        msgs_per_s=rate,
        lag_first_s=lag.first_s if lag else None,
        lag_max_s=lag.max_s if lag else None,
    )


def status(*, engine: Engine, limit: int = 10, now: datetime | None = None) -> StatusReport:
    moment = now or utcnow()
    with Session(engine) as session:
        runs = outbox.recent_runs(session=session, limit=limit)
        lags = planning.planner_lag(session=session, run_ids=[r.id for r in runs])
        states = outbox.state_counts(session=session)
        due = outbox.count_due_pending(session=session, now=moment)
        subscribers = sum(n for _, _, n in subscriber_counts(session=session))
        inactive = int(
            session.execute(
                select(func.count()).select_from(_CHAT).where(_CHAT.c.active.is_(False))
            ).scalar_one()
        )
    return StatusReport(
        now=moment,
        runs=[_run_report(r, lags.get(r.id)) for r in runs],
        states=states,
        due_pending=due,
        subscribers=subscribers,
        inactive=inactive,
    )


def _fmt_num(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def format_status(report: StatusReport) -> str:
    lines = [
        f"subscribed chats: {report.subscribers}   deactivated chats: {report.inactive}",
        "outbox: "
        + ", ".join(f"{s} {n}" for s, n in report.states.items())
        + f"   (due now: {report.due_pending})",
        "",
    ]
    if not report.runs:
        lines.append("no digest runs yet")
        return "\n".join(lines)
    header = (
        f"{'run':>5}  {'started (UTC)':<16}  {'planned':>7}  {'sent':>6}  {'failed':>6}  "
        f"{'unknown':>7}  {'skipped':>7}  {'pending':>7}  {'duration':>8}  {'msg/s':>6}  "
        f"{'lag first':>9}  {'lag max':>8}"
    )
    lines.append(header)
    for r in report.runs:
        lines.append(
            f"{r.id:>5}  {r.started_at:%Y-%m-%d %H:%M}  {r.planned:>7}  {r.sent:>6}  "
            f"{r.failed:>6}  {r.unknown:>7}  {r.skipped:>7}  {r.pending:>7}  "
            f"{_fmt_num(r.duration_s) + 's':>8}  {_fmt_num(r.msgs_per_s):>6}  "
            f"{_fmt_num(r.lag_first_s) + 's':>9}  {_fmt_num(r.lag_max_s) + 's':>8}"
        )
    return "\n".join(lines)


# --- dry run ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DryRunKind:
    """One kind of chat (language × followed tags × count) and what it would get today."""

    language: str
    tags: tuple[str, ...]  # slugs; empty = all tags
    count: int
    chats: int
    articles: list[tuple[int, str, int, int, int]]  # (id, title, hot, quality, impact)


def dry_run(*, engine: Engine, settings: Settings, now: datetime | None = None) -> list[DryRunKind]:
    """What each kind of subscribed chat would receive now (before per-chat history).

    A chat's own digest also leaves out articles it already received; this shows the
    group's ranking, which is what a chat that has received nothing yet gets.
    """
    moment = now or utcnow()
    with Session(engine) as session:
        chats = session.execute(
            select(_CHAT.c.id, _CHAT.c.language, _CHAT.c.article_count).where(
                _CHAT.c.subscribed.is_(True), _CHAT.c.active.is_(True)
            )
        ).all()
        followed: dict[int, list[int]] = defaultdict(list)
        for chat_id, tag_id in session.execute(
            select(_CHAT_TAG.c.chat_id, _CHAT_TAG.c.tag_id).order_by(
                _CHAT_TAG.c.chat_id, _CHAT_TAG.c.tag_id
            )
        ):
            followed[int(chat_id)].append(int(tag_id))
        slugs = {int(i): str(s) for i, s in session.execute(select(_TAG.c.id, _TAG.c.slug))}
        kinds: Counter[tuple[str, tuple[int, ...], int]] = Counter(
            (lang or settings.default_language, tuple(followed.get(int(cid), ())), int(count))
            for cid, lang, count in chats
        )
        result: list[DryRunKind] = []
        for (lang, tags, count), n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
            ids = top_article_ids(
                session=session,
                chat_id=None,
                limit=count,
                since=moment - timedelta(hours=settings.digest_window_hours),
                until=moment,
                weights=weights_from_settings(settings),
                tag_ids=tags or None,
                exclude_delivered=False,
            )
            views = {v.id: v for v in article_views(session=session, ids=ids)}
            result.append(
                DryRunKind(
                    language=lang,
                    tags=tuple(slugs.get(t, str(t)) for t in tags),
                    count=count,
                    chats=n,
                    articles=[
                        (
                            a,
                            article_title(views[a], lang),
                            views[a].hot,
                            views[a].quality,
                            views[a].impact,
                        )
                        for a in ids
                        if a in views
                    ],
                )
            )
    return result


def format_dry_run(kinds: list[DryRunKind]) -> str:
    if not kinds:
        return "no subscribed chats"
    lines: list[str] = []
    for k in kinds:
        tags = ", ".join(k.tags) if k.tags else "all tags"
        lines.append(f"[{k.language} · {tags} · {k.count} articles] {k.chats} chat(s)")
        if not k.articles:
            lines.append("   (no articles: these chats get no digest today — recorded as skipped)")
        for rank, (aid, title, hot, quality, impact) in enumerate(k.articles, 1):
            lines.append(
                f"   {rank}. {title}  [hot {hot} · quality {quality} · impact {impact}]  #{aid}"
            )
        lines.append("")
    return "\n".join(lines).rstrip()


# --- /stats ----------------------------------------------------------------------------------


def stats_report(deps: Deps, lang: str) -> Rendered:
    """The /stats message for admins: subscribers by language and chat type, articles, runs."""
    report = status(engine=deps.engine, limit=5, now=deps.clock())
    with Session(deps.engine) as session:
        breakdown = subscriber_counts(session=session)
        articles = count_articles(session=session)
    return render_stats(report, breakdown, articles, lang)
