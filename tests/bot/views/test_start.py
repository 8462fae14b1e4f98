"""Welcome, help and the command menu."""

from __future__ import annotations

import pytest

from bot.views.start import COMMANDS, command_descriptions, render_help, render_welcome
from tests.bot.views.helpers import all_buttons, assert_rendered


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_welcome_and_help(lang: str) -> None:
    text, keyboard = render_welcome("Ada", lang)
    assert_rendered((text, keyboard))
    assert "Ada" in text
    assert {b.callback_data for b in all_buttons(keyboard)} == {"sub:1", "set:lang"}
    assert_rendered(render_welcome(None, lang))
    text = assert_rendered(render_help(lang))
    commands = "start subscribe unsubscribe digest top latest article tags tag search share"
    commands += " language settings time timezone count help stats"
    for command in commands.split():
        assert f"/{command} — " in text
    assert len(command_descriptions(lang)) == len(COMMANDS)
