"""The ``digestbot`` command line: run the bot, migrate, import, fetch, inspect digests.

User errors (bad settings, bad files) print one clear line and exit non-zero; no tracebacks.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError, Settings, load_settings
from storage.db import make_engine, upgrade
from storage.types import utcnow

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digestbot", description="Daily digest of scored, bilingual AI-news articles."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("run", help="upgrade the database and run the bot")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply all migrations")

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
    digest = commands.add_parser("digest", help="inspect today's digest")
    digest.add_argument(
        "--dry-run",
        action="store_true",
        required=True,
        help="print what each kind of chat would receive today; nothing is sent",
    )
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request at INFO, which would include the bot token in the URL.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"digestbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _dispatch(args, settings)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    run_lock = None
    if args.command == "run":
        from bot.delivery.election import AlreadyRunning, sqlite_run_lock

        try:
            # Held until the process ends; the kernel releases it however the process ends.
            run_lock = sqlite_run_lock(settings.database_url)
        except AlreadyRunning as exc:
            print(f"digestbot: {exc}", file=sys.stderr)
            return EXIT_USAGE
    engine = make_engine(settings.database_url)
    try:
        if args.command == "db":
            upgrade(engine)
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
                engine,
                settings,
                limit=args.limit,
                dry_run=args.dry_run,
                out=sys.stdout,
                err=sys.stderr,
            )
            if code != EXIT_USAGE:
                print(
                    format_newsroom(newsroom_report(engine=engine, settings=settings, now=utcnow()))
                )
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
            from bot.app import run_bot

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
                f"digestbot: bot mode (TELEGRAM_BOT_TOKEN is set), {how} — "
                "open your bot in Telegram",
                flush=True,
            )
            return run_bot(engine, settings)
        raise AssertionError(args.command)
    finally:
        engine.dispose()
        if run_lock is not None:
            run_lock.close()


if __name__ == "__main__":
    raise SystemExit(main())
