"""/stats for the operators listed in DIGESTBOT_ADMIN_IDS."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.catalog import chats
from bot.catalog.ops import stats_report
from bot.context import BotContext
from bot.views.notices import Notice
from bot.views.stats import render_stats
from handlers.common import blocking, notify, send


async def stats(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if not chats.is_admin(context.deps, user.id if user else None):
        await notify(update, context, Notice.OPERATORS_ONLY)
        return
    report = await blocking(stats_report, context.deps)
    await send(
        update,
        render_stats(
            report.status, report.subscribers, report.articles, context.lang, report.newsroom
        ),
    )


COMMANDS = [CommandHandler("stats", stats)]
