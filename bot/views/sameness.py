"""Whether a rendered screen is what a message already shows, so no edit needs to be sent.

Telegram answers an edit that changes nothing with 400 "message is not modified". The message
we get back from Telegram carries plain text plus entities; PTB turns that into HTML again
(``Message.text_html``), which may spell the same formatting differently from our renderer
(``&#x27;`` for ``'``, ``<strong>`` for ``<b>``). Both sides are reduced to the same tokens —
text runs and tags — before comparing; when in doubt they count as different and the edit is
sent (the caller still tolerates "not modified").
"""

from __future__ import annotations

from html.parser import HTMLParser

from telegram import InlineKeyboardMarkup, Message

_ALIASES = {"strong": "b", "em": "i", "ins": "u", "strike": "s", "del": "s"}
Token = tuple[str, ...]


class _Tokens(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []
        self._text: list[str] = []

    def _flush(self) -> None:
        if self._text:
            self.tokens.append(("text", "".join(self._text)))
            self._text = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        name = _ALIASES.get(tag, tag)
        self.tokens.append(("start", name, *sorted(f"{k}={v or ''}" for k, v in attrs)))

    def handle_endtag(self, tag: str) -> None:
        self._flush()
        self.tokens.append(("end", _ALIASES.get(tag, tag)))

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_tokens(html: str) -> list[Token]:
    parser = _Tokens()
    # Telegram drops leading and trailing whitespace of a message's text.
    parser.feed(html.strip())
    parser.close()
    return parser.tokens


def shows(message: object, text: str, keyboard: InlineKeyboardMarkup | None) -> bool:
    """True when ``message`` already shows ``text`` (HTML) with ``keyboard``."""
    if not isinstance(message, Message) or message.text is None:
        return False
    current = message.reply_markup
    if (current or None) != (keyboard or None):
        return False
    return html_tokens(message.text_html) == html_tokens(text)
