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
    commands.add_parser("status", help="recent digest runs and the outbox")
    digest = commands.add_parser("digest", help="inspect today's digest")
    digest.add_argument(
        "--dry-run",
        action="store_true",
        required=True,
        help="print what each kind of chat would receive today; nothing is sent",
    )
    return parser


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
    engine = make_engine(settings.database_url)
    try:
        if args.command == "db":
            upgrade(engine)
            print("database is up to date")
            return 0
        upgrade(engine)
        if args.command == "import":
            from bot.content.importer import run_import

            return run_import(engine, settings, args.files, out=sys.stdout, err=sys.stderr)
        if args.command == "fetch":
            from bot.content.feeds import run_fetch

            return run_fetch(engine, settings, out=sys.stdout, err=sys.stderr)
        if args.command == "status":
            from bot.catalog.ops import status
            from bot.views.reports import format_status

            print(format_status(status(engine=engine)))
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


if __name__ == "__main__":
    raise SystemExit(main())
