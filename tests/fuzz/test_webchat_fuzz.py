"""Fuzz the web chat WebSocket of the running service: every frame gets a clear answer (an error
frame that says what to do, or a reply), a frame over the size limit closes the socket with 1009,
a bad token is refused at the handshake; the process and /health stay fine and no case changes."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import aiohttp
import pytest
from hostile import SQL, forged_callback, hostile_text, json_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _id() -> str:
    return secrets.token_urlsafe(12)


@st.composite
def frames(draw: st.DrawFn) -> str | bytes:
    """One frame as sent on the socket: text (JSON or not) or binary."""
    kind = draw(
        st.sampled_from(
            [
                "text",
                "text",
                "button",
                "contact",
                "location",
                "media",
                "ack",
                "junk",
                "binary",
                "value",
                "bad_id",
            ]
        )
    )
    if kind == "text":
        return json.dumps({"type": "text", "id": _id(), "text": draw(hostile_text)})
    if kind == "button":
        return json.dumps({"type": "button", "id": _id(), "data": draw(forged_callback)})
    if kind == "contact":
        return json.dumps(
            {
                "type": "contact",
                "id": _id(),
                "phone": draw(st.one_of(st.text(max_size=50), st.sampled_from(SQL))),
            }
        )
    if kind == "location":
        return json.dumps(
            {"type": "location", "id": _id(), "lat": draw(json_values), "lon": draw(json_values)}
        )
    if kind == "media":
        return json.dumps(
            {
                "type": draw(st.sampled_from(["photo", "voice"])),
                "id": _id(),
                "ref": draw(st.one_of(st.text(max_size=40), st.just("photo_" + "A" * 22))),
            }
        )
    if kind == "ack":
        return json.dumps({"type": "ack", "seq": draw(json_values)})
    if kind == "junk":
        return draw(st.text(max_size=200))
    if kind == "binary":
        return draw(st.binary(min_size=1, max_size=200))
    if kind == "value":
        return json.dumps(draw(json_values))
    return json.dumps({"type": "text", "id": draw(st.text(max_size=50)), "text": "你好"})


async def _exchange(base: str, frame: str | bytes) -> list[dict[str, Any]]:
    """Open a fresh chat, send one frame, return what the server answers until it goes quiet."""
    got: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base}/ws?chat={secrets.token_urlsafe(16)}") as ws,
    ):
        hello = await ws.receive_json(timeout=10)
        assert hello["type"] == "hello"
        try:
            await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
        except (ConnectionError, aiohttp.ClientError):
            return [{"type": "closed", "code": ws.close_code}]  # the server closed on us mid-frame
        while True:
            try:
                msg = await ws.receive(timeout=1.5 if got else 15)
            except TimeoutError:
                break
            if msg.type is not aiohttp.WSMsgType.TEXT:
                got.append({"type": "closed", "code": ws.close_code})
                break
            got.append(json.loads(msg.data))
            if got[-1]["type"] in ("done", "error"):
                break
    return got


def test_every_frame_gets_a_clear_answer(live) -> None:  # type: ignore[no-untyped-def]
    before = live.snapshot()

    @FUZZ
    @given(frame=frames())
    def case(frame: str | bytes) -> None:
        got = live.run(_exchange(live.url, frame))
        assert got, f"no answer to {frame[:80]!r}"
        last = got[-1]
        if last["type"] == "error":
            assert last["message"] and last["code"]
        elif last["type"] == "done":
            # A message the conversation handled: it said something first.
            assert any(g["type"] == "reply" and g["text"].strip() for g in got), got
        elif last["type"] == "ack" or not isinstance(frame, str):
            pytest.fail(f"unexpected answer {got} to {frame[:80]!r}")
        else:
            assert last["type"] in ("reply",), got

    case()
    # Oversize frames close the socket with 1009; a bad or missing token is refused at the handshake.
    got = live.run(_exchange(live.url, json.dumps({"type": "text", "id": _id(), "text": "大" * (1 << 20)})))
    assert got[-1]["type"] == "closed" and got[-1]["code"] in (1009, None), got

    async def handshake(query: str) -> int:
        async with aiohttp.ClientSession() as http, http.get(f"{live.url}/ws{query}") as r:
            return r.status

    for query in ("", "?chat=", "?chat=' OR 1=1 --", "?chat=" + "A" * 21, "?chat=" + "\u00e9" * 22):
        assert live.run(handshake(query)) == 400
    assert live.bot.proc.poll() is None
    after = live.snapshot()
    for key in ("cases", "case_events", "outbox", "timers", "checksum"):
        assert after[key] == before[key], (key, before[key], after[key])


async def _flood(base: str, frame: str | bytes, count: int = 300) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base}/ws?chat={secrets.token_urlsafe(16)}") as ws,
    ):
        await ws.receive_json(timeout=10)
        for _ in range(count):
            await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
        await asyncio.sleep(0.5)
        got = []
        while True:
            try:
                got.append(await ws.receive_json(timeout=1))
            except (TimeoutError, TypeError):
                break
        return got


def test_a_flood_of_junk_text_is_not_answered_frame_by_frame(live) -> None:  # type: ignore[no-untyped-def]
    got = live.run(_flood(live.url, "{not json"))
    # Answered, but not 300 times: junk beyond the burst is dropped silently.
    assert 1 <= len(got) < 50 and all(g["type"] == "error" for g in got), len(got)
    assert live.bot.proc.poll() is None


def test_a_flood_of_binary_frames_is_not_answered_frame_by_frame(live) -> None:  # type: ignore[no-untyped-def]
    got = live.run(_flood(live.url, b"\x00\xff"))
    assert live.bot.proc.poll() is None
    assert len(got) < 50, len(got)
