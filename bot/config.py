"""Settings: one object built from the environment (and an optional .env) in ``main``."""

from __future__ import annotations

import contextlib
import re
from datetime import time
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.rules import MAX_ARTICLE_COUNT, MIN_ARTICLE_COUNT, Lang

_TIME_RE = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
# What Telegram accepts as a webhook secret_token (sent back in X-Telegram-Bot-Api-Secret-Token).
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_WEBHOOK_SECRET_RULE = "1-256 characters, only A-Z, a-z, 0-9, _ and -"
_PUBLIC_API = "https://api.telegram.org/"


class ConfigError(Exception):
    """A setting has a bad value; the message names the variable and what is expected."""


def parse_hhmm(value: str) -> time:
    """Parse ``HH:MM`` (24-hour clock) or raise ValueError."""
    match = _TIME_RE.match(value.strip())
    if not match:
        raise ValueError("expected a 24-hour time HH:MM, e.g. 08:00")
    return time(int(match.group(1)), int(match.group(2)))


def split_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9464`` for IPv6) or raise ValueError."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9464")
    return host, int(port)


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every knob an operator has. Environment names are listed in README and .env.example."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", alias="TELEGRAM_API_BASE_URL"
    )
    database_url: str = Field(default="sqlite:///digestbot.sqlite3", alias="DATABASE_URL")
    admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, alias="DIGESTBOT_ADMIN_IDS"
    )
    default_language: Lang = Field(default="en", alias="DIGESTBOT_DEFAULT_LANGUAGE")
    default_timezone: str = Field(default="UTC", alias="DIGESTBOT_DEFAULT_TIMEZONE")
    default_digest_time: str = Field(default="08:00", alias="DIGESTBOT_DEFAULT_DIGEST_TIME")
    default_article_count: int = Field(
        default=5,
        ge=MIN_ARTICLE_COUNT,
        le=MAX_ARTICLE_COUNT,
        alias="DIGESTBOT_DEFAULT_ARTICLE_COUNT",
    )
    feeds: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="DIGESTBOT_FEEDS")
    feed_interval: int = Field(default=900, ge=60, alias="DIGESTBOT_FEED_INTERVAL")
    # Ranking: weighted score = hot*w_hot + quality*w_quality + impact*w_impact.
    weight_hot: float = Field(default=0.4, ge=0, alias="DIGESTBOT_WEIGHT_HOT")
    weight_quality: float = Field(default=0.35, ge=0, alias="DIGESTBOT_WEIGHT_QUALITY")
    weight_impact: float = Field(default=0.25, ge=0, alias="DIGESTBOT_WEIGHT_IMPACT")
    digest_window_hours: int = Field(default=48, ge=1, le=24 * 30, alias="DIGESTBOT_DIGEST_WINDOW")

    # Delivery: catch-up after downtime, outbox crash policy, planner cadence, rate limits.
    catchup_grace_hours: float = Field(default=6.0, gt=0, alias="DIGESTBOT_CATCHUP_GRACE")
    sending_policy: Literal["unknown", "resend"] = Field(
        default="unknown", alias="DIGESTBOT_SENDING_POLICY"
    )
    planner_interval: float = Field(default=30.0, ge=5, alias="DIGESTBOT_PLANNER_INTERVAL")
    delivery_workers: int = Field(default=16, ge=1, le=1000, alias="DIGESTBOT_DELIVERY_WORKERS")
    delivery_batch: int = Field(default=64, ge=1, le=1000, alias="DIGESTBOT_DELIVERY_BATCH")
    allow_paid_broadcast: bool = Field(default=False, alias="DIGESTBOT_PAID_BROADCAST")
    rate_overall: float = Field(default=30.0, gt=0, le=1000, alias="DIGESTBOT_RATE_OVERALL")
    rate_group_per_minute: int = Field(
        default=20, ge=1, le=60, alias="DIGESTBOT_RATE_GROUP_PER_MINUTE"
    )
    # Tests and benchmarks only: run every rate limit this many times faster (an emulator with
    # the same time_scale), with this much slack on every window.
    rate_time_scale: float = Field(default=1.0, gt=0, le=1000, alias="DIGESTBOT_RATE_TIME_SCALE")
    # 0.2 %: the window itself is already safe against network jitter (a request leaves only
    # once the answer to the one a budget back is a window old), so this only covers the
    # server's timestamp granularity (2 ms a second).
    rate_safety: float = Field(default=0.002, ge=0, le=1, alias="DIGESTBOT_RATE_SAFETY")

    # Several instances on one PostgreSQL database: heartbeat/election cadence and how long a
    # claim on an outbox row holds without renewal before another instance may recover it.
    heartbeat_interval: float = Field(
        default=2.0, gt=0, le=60, alias="DIGESTBOT_HEARTBEAT_INTERVAL"
    )
    lease_seconds: float = Field(default=30.0, ge=1, le=3600, alias="DIGESTBOT_LEASE_SECONDS")
    # Webhook mode with several instances: messages/s of the overall rate kept for the replies
    # of the instances that do not broadcast (shared equally among them).
    reply_reserve: float = Field(default=3.0, ge=0, alias="DIGESTBOT_REPLY_RESERVE")

    # Article details as one rich message (Bot API 10.1 sendRichMessage); "off": paged HTML.
    rich_messages: bool = Field(default=True, alias="DIGESTBOT_RICH_MESSAGES")
    # Sandbox (no token): the local Bot API emulator and web chat listen on loopback only,
    # unless an operator explicitly allows another interface.
    sandbox_host: str = Field(default="127.0.0.1", alias="DIGESTBOT_SANDBOX_HOST")
    sandbox_port: int = Field(default=8080, ge=0, le=65535, alias="DIGESTBOT_SANDBOX_PORT")
    sandbox_allow_remote: bool = Field(default=False, alias="DIGESTBOT_SANDBOX_ALLOW_REMOTE")

    # Webhook mode: empty URL = long polling. The bot listens on LISTEN:PORT at the URL's path,
    # behind a reverse proxy that terminates TLS for the public URL.
    webhook_url: str = Field(default="", alias="DIGESTBOT_WEBHOOK_URL")
    webhook_listen: str = Field(default="127.0.0.1", min_length=1, alias="DIGESTBOT_WEBHOOK_LISTEN")
    webhook_port: int = Field(default=8443, ge=1, le=65535, alias="DIGESTBOT_WEBHOOK_PORT")
    webhook_secret: SecretStr | None = Field(default=None, alias="DIGESTBOT_WEBHOOK_SECRET")

    # Operations: Prometheus metrics and /healthz on HOST:PORT (empty = off); log line format.
    metrics_listen: str = Field(default="", alias="DIGESTBOT_METRICS_LISTEN")
    log_format: Literal["text", "json"] = Field(default="text", alias="DIGESTBOT_LOG_FORMAT")
    # The newsroom (docs/newsroom.md): an OpenAI-compatible server fills what articles lack.
    # Off unless both the base URL and the model are set. The key may be empty (local servers).
    llm_base_url: str = Field(default="", alias="DIGESTBOT_LLM_BASE_URL")
    llm_api_key: SecretStr | None = Field(default=None, alias="DIGESTBOT_LLM_API_KEY")
    llm_model: str = Field(default="", alias="DIGESTBOT_LLM_MODEL")
    llm_embedding_model: str = Field(default="", alias="DIGESTBOT_LLM_EMBEDDING_MODEL")
    llm_concurrency: int = Field(default=2, ge=1, le=64, alias="DIGESTBOT_LLM_CONCURRENCY")
    llm_requests_per_minute: int = Field(
        default=30, ge=1, le=10_000, alias="DIGESTBOT_LLM_REQUESTS_PER_MINUTE"
    )
    llm_daily_tokens: int = Field(default=2_000_000, ge=0, alias="DIGESTBOT_LLM_DAILY_TOKENS")
    llm_timeout: float = Field(default=120.0, gt=0, le=3600, alias="DIGESTBOT_LLM_TIMEOUT")
    llm_interval: float = Field(default=60.0, ge=1, alias="DIGESTBOT_LLM_INTERVAL")
    llm_max_age_hours: int = Field(default=72, ge=1, le=24 * 365, alias="DIGESTBOT_LLM_MAX_AGE")
    duplicate_similarity: float = Field(
        default=0.9, gt=0, le=1, alias="DIGESTBOT_DUPLICATE_SIMILARITY"
    )

    @field_validator("admin_ids", "feeds", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("expected an IANA time zone name such as Europe/Berlin") from exc
        return value

    @field_validator("default_digest_time")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        return parse_hhmm(value).strftime("%H:%M")

    @field_validator("metrics_listen", mode="before")
    @classmethod
    def _metrics_listen(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return ""
        host, port = split_listen(value.strip())
        return f"{host}:{port}"

    @field_validator("webhook_url", "webhook_listen", "llm_base_url", "llm_model", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or raw == "":
            return None  # an empty line in .env means "not set"
        if not isinstance(raw, str) or not _WEBHOOK_SECRET_RE.match(raw):
            raise ValueError(f"expected {_WEBHOOK_SECRET_RULE}")
        return raw

    @field_validator("llm_base_url")
    @classmethod
    def _llm_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError("expected the server's http(s) URL, e.g. http://127.0.0.1:11434/v1")
        return value

    @model_validator(mode="after")
    def _webhook(self) -> Settings:
        # Messages name their variable themselves: load_settings shows them as they are.
        if not self.webhook_url:
            return self
        parts = urlsplit(self.webhook_url)
        # Only a self-hosted Bot API server (--local) may call a plain-HTTP webhook.
        public = self.telegram_api_base_url.startswith(_PUBLIC_API)
        schemes = ("https",) if public else ("https", "http")
        if parts.scheme not in schemes or not parts.hostname or parts.fragment:
            raise ValueError(
                "DIGESTBOT_WEBHOOK_URL: expected the public https:// URL Telegram should call, "
                "e.g. https://bot.example.com/telegram"
            )
        if self.webhook_secret is None:
            raise ValueError(
                "DIGESTBOT_WEBHOOK_SECRET: required when DIGESTBOT_WEBHOOK_URL is set "
                f"({_WEBHOOK_SECRET_RULE}); Telegram sends it with every update"
            )
        return self

    @model_validator(mode="after")
    def _reserve(self) -> Settings:
        if self.reply_reserve >= self.rate_overall:
            raise ValueError(
                "DIGESTBOT_REPLY_RESERVE: must be below DIGESTBOT_RATE_OVERALL (the broadcast "
                "needs some of the budget)"
            )
        return self

    @model_validator(mode="after")
    def _lease(self) -> Settings:
        if self.lease_seconds < 3 * self.heartbeat_interval:
            raise ValueError(
                "DIGESTBOT_LEASE_SECONDS: must be at least three heartbeats "
                "(3 x DIGESTBOT_HEARTBEAT_INTERVAL), or live instances would lose their rows"
            )
        return self

    @property
    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    @property
    def database_url_is_default(self) -> bool:
        """True when DATABASE_URL was not given (environment, .env or an override)."""
        return "database_url" not in self.model_fields_set

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        return split_listen(self.metrics_listen) if self.metrics_listen else None

    @property
    def secrets(self) -> list[str]:
        """Values that must never reach output or logs (the logging set-up redacts them)."""
        found = [self.token, self.webhook_secret_token, self.llm_key]
        # An unparsable URL has no password to find; it is reported without being echoed.
        with contextlib.suppress(ArgumentError, ValueError):
            found.append(make_url(self.database_url).password)
        return [s for s in found if s]

    @property
    def llm_enabled(self) -> bool:
        """The newsroom runs only when a server and a model are configured."""
        return bool(self.llm_base_url and self.llm_model)

    @property
    def llm_key(self) -> str:
        return self.llm_api_key.get_secret_value() if self.llm_api_key else ""

    @property
    def webhook_path(self) -> str:
        """The path the bot listens on: the webhook URL's path, without the leading slash."""
        return urlsplit(self.webhook_url).path.lstrip("/")

    @property
    def webhook_secret_token(self) -> str | None:
        return self.webhook_secret.get_secret_value() if self.webhook_secret else None


def load_settings(**overrides: object) -> Settings:
    """Build Settings or raise ConfigError naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a model validator: its message starts with the variable
            raise ConfigError(message) from None
        field = str(error["loc"][0])
        info = Settings.model_fields.get(field)
        name = (info.alias if info and info.alias else field).upper()
        raise ConfigError(f"{name}: {message}") from None
