"""Plain-text operator reports for the CLI: ``digestbot status`` and ``digest --dry-run``.

Operator output is English and unlocalized (like log lines); article titles are shown in the
language of the chats they would go to.
"""

from __future__ import annotations

from bot.views.common import article_title
from storage.schemas import DryRunKind, NewsroomState, StatusReport


def _fmt_num(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def format_status(report: StatusReport) -> str:
    lines = [
        f"subscribed chats: {report.subscribers}   deactivated chats: {report.inactive}",
        "outbox: "
        + ", ".join(f"{s} {n}" for s, n in report.states.items())
        + f"   (due now: {report.due_pending})",
        *_format_instances(report),
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


def _format_instances(report: StatusReport) -> list[str]:
    lines = [f"instances: {len(report.live)} live"]
    for i in report.live:
        age = (report.now - i.heartbeat_at).total_seconds()
        lines.append(
            f"  {i.id}  host {i.host}  pid {i.pid}  {i.mode}  "
            f"role {'/'.join(i.roles) or 'standby'}  heartbeat {age:.1f}s ago"
        )
    for i in report.silent:
        lines.append(f"  {i.id}  host {i.host}  silent since {i.heartbeat_at:%Y-%m-%d %H:%M:%S}")
    if report.owners:
        lines.append("rows by state and owner:")
        for state, owner, n in report.owners:
            lines.append(f"  {state:<8} {owner or '(unclaimed)'}  {n}")
    return lines


def format_dry_run(kinds: list[DryRunKind]) -> str:
    if not kinds:
        return "no subscribed chats"
    lines: list[str] = []
    for k in kinds:
        tags = ", ".join(k.tags) if k.tags else "all tags"
        lines.append(f"[{k.language} · {tags} · {k.count} articles] {k.chats} chat(s)")
        if not k.articles:
            lines.append("   (no articles: these chats get no digest today — recorded as skipped)")
        for rank, a in enumerate(k.articles, 1):
            lines.append(
                f"   {rank}. {article_title(a, k.language)}  "
                f"[hot {a.hot} · quality {a.quality} · impact {a.impact}]  #{a.id}"
            )
        lines.append("")
    return "\n".join(lines).rstrip()


def format_newsroom(state: NewsroomState) -> str:
    """The newsroom's line of ``digestbot status`` and ``digestbot enrich``."""
    mode = f"model {state.model}" if state.enabled else "off (DIGESTBOT_LLM_* not set)"
    return (
        f"newsroom: {mode}; enriched {state.enriched}, pending {state.pending}, "
        f"failed {state.failed}; tokens today {state.tokens_today:,} "
        f"of {state.daily_budget:,}"
    )
