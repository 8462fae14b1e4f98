"""The update queue: what users do becomes updates, fetched by getUpdates or pushed to a webhook.

Also the server lifecycle the queue depends on (``close``/``reopen`` release long polls).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from .errors import ApiError, bad_request
from .params import Params
from .store import ChatStore
from .webhook import WebhookAttempt, check_secret_token, check_webhook_url

# Updates Telegram sends when allowed_updates is empty/unset.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class UpdateQueue(ChatStore):
    """Queue updates; getUpdates and the webhook methods; closing for a server shutdown."""

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        allowed = self._allowed_updates
        if allowed is None and kind in _DEFAULT_EXCLUDED_UPDATES:
            return None
        if allowed is not None and kind not in allowed:
            return None
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self.updates_log.append(update)
        self.poke()
        return update

    @property
    def webhook_url(self) -> str:
        """The webhook URL set with setWebhook; empty: updates wait for getUpdates."""
        return self.webhook.url

    @property
    def webhook_attempts(self) -> list[WebhookAttempt]:
        """Every POST to a webhook so far, oldest first."""
        return list(self.webhook.attempts)

    @property
    def webhook_dropped(self) -> list[dict[str, Any]]:
        """Updates given up after ``webhook_max_attempts`` failed POSTs."""
        return list(self.webhook.dropped)

    def close(self) -> None:
        """Release long polls and hanging requests, stop webhook delivery (server shutdown)."""
        self._closing = True
        self.webhook.cancel()
        self.poke()

    async def stop_webhook_delivery(self) -> None:
        """Wait until the webhook delivery task stopped by ``close()`` has finished."""
        await self.webhook.stop()

    def reopen(self) -> None:
        self._closing = False
        self.webhook.ensure_running()  # a webhook set before a restart is pushed to again

    async def wait_closing(self, timeout: float | None) -> None:  # noqa: ASYNC109
        """Return when close() is called or after ``timeout`` seconds (None: forever)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self._closing:
            changed = self._changed
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return

    async def _api_getupdates(self, p: Params) -> Any:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = p.get_int("offset")
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_float("timeout") or 0.0, 0.0)
        allowed = p.get_json("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed_updates JSON array")
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset is not None:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        # A newer getUpdates call terminates an older one, like on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self.poke()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            if self._updates or self._closing:
                return self._updates[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            self.long_polls_waiting += 1
            self.poke()  # tell waiters (tests) a long poll is parked
            changed = self._changed  # captured after our own poke, or we would spin
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
            finally:
                self.long_polls_waiting -= 1

    async def _api_deletewebhook(self, p: Params) -> Any:
        # Undelivered updates stay pending and are returned by getUpdates from now on.
        self.webhook.clear()
        if p.get_bool("drop_pending_updates"):
            self._updates.clear()
        self.poke()
        return True

    async def _api_setwebhook(self, p: Params) -> Any:
        url = (p.get_str("url") or "").strip()
        if not url:  # an empty URL removes the webhook
            return await self._api_deletewebhook(p)
        check_webhook_url(url, allow_non_loopback=self.allow_non_loopback_webhooks)
        secret = p.get_str("secret_token") or None
        if secret is not None:
            check_secret_token(secret)
        max_connections = p.get_int("max_connections")
        if max_connections is not None and not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = p.get_json("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed_updates JSON array")
            self._allowed_updates = frozenset(allowed) if allowed else None
        if p.get_bool("drop_pending_updates"):
            self._updates.clear()
        self.webhook.configure(url, secret, max_connections)
        self.poke()
        return True

    async def _api_getwebhookinfo(self, p: Params) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url and self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        info.update(self.webhook.info())
        return info

    async def _api_close(self, p: Params) -> Any:
        return True

    async def _api_logout(self, p: Params) -> Any:
        return True
