"""Operations reports as plain data: ``digestbot status``, ``digestbot digest --dry-run``, /stats.

The CLI formats them with ``bot.views.reports``; /stats renders with the stats renderer.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.catalog.newsroom import newsroom_report
from bot.catalog.ranking import ranked_article_ids
from bot.config import Settings
from bot.context import Deps
from storage import instances, leases, outbox, planning, runs
from storage.articles import article_views, count_articles
from storage.chats import count_inactive_chats, digest_subscriptions, subscriber_counts
from storage.db import session_scope
from storage.runs import RunSummary
from storage.schemas import DryRunKind, RunReport, StatsReport, StatusReport
from storage.tags import tag_slugs
from storage.types import utcnow

__all__ = ["DryRunKind", "RunReport", "StatsReport", "StatusReport", "dry_run", "stats_report"]


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


def status(
    *,
    engine: Engine,
    limit: int = 10,
    now: datetime | None = None,
    heartbeat_interval: float = 2.0,
) -> StatusReport:
    moment = now or utcnow()
    # Alive: heard from within three heartbeats (the election's own notion of a dead peer).
    alive = moment - timedelta(seconds=3 * heartbeat_interval)
    with session_scope(engine) as session:
        registered = instances.instances(session=session)
        owners = leases.owner_counts(session=session)
        recent = runs.recent_runs(session=session, limit=limit)
        lags = planning.planner_lag(session=session, run_ids=[r.id for r in recent])
        states = runs.state_counts(session=session)
        due = runs.count_due_pending(session=session, now=moment)
        subscribers = sum(n for _, _, n in subscriber_counts(session=session))
        inactive = count_inactive_chats(session=session)
    return StatusReport(
        now=moment,
        runs=[_run_report(r, lags.get(r.id)) for r in recent],
        states=states,
        due_pending=due,
        subscribers=subscribers,
        inactive=inactive,
        live=[i for i in registered if i.heartbeat_at >= alive],
        silent=[i for i in registered if i.heartbeat_at < alive],
        owners=owners,
    )


def dry_run(*, engine: Engine, settings: Settings, now: datetime | None = None) -> list[DryRunKind]:
    """What each kind of subscribed chat would receive now (before per-chat history).

    A chat's own digest also leaves out articles it already received; this shows the
    group's ranking, which is what a chat that has received nothing yet gets.
    """
    moment = now or utcnow()
    with session_scope(engine) as session:
        kinds: Counter[tuple[str, tuple[int, ...], int]] = Counter(
            (lang or settings.default_language, tags, count)
            for lang, tags, count in digest_subscriptions(session=session)
        )
        slugs = tag_slugs(session=session)
        result: list[DryRunKind] = []
        for (lang, tags, count), n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
            ids = ranked_article_ids(
                session=session, settings=settings, now=moment, limit=count, tag_ids=tags
            )
            result.append(
                DryRunKind(
                    language=lang,
                    tags=tuple(slugs.get(t, str(t)) for t in tags),
                    count=count,
                    chats=n,
                    articles=article_views(session=session, ids=ids),
                )
            )
    return result


def stats_report(deps: Deps) -> StatsReport:
    """For the admins' /stats: subscribers by language and chat type, articles, recent runs,
    the newsroom."""
    report = status(engine=deps.engine, limit=5, now=deps.clock())
    with session_scope(deps.engine) as session:
        breakdown = subscriber_counts(session=session)
        articles = count_articles(session=session)
    newsroom = newsroom_report(engine=deps.engine, settings=deps.settings, now=deps.clock())
    return StatsReport(status=report, subscribers=breakdown, articles=articles, newsroom=newsroom)
