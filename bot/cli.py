"""The ``digestbot`` command line: run the bot, migrate, copy, import, fetch, inspect digests.

Every failure a user can cause (a bad setting, a bad file, an unusable database, a rejected
token) prints one line naming it and exits 2: no traceback, no secret.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.config import ConfigError, Settings, load_settings
from bot.delivery.election import AlreadyRunning, sqlite_run_lock
from bot.failures import StartupError, bad_url, database_failure
from bot.logs import configure_logging
from bot.rules import ascii_int
from storage.db import make_engine, upgrade
from storage.types import utcnow

EXIT_USAGE = 2
# Without a token (the sandbox) and without DATABASE_URL: never the production default file.
SANDBOX_DATABASE_URL = "sqlite:///sandbox.sqlite3"

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("digestbot")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digestbot", description="Daily digest of scored, bilingual AI-news articles."
    )
    parser.add_argument("--version", action="version", version=f"digestbot {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("run", help="upgrade the database and run the bot")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply all migrations")
    copy = db_commands.add_parser(
        "copy", help="copy every table into an empty PostgreSQL (or SQLite) database"
    )
    copy.add_argument(
        "--to", required=True, metavar="URL", help="target, e.g. postgresql+psycopg://…"
    )

    imp = commands.add_parser(
        "import", help="import articles (JSON, JSON Lines, RSS, Atom or JSON Feed)"
    )
    imp.add_argument("files", nargs="+", metavar="FILE", help="path or URL; - for stdin")

    commands.add_parser("fetch", help="poll DIGESTBOT_FEEDS once")
    enrich = commands.add_parser(
        "enrich", help="fill what articles lack with the configured model (DIGESTBOT_LLM_*)"
    )
    enrich.add_argument(
        "--limit", type=_positive, default=None, metavar="N", help="at most N articles"
    )
    enrich.add_argument(
        "--dry-run", action="store_true", help="list what would be asked; send nothing"
    )
    commands.add_parser(
        "status",
        help="live instances, outbox rows by state and owner, recent digest runs, the newsroom",
    )
    digest = commands.add_parser(
        "digest", help="inspect today's digest (digests are sent by `digestbot run`)"
    )
    digest.add_argument(
        "--dry-run",
        action="store_true",
        help="print what each kind of chat would receive today; nothing is sent",
    )
    digest.set_defaults(usage=digest)
    return parser


def _positive(text: str) -> int:
    value = ascii_int(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # bad arguments: usage and exit 2 (argparse)
    if args.command == "digest" and not args.dry_run:
        args.usage.error(
            "only --dry-run is available: digests are sent by `digestbot run` at each "
            "chat's own time"
        )
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"digestbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "run" and not settings.token and settings.database_url_is_default:
        settings = settings.model_copy(update={"database_url": SANDBOX_DATABASE_URL})
    configure_logging(
        verbose=args.verbose, log_format=settings.log_format, secrets=settings.secrets
    )
    run_lock = None
    if args.command == "run":
        try:
            # SQLite: one process per file. Held until this process ends, however it ends.
            run_lock = sqlite_run_lock(settings.database_url)
        except AlreadyRunning as exc:
            print(f"digestbot: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except (ArgumentError, OSError):
            pass  # a bad URL or path: opening the database reports it in one line below
    try:
        return _with_engine(args, settings)
    except StartupError as exc:
        print(f"digestbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl+C before the bot's own signal handling is in place
        print("digestbot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `digestbot status | head`: the reader left, nothing to report
        # Point stdout at /dev/null so flushing it at exit raises nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if run_lock is not None:
            run_lock.close()


def _with_engine(args: argparse.Namespace, settings: Settings) -> int:
    url = settings.database_url
    try:
        engine = make_engine(url)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise StartupError(bad_url(url, exc)) from None
    except OSError as exc:  # the SQLite file's directory cannot be created
        raise StartupError(database_failure(exc, url)) from None
    try:
        return _dispatch(args, settings, engine)
    except SQLAlchemyError as exc:
        log.debug("database failure", exc_info=True)
        raise StartupError(database_failure(exc, url)) from None
    finally:
        engine.dispose()


def _dispatch(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    if args.command == "db":
        upgrade(engine)
        if args.db_command == "copy":
            from bot.dbcopy import run_copy

            return run_copy(engine, args.to, out=sys.stdout)
        print("database is up to date")
        return 0
    upgrade(engine)
    if args.command in ("import", "fetch"):
        from bot.content.enrich.dedup import link_duplicates

        if args.command == "import":
            from bot.content.importer import run_import

            code = run_import(engine, settings, args.files, out=sys.stdout, err=sys.stderr)
        else:
            from bot.content.feeds import run_fetch

            code = run_fetch(engine, settings, out=sys.stdout, err=sys.stderr)
        # One story from several sources is one item, with or without the newsroom.
        link_duplicates(engine=engine, settings=settings, now=utcnow())
        return code
    if args.command == "enrich":
        from bot.catalog.newsroom import newsroom_report
        from bot.content.enrich.command import run_enrich
        from bot.views.reports import format_newsroom

        code = run_enrich(
            engine, settings, limit=args.limit, dry_run=args.dry_run, out=sys.stdout, err=sys.stderr
        )
        if code != EXIT_USAGE:
            print(format_newsroom(newsroom_report(engine=engine, settings=settings, now=utcnow())))
        return code
    if args.command == "status":
        from bot.catalog.newsroom import newsroom_report
        from bot.catalog.ops import status
        from bot.views.reports import format_newsroom, format_status

        report = status(engine=engine, heartbeat_interval=settings.heartbeat_interval)
        print(format_status(report))
        print(format_newsroom(newsroom_report(engine=engine, settings=settings, now=utcnow())))
        return 0
    if args.command == "digest":
        from bot.catalog.ops import dry_run
        from bot.views.reports import format_dry_run

        print(format_dry_run(dry_run(engine=engine, settings=settings)))
        return 0
    if args.command == "run":
        return _run(engine, settings)
    raise AssertionError(args.command)


def _run(engine: Engine, settings: Settings) -> int:
    from bot.runner import run_bot

    if not settings.token:
        from bot.sandbox import run_sandbox

        return run_sandbox(engine=engine, settings=settings, out=sys.stdout, err=sys.stderr)
    how = (
        f"webhook at {settings.webhook_url} (listening on "
        f"{settings.webhook_listen}:{settings.webhook_port})"
        if settings.webhook_url
        else "long polling"
    )
    print(
        f"digestbot: bot mode (TELEGRAM_BOT_TOKEN is set), {how} — open your bot in Telegram",
        flush=True,
    )
    from bot.catalog.samples import count_sample_articles

    samples = count_sample_articles(engine)
    if samples:
        print(
            f"digestbot: warning: this database holds {samples} of the sandbox's fictional "
            "sample articles (data/sample-articles.jsonl); real chats will get them in their "
            "digest — use a fresh DATABASE_URL",
            file=sys.stderr,
            flush=True,
        )
    return run_bot(engine, settings)


if __name__ == "__main__":
    raise SystemExit(main())
