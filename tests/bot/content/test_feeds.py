from __future__ import annotations

import io
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.content.feeds import backoff_delay, poll_feeds, poll_feeds_async, run_fetch
from bot.content.importer import USER_AGENT, make_http_client, run_import
from storage.articles import count_articles
from storage.models import Article, FeedState

DATA = Path(__file__).resolve().parents[2] / "data"
NOW = datetime(2026, 6, 16, 12, 0, tzinfo=UTC)
LAST_MODIFIED = "Mon, 15 Jun 2026 10:00:00 GMT"


@dataclass
class FeedServer:
    """A loopback HTTP server serving fixture feeds, with switchable validators and failures."""

    base: str = ""
    bodies: dict[str, bytes] = field(default_factory=dict)
    etag: str | None = '"v1"'
    last_modified: str | None = LAST_MODIFIED
    status: int = 200
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    state = FeedServer(
        bodies={
            "/rss.xml": (DATA / "rss.xml").read_bytes(),
            "/atom.xml": (DATA / "atom-zh.xml").read_bytes(),
            "/feed.json": (DATA / "feed.json").read_bytes(),
        }
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, dict(self.headers.items())))
            body = state.bodies.get(self.path)
            if state.status != 200 or body is None:
                self.send_response(state.status if body is not None else 404)
                self.end_headers()
                return
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if (state.etag and inm == state.etag) or (
                not inm and state.last_modified and ims == state.last_modified
            ):
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            if state.etag:
                self.send_header("ETag", state.etag)
            if state.last_modified:
                self.send_header("Last-Modified", state.last_modified)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_http_client() as c:
        yield c


def _with_feeds(settings: Settings, *feeds: str) -> Settings:
    return settings.model_copy(update={"feeds": list(feeds), "feed_interval": 900})


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return count_articles(session=session)


def _state(engine: Engine, url: str) -> FeedState:
    with Session(engine) as session:
        state = session.get(FeedState, url)
    assert state is not None
    return state


