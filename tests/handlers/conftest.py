from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.content.formats import read_stream
from bot.content.importer import ImportCounts, import_records
from tests.harness import SAMPLE_NOW, Harness, running_bot

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample-articles.jsonl"


@pytest.fixture
def sample_engine(engine: Engine) -> Engine:
    """The migrated test database with the shipped sample articles imported."""
    errors = io.StringIO()
    counts = ImportCounts()
    with SAMPLE.open("rb") as stream:
        records = read_stream(stream, SAMPLE.name, now=SAMPLE_NOW)
        import_records(engine, records, now=SAMPLE_NOW, err=errors, counts=counts)
    assert counts.rejected == 0, errors.getvalue()
    return engine


@pytest.fixture
async def bot(settings: Settings, sample_engine: Engine) -> AsyncIterator[Harness]:
    async with running_bot(settings, sample_engine) as harness:
        yield harness
