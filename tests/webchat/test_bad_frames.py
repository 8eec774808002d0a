"""Every bad frame gets a clear error frame; the connection stays; nothing reaches the conversation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from webchat_helpers import MAX_BODY, EchoBot, open_chat, receive

from bot.webchat import WebChat, chat_id_for, new_token
from bot.webchat.texts import ERRORS

BAD: list[tuple[str, Any, str]] = [
    ("not json", "{type: text", "bad_json"),
    ("json but not an object", "[1, 2]", "bad_json"),
    ("a lone surrogate", '{"type": "text", "id": "m0000001", "text": "\\ud800"}', "control_chars"),
    ("unknown type", {"type": "sticker", "id": "m0000001"}, "unknown_type"),
    ("no type", {"id": "m0000001", "text": "hi"}, "unknown_type"),
    ("no message id", {"type": "text", "text": "你好"}, "bad_id"),
    ("a message id with odd characters", {"type": "text", "id": "../../etc", "text": "你好"}, "bad_id"),
    ("text not a string", {"type": "text", "id": "m0000001", "text": 12}, "bad_field"),
    ("empty text", {"type": "text", "id": "m0000001", "text": "   "}, "empty"),
    ("text over 4000 characters", {"type": "text", "id": "m0000001", "text": "灯" * 4001}, "too_long"),
    ("a control character", {"type": "text", "id": "m0000001", "text": "路灯\x00坏了"}, "control_chars"),
    ("an escape sequence", {"type": "text", "id": "m0000001", "text": "\x1b[31m红"}, "control_chars"),
    ("button data over 64 bytes", {"type": "button", "id": "m0000001", "data": "x" * 65}, "bad_button"),
    ("button data missing", {"type": "button", "id": "m0000001"}, "bad_button"),
    ("a phone that is not one", {"type": "contact", "id": "m0000001", "phone": "call me"}, "bad_phone"),
    ("a phone too short", {"type": "contact", "id": "m0000001", "phone": "12345"}, "bad_phone"),
    ("latitude out of range", {"type": "location", "id": "m0000001", "lat": 91, "lon": 120}, "bad_location"),
    ("a location of booleans", {"type": "location", "id": "m0000001", "lat": True, "lon": False},
     "bad_location"),
    ("a location as text", {"type": "location", "id": "m0000001", "lat": "30", "lon": "120"}, "bad_location"),
    ("NaN", '{"type": "location", "id": "m0000001", "lat": NaN, "lon": 120}', "bad_location"),
    ("a photo with no ref", {"type": "photo", "id": "m0000001"}, "bad_ref"),
    ("a photo ref that was never uploaded", {"type": "photo", "id": "m0000001",
                                            "ref": "photo_AAAAAAAAAAAAAAAAAAAAAA"}, "bad_ref"),
    ("a voice ref that is a path", {"type": "voice", "id": "m0000001", "ref": "../../etc/passwd"}, "bad_ref"),
    ("ack with a negative seq", {"type": "ack", "seq": -1}, "bad_field"),
    ("a frame over the frame limit", {"type": "text", "id": "m0000001", "text": "x" * 30_000}, "too_big"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "code"), [pytest.param(raw, code, id=name) for name, raw, code in BAD])
async def test_bad_frame_gets_an_error_and_changes_nothing(
    client: TestClient, echo: EchoBot, webchat: WebChat, raw: Any, code: str
) -> None:
    token = new_token()
    ws, _ = await open_chat(client, token)
    await ws.send_str(raw if isinstance(raw, str) else json.dumps(raw))
    err = await receive(ws)
    assert err["type"] == "error"
    assert err["code"] == code
    assert err["message"] == ERRORS[code].format(limit=4000)
    assert echo.inbounds == []
    assert await webchat.mailbox.pending(chat_id_for(token)) == (1, [])
    # The connection is kept: the next good message is answered.
    await ws.send_json({"type": "text", "id": "good0001", "text": "你好"})
    assert (await receive(ws))["text"] == "您说：你好"
    await ws.close()


async def test_binary_frame_gets_an_error_and_the_connection_stays(client: TestClient, echo: EchoBot) -> None:
    ws, _ = await open_chat(client, new_token())
    await ws.send_bytes(b"\x00\x01binary")
    err = await receive(ws)
    assert (err["type"], err["code"]) == ("error", "binary")
    await ws.send_json({"type": "text", "id": "good0001", "text": "你好"})
    assert (await receive(ws))["text"] == "您说：你好"
    assert len(echo.inbounds) == 1
    await ws.close()


async def test_a_message_over_the_body_limit_closes_the_socket_with_1009(
    client: TestClient, echo: EchoBot
) -> None:
    # Over http.max_body_bytes the server does not even read it: the socket closes with "too big",
    # and the page reconnects by itself.
    ws, _ = await open_chat(client, new_token())
    await ws.send_str("x" * (MAX_BODY + 1))
    msg = await ws.receive(timeout=5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert ws.close_code == 1009
    assert echo.inbounds == []


@pytest.mark.parametrize("query", ["", "?chat=", "?chat=short", "?chat=" + "A" * 21 + "!"])
async def test_a_socket_without_a_good_token_is_refused(client: TestClient, query: str) -> None:
    r = await client.get(
        f"/ws{query}",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert r.status == 400
    assert (await r.json())["ok"] is False


async def test_a_socket_from_another_site_is_refused(client: TestClient) -> None:
    r = await client.get(f"/ws?chat={new_token()}", headers={
        "Origin": "http://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})  # fmt: skip
    assert r.status == 403


async def test_flooding_is_rate_limited_per_connection(client: TestClient, echo: EchoBot) -> None:
    ws, _ = await open_chat(client, new_token())
    for n in range(20):
        await ws.send_json({"type": "text", "id": f"flood{n:04d}", "text": f"第{n}条"})
    frames = []
    while True:
        try:
            frames.append(await receive(ws, wait_s=1))
        except TimeoutError:
            break
    rate_errors = [f for f in frames if f["type"] == "error" and f["code"] == "rate"]
    answered = [f for f in frames if f["type"] == "reply"]
    assert len(rate_errors) == 1  # said once, not once per dropped frame
    assert 8 <= len(echo.inbounds) < 20  # the burst passes, the rest is dropped
    assert len(answered) == len(echo.inbounds)
    await ws.close()
    # Another connection (another person) is not held back by this one.
    other, _ = await open_chat(client, new_token())
    await other.send_json({"type": "text", "id": "calm00001", "text": "你好"})
    assert (await receive(other))["text"] == "您说：你好"
    await other.close()