def test_conditional_get_second_fetch_is_304_and_imports_nothing(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    url = server.url("/rss.xml")
    settings = _with_feeds(settings, url)
    [first] = poll_feeds(engine, settings, client=client, now=NOW)
    assert first.status == "fetched"
    assert first.counts is not None and first.counts.imported == 2
    state = _state(engine, url)
    assert (state.etag, state.last_modified, state.failures) == ('"v1"', LAST_MODIFIED, 0)
    assert state.last_fetched_at == NOW

    [second] = poll_feeds(engine, settings, client=client, now=NOW + timedelta(minutes=15))
    assert second.status == "not-modified" and second.counts is None
    _, headers = server.requests[-1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == LAST_MODIFIED
    assert headers["User-Agent"] == USER_AGENT
    assert _count(engine) == 2
    assert _state(engine, url).last_fetched_at == NOW + timedelta(minutes=15)


def test_last_modified_alone_is_enough(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    server.etag = None
    settings = _with_feeds(settings, server.url("/atom.xml"))
    assert poll_feeds(engine, settings, client=client, now=NOW)[0].status == "fetched"
    [again] = poll_feeds(engine, settings, client=client, now=NOW)
    assert again.status == "not-modified"
    assert "If-None-Match" not in server.requests[-1][1]


def test_changed_feed_is_refetched_and_deduplicated(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    url = server.url("/rss.xml")
    settings = _with_feeds(settings, url)
    poll_feeds(engine, settings, client=client, now=NOW)
    server.etag = '"v2"'
    server.bodies["/rss.xml"] = server.bodies["/rss.xml"].replace(
        b"Nvidia unveils a new", b"Nvidia finally unveils a new"
    )
    [outcome] = poll_feeds(engine, settings, client=client, now=NOW)
    assert outcome.counts is not None
    assert (outcome.counts.imported, outcome.counts.updated, outcome.counts.unchanged) == (0, 1, 1)
    assert _count(engine) == 2
    assert _state(engine, url).etag == '"v2"'


def test_same_entries_from_two_sources_are_one_article(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    # Atom ids are tag: URIs, unique everywhere: the mirror's entries update the same articles.
    server.bodies["/mirror.xml"] = server.bodies["/atom.xml"]
    settings = _with_feeds(settings, server.url("/atom.xml"), server.url("/mirror.xml"))
    first, mirror = poll_feeds(engine, settings, client=client, now=NOW)
    assert first.counts is not None and first.counts.imported == 2
    assert mirror.counts is not None and mirror.counts.unchanged == 2
    assert _count(engine) == 2


def test_entries_without_id_are_deduplicated_by_link(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    item = (
        "<item><title>{title}</title><link>https://wire.example.com/same</link>"
        "<pubDate>Mon, 15 Jun 2026 09:00:00 GMT</pubDate><description>d</description></item>"
    )
    server.bodies["/dupes.xml"] = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Dupes</title>'
        + item.format(title="First")
        + item.format(title="Second")
        + "</channel></rss>"
    ).encode()
    settings = _with_feeds(settings, server.url("/dupes.xml"))
    [outcome] = poll_feeds(engine, settings, client=client, now=NOW)
    assert outcome.counts is not None
    assert (outcome.counts.imported, outcome.counts.updated) == (1, 1)
    with Session(engine) as session:
        article = session.exec(select(Article)).one()
    assert article.external_id == "https://wire.example.com/same"


def test_failing_feed_backs_off_and_is_skipped_until_retry_at(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    url = server.url("/rss.xml")
    settings = _with_feeds(settings, url)
    server.status = 500
    [failed] = poll_feeds(engine, settings, client=client, now=NOW)
    assert failed.status == "failed"
    state = _state(engine, url)
    assert state.failures == 1
    assert state.retry_at == NOW + timedelta(seconds=900 * 2)
    assert state.last_error is not None and state.last_error.startswith("HTTP 500")

    before = server.hits("/rss.xml")
    [skipped] = poll_feeds(engine, settings, client=client, now=NOW + timedelta(minutes=29))
    assert skipped.status == "skipped"
    assert server.hits("/rss.xml") == before  # no request while backing off

    later = NOW + timedelta(minutes=30)
    [again] = poll_feeds(engine, settings, client=client, now=later)
    assert again.status == "failed"
    state = _state(engine, url)
    assert state.failures == 2
    assert state.retry_at == later + timedelta(seconds=900 * 4)

    server.status = 200
    recovered = later + timedelta(hours=1)
    [ok] = poll_feeds(engine, settings, client=client, now=recovered)
    assert ok.status == "fetched"
    state = _state(engine, url)
    assert (state.failures, state.retry_at, state.last_error) == (0, None, None)
    assert _count(engine) == 2


def test_backoff_is_capped_at_a_day() -> None:
    assert backoff_delay(900, 1) == timedelta(minutes=30)
    assert backoff_delay(900, 6) == timedelta(hours=16)
    assert backoff_delay(900, 7) == timedelta(hours=24)
    assert backoff_delay(900, 10_000) == timedelta(hours=24)


def test_unreachable_and_non_feed_urls_fail_without_stopping_others(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    server.bodies["/page.html.txt"] = b"just some text"
    dead = f"http://127.0.0.1:{closed_port}/feed.xml"
    settings = _with_feeds(settings, dead, server.url("/page.html.txt"), server.url("/feed.json"))
    outcomes = poll_feeds(engine, settings, client=client, now=NOW, err=io.StringIO())
    assert [o.status for o in outcomes] == ["failed", "failed", "fetched"]
    assert "ConnectError" in (outcomes[0].error or "")
    assert outcomes[1].error == "not JSON, JSON Lines, RSS, Atom or JSON Feed"
    # A feed that did not parse keeps no validators, so the next poll downloads it again.
    assert _state(engine, server.url("/page.html.txt")).etag is None
    assert _count(engine) == 2


def test_local_feed_files_are_read_directly(
    engine: Engine, settings: Settings, tmp_path: Path, client: httpx.Client
) -> None:
    path = tmp_path / "local.xml"
    path.write_bytes((DATA / "atom-zh.xml").read_bytes())
    settings = _with_feeds(settings, str(path), str(tmp_path / "missing.xml"))
    local, missing = poll_feeds(engine, settings, client=client, now=NOW)
    assert local.status == "fetched" and local.counts is not None and local.counts.imported == 2
    assert missing.status == "failed"
    assert missing.error == "cannot read: No such file or directory"
    [again, _] = poll_feeds(engine, settings, client=client, now=NOW + timedelta(days=2))
    assert again.status == "not-modified"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    [touched, _] = poll_feeds(engine, settings, client=client, now=NOW + timedelta(days=4))
    assert touched.status == "fetched"
    assert touched.counts is not None and touched.counts.unchanged == 2


def test_run_fetch_reports_each_feed_and_a_total(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    settings = _with_feeds(settings, server.url("/rss.xml"), server.url("/missing.xml"))
    out, err = io.StringIO(), io.StringIO()
    code = run_fetch(engine, settings, out=out, err=err, client=client, now=NOW)
    assert code == 1
    assert out.getvalue().splitlines() == [
        f"{server.url('/rss.xml')}: imported 2, updated 0, unchanged 0, rejected 0",
        "imported 2, updated 0, unchanged 0, rejected 0",
    ]
    assert err.getvalue() == (
        f"{server.url('/missing.xml')}: failed: HTTP 404 Not Found "
        "(attempt 1, next try 2026-06-16 12:30 UTC)\n"
    )
    out, err = io.StringIO(), io.StringIO()
    code = run_fetch(engine, settings, out=out, err=err, client=client, now=NOW)
    assert code == 0
    assert out.getvalue().splitlines() == [
        f"{server.url('/rss.xml')}: not modified",
        f"{server.url('/missing.xml')}: skipped, backing off until 2026-06-16 12:30 UTC "
        "after 1 failure(s): HTTP 404 Not Found",
        "imported 0, updated 0, unchanged 0, rejected 0",
    ]


def test_run_fetch_without_feeds(engine: Engine, settings: Settings) -> None:
    err = io.StringIO()
    assert run_fetch(engine, settings, out=io.StringIO(), err=err) == 2
    assert "DIGESTBOT_FEEDS" in err.getvalue()


def test_rejected_feed_entries_are_reported(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    settings = _with_feeds(settings, server.url("/feed.json"))
    out, err = io.StringIO(), io.StringIO()
    assert run_fetch(engine, settings, out=out, err=err, client=client, now=NOW) == 1
    assert err.getvalue().startswith(f"{server.url('/feed.json')}[2]: published_at: ")
    assert "rejected 1" in out.getvalue()


async def test_poll_feeds_async(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    settings = _with_feeds(settings, server.url("/atom.xml"))
    [outcome] = await poll_feeds_async(engine, settings, client=client, now=NOW)
    assert outcome.status == "fetched"
    with Session(engine) as session:
        langs = {a.external_id for a in session.exec(select(Article))}
    assert langs == {"tag:zh.example.com,2026:news-1", "tag:zh.example.com,2026:news-2"}


def test_import_from_url(
    engine: Engine, settings: Settings, server: FeedServer, client: httpx.Client
) -> None:
    out, err = io.StringIO(), io.StringIO()
    files = [server.url("/rss.xml"), server.url("/nope.xml")]
    code = run_import(engine, settings, files, out=out, err=err, client=client, now=NOW)
    assert code == 2
    assert out.getvalue() == "imported 2, updated 0, unchanged 0, rejected 0\n"
    assert err.getvalue() == f"{server.url('/nope.xml')}: HTTP 404 Not Found\n"
