"""Fuzz the Telegram webhook endpoint of the running service (``python -m bot`` in webhook mode).

Whatever arrives gets a clear answer: a 4xx for what is not an update from Telegram, a reply in
the chat for an update with hostile content. Nothing crashes, /health stays fine, and no case or
case event is created or changed.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import aiohttp
import pytest
from hostile import forged_callback, hostile_text, not_an_update, user_ids
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.harness import WEBHOOK_SECRET

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
HEADER = "X-Telegram-Bot-Api-Secret-Token"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_ids = itertools.count(5_000_000)


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(30)) as r,
    ):
        text = await r.text()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text


async def _health(base: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/health") as r:
        return r.status


def _assert_alive(live) -> None:  # type: ignore[no-untyped-def]
    assert live.bot.proc.poll() is None, "the service process died"
    assert live.run(_health(live.url)) == 200


def test_what_is_not_an_update_gets_a_4xx_and_changes_nothing(live) -> None:  # type: ignore[no-untyped-def]
    hook = live.bot.webhook_url
    before = live.snapshot()

    @FUZZ
    @given(body=not_an_update(), secret=st.sampled_from(["ok", "ok", "ok", "missing", "wrong", "similar"]))
    def case(body: bytes, secret: str) -> None:
        headers = {"Content-Type": "application/json"}
        if secret == "ok":
            headers[HEADER] = WEBHOOK_SECRET
        elif secret == "wrong":
            headers[HEADER] = "x" * len(WEBHOOK_SECRET)
        elif secret == "similar":
            headers[HEADER] = WEBHOOK_SECRET[:-1]
        status, answer = live.run(_post(hook, body, headers))
        expected = {"ok": {400}, "missing": {401}}.get(secret, {403})
        assert status in expected, (status, answer, body[:80])
        assert isinstance(answer, dict) and answer.get("ok") is False and answer.get("error")

    case()
    # A valid update with a missing or wrong secret is refused as well.
    update = json.dumps(
        {
            "update_id": next(_ids),
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "你好",
                "chat": {"id": 1, "type": "private"},
                "from": {"id": 1, "is_bot": False, "first_name": "x"},
            },
        }
    ).encode()
    assert live.run(_post(hook, update, {"Content-Type": "application/json"}))[0] == 401
    assert live.run(_post(hook, update, {HEADER: "wrong"}))[0] == 403
    # Oversize bodies: refused with 413 before they are read.
    for size in ((1 << 20) + 1, 3 << 20):
        status, _ = live.run(_post(hook, b"{" + b" " * size + b"}", {HEADER: WEBHOOK_SECRET}))
        assert status == 413
    _assert_alive(live)
    assert live.snapshot() == before


def _message(uid: int, chat: int, text: str) -> dict[str, Any]:
    return {
        "update_id": uid,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "text": text,
            "chat": {"id": chat, "type": "private", "first_name": "x"},
            "from": {"id": chat, "is_bot": False, "first_name": "陌生人"},
        },
    }


def _callback(uid: int, chat: int, data: str) -> dict[str, Any]:
    bot_msg = {
        "message_id": 99,
        "date": 1_700_000_000,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": 123456, "is_bot": True, "first_name": "上城助手"},
        "text": "…",
    }
    return {
        "update_id": uid,
        "callback_query": {
            "id": f"{uid}",
            "chat_instance": "1",
            "data": data,
            "from": {"id": chat, "is_bot": False, "first_name": "陌生人"},
            "message": bot_msg,
        },
    }


def test_hostile_updates_get_a_reply_and_create_no_case(live) -> None:  # type: ignore[no-untyped-def]
    hook = live.bot.webhook_url
    before = live.snapshot()

    @FUZZ
    @given(
        chat=user_ids,
        kind=st.sampled_from(["text", "text", "callback"]),
        text=hostile_text,
        data=forged_callback,
    )
    def case(chat: int, kind: str, text: str, data: str) -> None:
        uid = next(_ids)
        live.fake.add_chat(chat)
        sent_before = len(live.fake.by_chat.get(chat, []))
        update = _message(uid, chat, text) if kind == "text" else _callback(uid, chat, data)
        status, answer = live.run(
            _post(
                hook,
                json.dumps(update).encode(),
                {HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"},
            )
        )
        assert status == 200, (status, answer)
        # The webhook answers once the turn is committed; its reply follows from the chat's send queue.
        live.run(live.fake.wait_sent(chat, sent_before + 1, 10))
        replies = live.fake.by_chat.get(chat, [])[sent_before:]
        assert replies, f"no reply to {kind} {(text if kind == 'text' else data)[:60]!r}"
        assert all(r.text.strip() for r in replies)
        assert not any("Traceback" in r.text or "Error" in r.text for r in replies)

    case()
    _assert_alive(live)
    after = live.snapshot()
    for key in ("cases", "case_events", "outbox", "timers", "checksum"):
        assert after[key] == before[key], (key, before[key], after[key])
