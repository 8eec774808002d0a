"""The fake Bot API itself behaves like Telegram where our tests rely on it (raw HTTP, no PTB)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp
import pytest

from tests.fakes.botapi import FakeBotApi, Limits

CHAT = 8001


async def call(fake: FakeBotApi, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    async with aiohttp.ClientSession() as s, s.post(f"{fake.base_url}{fake.token}/{method}", data=form) as r:
        return r.status, await r.json()


async def test_get_updates_offset_limit_and_allowed_updates() -> None:
    async with FakeBotApi() as fake:
        a = fake.send_text(CHAT, "一")
        b = fake.send_text(CHAT, "二")
        c = fake.send_text(CHAT, "三")
        _, r = await call(fake, "getUpdates", limit=2)
        assert [u["update_id"] for u in r["result"]] == [a["update_id"], b["update_id"]]
        assert r["result"][0]["message"]["date"] and r["result"][0]["message"]["chat"]["type"] == "private"
        _, r = await call(fake, "getUpdates", offset=b["update_id"])  # confirms a
        assert [u["update_id"] for u in r["result"]] == [b["update_id"], c["update_id"]]
        _, r = await call(fake, "getUpdates", offset=0)
        assert r["result"][0]["update_id"] == b["update_id"]  # a is gone for good
        _, r = await call(fake, "getUpdates", offset=c["update_id"] + 1, timeout=0)
        assert r["result"] == [] and fake.pending_count == 0
        fake.send_text(CHAT, "/start")
        _, r = await call(fake, "getUpdates", allowed_updates=["callback_query"], timeout=0)
        assert r["result"] == []


async def test_long_poll_returns_when_an_update_arrives() -> None:
    async with FakeBotApi() as fake:
        poll = asyncio.create_task(call(fake, "getUpdates", timeout=5))
        await asyncio.sleep(0.2)
        u = fake.send_text(CHAT, "/start")
        _, r = await asyncio.wait_for(poll, 2)
        assert r["result"][0]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
        assert r["result"][0]["update_id"] == u["update_id"]


async def test_send_message_validation_like_telegram() -> None:
    async with FakeBotApi(limits=Limits(enabled=False)) as fake:
        assert (await call(fake, "sendMessage", chat_id=CHAT, text="hi"))[1][
            "description"
        ] == "Bad Request: chat not found"
        fake.add_chat(CHAT)
        assert (await call(fake, "sendMessage", chat_id=CHAT, text="x" * 4097))[0] == 400
        assert (await call(fake, "sendMessage", chat_id=CHAT, text=""))[0] == 400
        assert (await call(fake, "sendMessage", chat_id=CHAT, text="x", parse_mode="BBCode"))[0] == 400
        long_data = {"inline_keyboard": [[{"text": "a", "callback_data": "d" * 65}]]}
        assert (await call(fake, "sendMessage", chat_id=CHAT, text="x", reply_markup=long_data))[1][
            "description"
        ] == "Bad Request: BUTTON_DATA_INVALID"
        status, r = await call(
            fake,
            "sendMessage",
            chat_id=CHAT,
            text="x" * 4096,
            reply_markup={"keyboard": [[{"text": "电话", "request_contact": True}]], "resize_keyboard": True},
        )
        assert status == 200 and "reply_markup" not in r["result"]  # Telegram returns inline markup only
        status, r = await call(fake, "noSuchMethod")
        assert (status, r) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
        async with aiohttp.ClientSession() as s, s.post(f"{fake.base_url}1:wrong/getMe") as resp:
            assert resp.status == 401
        assert [c.method for c in fake.calls][-1] == "noSuchMethod"


async def test_rate_limits_answer_429_with_retry_after() -> None:
    async with FakeBotApi(limits=Limits(per_chat_burst=2, group_per_min=20)) as fake:
        fake.add_chat(CHAT)
        fake.add_chat(-5, chat_type="group")
        statuses = [(await call(fake, "sendMessage", chat_id=CHAT, text=str(n)))[0] for n in range(3)]
        assert statuses == [200, 200, 429]
        _, r = await call(fake, "sendMessage", chat_id=CHAT, text="again")
        assert r["parameters"]["retry_after"] >= 1 and r["description"].startswith(
            "Too Many Requests: retry after"
        )
        fake.limits.per_chat_burst = 100
        fake.limits.per_chat_per_s = 100
        fake._buckets.clear()
        group = [(await call(fake, "sendMessage", chat_id=-5, text=str(n)))[0] for n in range(21)]
        assert group.count(200) == 20 and group[-1] == 429  # 20 per minute in a group


async def test_files_edits_callbacks_and_commands() -> None:
    async with FakeBotApi(limits=Limits(enabled=False)) as fake:
        small = fake.send_voice(CHAT, b"OggS-voice", duration=2)["message"]["voice"]
        big = fake.send_voice(CHAT, b"OggS", duration=900, declared_size=21 << 20)["message"]["voice"]
        _, r = await call(fake, "getFile", file_id=small["file_id"])
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"{fake.base_file_url}{fake.token}/{r['result']['file_path']}") as resp,
        ):
            assert await resp.read() == b"OggS-voice"
        assert (await call(fake, "getFile", file_id=big["file_id"]))[1][
            "description"
        ] == "Bad Request: file is too big"
        _, sent = await call(
            fake,
            "sendMessage",
            chat_id=CHAT,
            text="选",
            reply_markup={"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]},
        )
        mid = sent["result"]["message_id"]
        with pytest.raises(ValueError):
            fake.press_button(CHAT, mid, "forged")  # no such button drawn
        q = fake.press_button(CHAT, mid, "ok")["callback_query"]
        assert (await call(fake, "answerCallbackQuery", callback_query_id=q["id"]))[0] == 200
        assert (await call(fake, "answerCallbackQuery", callback_query_id=q["id"]))[0] == 400
        same = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
        assert (
            await call(fake, "editMessageText", chat_id=CHAT, message_id=mid, text="选", reply_markup=same)
        )[1]["description"].startswith("Bad Request: message is not modified")
        assert (
            await call(fake, "editMessageText", chat_id=CHAT, message_id=mid, text="已选", reply_markup=same)
        )[0] == 200
        assert (await call(fake, "editMessageReplyMarkup", chat_id=CHAT, message_id=mid))[0] == 200
        assert "reply_markup" not in fake.messages[(CHAT, mid)]
        assert (await call(fake, "setMyCommands", commands=[{"command": "Bad!", "description": "x"}]))[
            0
        ] == 400
        assert (await call(fake, "sendChatAction", chat_id=CHAT, action="typing"))[0] == 200


async def test_webhook_conflicts_with_polling_and_is_redelivered_on_errors() -> None:
    from aiohttp import web

    got: list[tuple[str | None, int]] = []

    async def endpoint(request: web.Request) -> web.Response:
        got.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), (await request.json())["update_id"])
        )
        return web.Response(status=500 if len(got) < 3 else 200)

    app = web.Application()
    app.router.add_post("/hook", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with FakeBotApi(webhook_retry_s=0.05) as fake:
            assert (await call(fake, "setWebhook", url=f"http://127.0.0.1:{port}/hook", secret_token="abc"))[
                0
            ] == 200
            assert (await call(fake, "getUpdates"))[0] == 409
            u = fake.send_text(CHAT, "hi")
            await fake.wait_confirmed(u, timeout_s=5)
            assert got == [("abc", u["update_id"])] * 3
    finally:
        await runner.cleanup()


async def test_runs_as_a_separate_process_with_a_control_api() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.botapi", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 20))
        async with aiohttp.ClientSession() as s:
            async with s.post(
                f"{info['control_url']}/updates",
                json=[
                    {"kind": "text", "chat_id": CHAT, "text": "你好"},
                    {"kind": "location", "chat_id": CHAT, "latitude": 30.2, "longitude": 120.1},
                ],
            ) as r:
                made = (await r.json())["result"]
            async with s.get(f"{info['base_url']}{info['token']}/getUpdates") as r:
                ids = [u["update_id"] for u in (await r.json())["result"]]
            assert ids == [m["update_id"] for m in made]
            async with s.post(
                f"{info['base_url']}{info['token']}/sendMessage", data={"chat_id": str(CHAT), "text": "收到"}
            ):
                pass
            async with s.get(f"{info['control_url']}/messages", params={"chat_id": str(CHAT)}) as r:
                assert [m["text"] for m in (await r.json())["result"]] == ["收到"]
            async with s.get(f"{info['control_url']}/calls", params={"method": "getUpdates"}) as r:
                assert len((await r.json())["result"]) == 1
            async with s.get(f"{info['control_url']}/state") as r:
                state = (await r.json())["result"]
            assert set(state["injected_at"]) == {str(i) for i in ids}
    finally:
        proc.terminate()
        await proc.wait()
