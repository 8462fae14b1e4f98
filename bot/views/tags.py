"""The tag list with open and follow buttons, paged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from telegram import InlineKeyboardButton

from bot.views import callbacks as cb
from bot.views.common import Rendered, button, markup, tag_name
from bot.views.i18n import format_number, translator
from bot.views.paging import escape, truncate
from storage.schemas import TagInfo

TAGS_PER_PAGE: Final = 10


def render_tags(
    tags: Sequence[TagInfo],
    followed: set[int] | frozenset[int],
    lang: str,
    page: int = 0,
    *,
    days: int = 7,
) -> Rendered:
    """Tag list with 'open' and 'follow/unfollow' buttons, ``TAGS_PER_PAGE`` per page.

    Counts cover the last ``days`` days, the same window /tag lists, and the screen says so.
    """
    tr = translator(lang)
    _ = tr.gettext
    ngettext = tr.ngettext
    if not tags:
        return escape(_("There are no tags yet.")), None
    pages = max(1, -(-len(tags) // TAGS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = tags[page * TAGS_PER_PAGE : (page + 1) * TAGS_PER_PAGE]
    window = ngettext(
        "Articles per tag in the last {n} day.", "Articles per tag in the last {n} days.", days
    ).format(n=days)
    scope = (
        _("Your digest covers only the topics you follow (✅).")
        if followed
        else _("You follow no tags, so your digest covers every topic.")
    )
    lines = [
        "🏷 <b>{}</b>".format(escape(_("Tags"))),
        escape(window),
        escape(scope),
        escape(_("Follow a tag to get only these topics. Tap a name to see its articles.")),
        "",
    ]
    rows: list[list[InlineKeyboardButton]] = []
    for tag in shown:
        name = truncate(tag_name(tag, lang), 60)
        count = ngettext("{n} article", "{n} articles", tag.article_count).format(
            n=format_number(tag.article_count, lang)
        )
        mark = " ✅" if tag.id in followed else ""
        lines.append(f"• <b>{escape(name)}</b> — {escape(count)}{mark}")
        following = tag.id in followed
        rows.append(
            [
                button(truncate(name, 40, escaper=str), cb.OpenTag(tag.id)),
                button(
                    _("✅ Following") if following else _("➕ Follow"),
                    cb.FollowTag(tag.id, not following),
                ),
            ]
        )
    if pages > 1:
        nav: list[InlineKeyboardButton] = []
        if page > 0:
            nav.append(button("‹", cb.TagsPage(page - 1)))
        nav.append(button(f"{page + 1}/{pages}", cb.Noop()))
        if page < pages - 1:
            nav.append(button("›", cb.TagsPage(page + 1)))
        rows.append(nav)
    return "\n".join(lines), markup(rows)
