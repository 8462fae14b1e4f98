"""handlers.common.edit: an edit that would change nothing is not sent to Telegram."""

from __future__ import annotations

from telegram import CallbackQuery, Message, User

from bot.catalog import articles as catalog
from bot.views.common import Rendered
from bot.views.detail import render_article_detail
from bot.views.lists import render_article_list, top_header
from bot.views.sameness import shows
from bot.views.settings import render_count_picker
from bot.views.start import render_welcome
from handlers.common import edit
from tests.harness import Harness


async def _shown(bot: Harness, chat_id: int, rendered: Rendered) -> Message:
    """Send ``rendered`` as the bot does; the Message as Telegram answers it."""
    text, keyboard = rendered
    return await bot.app.bot.send_message(chat_id, text, reply_markup=keyboard)


def _query(bot: Harness, message: Message, user_id: int) -> CallbackQuery:
    query = CallbackQuery(
        id="1",
        from_user=User(user_id, "Ann", is_bot=False),
        chat_instance="1",
        message=message,
        data="x",
    )
    query.set_bot(bot.app.bot)
    return query


async def test_every_kind_of_screen_reads_back_as_itself(bot: Harness) -> None:
    """Telegram's answer (text + entities, back to HTML by PTB) equals what was rendered,
    for screens with bold, links, escapes, CJK and emoji."""
    ann = bot.fake.create_user("Ann <&> 'quoted'")
    top = catalog.top(bot.deps, limit=5)
    detail = catalog.article(bot.deps, article_id=top[0].id)
    assert detail is not None
    screens = [
        render_count_picker("en", 5),
        render_count_picker("zh", 3),
        render_welcome("Ann <&> 'quoted'", "en"),
        render_welcome("李雷", "zh"),
        render_article_list(top_header("en"), top, "en"),
        render_article_list(top_header("zh"), top, "zh"),
        render_article_detail(detail, "en", 0, now=bot.clock()),
        render_article_detail(detail, "zh", 0, now=bot.clock()),
    ]
    for rendered in screens:
        message = await _shown(bot, ann.id, rendered)
        assert shows(message, *rendered), rendered[0][:80]
    others = screens[1:] + screens[:1]
    for rendered, other in zip(screens, others, strict=True):
        message = await _shown(bot, ann.id, rendered)
        assert not shows(message, *other)
    # Same text, other keyboard: still an edit.
    message = await _shown(bot, ann.id, render_count_picker("en", 5))
    assert not shows(message, render_count_picker("en", 5)[0], None)


async def test_edit_to_the_screen_already_shown_sends_nothing(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    shown = await _shown(bot, ann.id, render_count_picker("en", 5))
    before = len(bot.fake.requests_for("editMessageText"))

    await edit(_query(bot, shown, ann.id), render_count_picker("en", 5))
    assert len(bot.fake.requests_for("editMessageText")) == before

    await edit(_query(bot, shown, ann.id), render_count_picker("en", 7))
    edits = bot.fake.requests_for("editMessageText")
    assert len(edits) == before + 1
    assert edits[-1].ok
    assert "✓ 7" in str(bot.fake.get_message(ann, shown.message_id).buttons)
