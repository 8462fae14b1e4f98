"""Bot API: answerCallbackQuery and answerInlineQuery."""

from __future__ import annotations

from typing import Any, TypeVar

from .errors import bad_request
from .formatting import Formatting
from .models import CallbackQueryRecord, FakeEvent, InlineQueryRecord
from .params import Params, utc_now

_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"

Query = TypeVar("Query", CallbackQueryRecord, InlineQueryRecord)


def _unanswered(records: dict[str, Query], query_id: str) -> Query:
    """The query to answer; like Telegram, an unknown or already answered one is invalid."""
    record = records.get(query_id)
    if record is None or record.answered:
        raise bad_request(_QUERY_INVALID)
    return record


class QueriesApi(Formatting):
    """answerCallbackQuery, answerInlineQuery."""

    async def _api_answercallbackquery(self, p: Params) -> Any:
        query_id = p.get_str("callback_query_id") or ""
        record = _unanswered(self.callback_queries, query_id)
        text = p.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answered, record.answered_at = True, utc_now()
        record.text = text
        record.show_alert = p.get_bool("show_alert")
        record.url = p.get_str("url")
        record.cache_time = p.get_int("cache_time")
        await self._emit(FakeEvent("callback_answer", record.chat_id, None, {"query_id": query_id}))
        return True

    async def _api_answerinlinequery(self, p: Params) -> Any:
        query_id = p.get_str("inline_query_id") or ""
        record = _unanswered(self.inline_queries, query_id)
        results = p.get_json("results", "results")
        if not isinstance(results, list):
            raise bad_request("can't parse results JSON array")
        if len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        cleaned: list[dict[str, Any]] = []
        for result in results:
            if not isinstance(result, dict) or not isinstance(result.get("type"), str):
                raise bad_request("can't parse InlineQueryResult JSON object")
            result_id = result.get("id")
            if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
                raise bad_request("RESULT_ID_INVALID")
            if result_id in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            cleaned.append(self._validate_inline_result(result))
        record.answered, record.answered_at = True, utc_now()
        record.results = cleaned
        record.cache_time = p.get_int("cache_time")
        record.is_personal = p.get_bool("is_personal")
        record.next_offset = p.get_str("next_offset")
        record.button = p.get_json("button", "InlineQueryResultsButton")
        await self._emit(FakeEvent("inline_answer", None, None, {"query_id": query_id}))
        return True

    def _validate_inline_result(self, result: dict[str, Any]) -> dict[str, Any]:
        cleaned = dict(result)
        if result["type"] == "article" and not str(result.get("title", "")).strip():
            raise bad_request("ARTICLE_TITLE_EMPTY")
        content = result.get("input_message_content")
        if result["type"] == "article" and not isinstance(content, dict):
            raise bad_request("can't parse InputMessageContent JSON object")
        if isinstance(content, dict) and "message_text" in content:
            text, entities = self.format_text(
                content.get("message_text"),
                content.get("parse_mode"),
                content.get("entities"),
                empty_error="MESSAGE_EMPTY",
                long_error="MESSAGE_TOO_LONG",
            )
            cleaned["input_message_content"] = {
                **content,
                "message_text": text,
                "entities": entities,
            }
        if "reply_markup" in result:
            markup = self.validate_reply_markup(result["reply_markup"])
            if markup is None or "inline_keyboard" not in markup:
                raise bad_request("inline keyboard expected")
            cleaned["reply_markup"] = markup
        return cleaned
