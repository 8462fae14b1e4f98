"""One line for each way start-up or a command can fail: named cause, no secret, no traceback.

The CLI turns these exceptions into ``digestbot: <line>`` and exit code 2.
"""

from __future__ import annotations

import contextlib

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DBNAME"


class StartupError(Exception):
    """Start-up cannot continue; the message is the one line the operator sees."""


def shown_url(url: str) -> str:
    """The URL with its password masked; a URL that does not parse is not echoed at all."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "DATABASE_URL"


def bad_url(url: str, exc: BaseException, *, name: str = "DATABASE_URL") -> str:
    """``make_engine`` refused the URL: unparsable, unknown dialect or driver not installed."""
    if isinstance(exc, ImportError):
        return (
            f"{name}: the database driver for {shown_url(url)} is not installed "
            f"({exc.name or exc}); expected {URL_FORMS}"
        )
    return f"{name}: not a database URL this bot can use; expected {URL_FORMS}"


def _first_line(exc: BaseException, secrets: list[str]) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot create {exc.filename}: {exc.strerror}"
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    line = text.splitlines()[0] if text else type(cause).__name__
    for secret in secrets:
        line = line.replace(secret, "***")
    return line


def _hint(exc: BaseException, line: str) -> str:
    lower = line.lower()
    if "readonly database" in lower or "read-only" in lower:
        return "the database file or its directory is read-only for this user"
    if "unable to open database file" in lower:
        return "check that the database directory exists and is writable"
    if "disk is full" in lower or "no space left" in lower:
        return "free disk space, then run the command again"
    if "disk i/o error" in lower:
        return "writing the file failed: is the disk full (or failing)?"
    if isinstance(exc, OperationalError) and ("connect" in lower or "password" in lower):
        return "check host, port, user, password and that the server is running"
    return ""


def database_failure(exc: SQLAlchemyError | OSError, url: str) -> str:
    """An error from the database (or its file) as one line naming the database."""
    password = None
    with contextlib.suppress(ArgumentError, ValueError):
        password = make_url(url).password
    line = _first_line(exc, [password] if password else [])
    hint = _hint(exc, line)
    return f"database error ({shown_url(url)}): {line}" + (f" — {hint}" if hint else "")
