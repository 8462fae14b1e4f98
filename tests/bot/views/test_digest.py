"""The daily digest message."""

from __future__ import annotations

from bot.views.digest import render_digest
from storage.schemas import ArticleView
from tests.bot.views.helpers import NOW


def test_digest_has_read_share_and_settings_buttons() -> None:
    article = ArticleView(
        id=7,
        external_id="x",
        url="https://e.x/a",
        source=None,
        title={"en": "T"},
        summary={"en": "S"},
        analysis={},
        hot=1,
        quality=2,
        impact=3,
        published_at=NOW,
    )
    _text, keyboard = render_digest([article], "en", "UTC", NOW)
    assert keyboard is not None
    labels = [b.text for row in keyboard.inline_keyboard for b in row]
    # Buttons carry the number /article and /share accept: the article's id.
    assert labels == [f"📖 {article.id}", f"↗ {article.id}", "⚙️ Settings"]
