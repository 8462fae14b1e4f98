"""Fixtures shared by the renderer tests."""

from __future__ import annotations

import pytest

from storage.schemas import ArticleView
from tests.bot.views.helpers import SEED, load_seed


@pytest.fixture
def seed() -> ArticleView:
    if not SEED.is_file():
        pytest.skip("seed article not available")
    return load_seed()
