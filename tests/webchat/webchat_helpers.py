"""Helpers of the web chat tests: a stand-in conversation and socket helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from handlers.messages import Button, ButtonKind, Channel, Inbound, Outgoing, Reply

MAX_BODY = 64 * 1024
"""The tests' http.max_body_bytes: small, so that the limits are cheap to reach."""


@dataclass
class EchoBot:
    """Answers each kind of message so the channel can be seen working end to end. It
    de-duplicates by update_key the way the real conversation does."""

    inbounds: list[Inbound] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    also: list[Outgoing] = field(default_factory=list)  # extra Outgoing returned with every answer

    async def __call__(self, inbound: Inbound) -> list[Outgoing]:
        self.inbounds.append(inbound)
        if inbound.update_key is not None:
            if inbound.update_key in self.seen:
                return []
            self.seen.add(inbound.update_key)
        return [Outgoing(inbound.channel, inbound.chat_id, self.answer(inbound)), *self.also]

    @staticmethod
    def answer(i: Inbound) -> Reply:
        if i.callback_data is not None:
            return Reply(f"您按了：{i.callback_data}")
        if i.phone is not None:
            return Reply(f"电话已记下：{i.phone}", remove_keyboard=True)
        if i.location is not None:
            return Reply(f"位置：{i.location[0]:.4f},{i.location[1]:.4f}")
        if i.photo is not None:
            return Reply(f"照片：{i.photo.mime} {i.photo.size} 字节 说明：{i.text or '无'}")
        if i.transcript is not None:
            return Reply(f"听到：{i.transcript.text}")
        text = i.text or ""
        if text == "/start":
            return Reply(
                "您好！先留个电话吧。",
                ((Button("📱 留下电话", kind=ButtonKind.SHARE_PHONE),),
                 (Button("📍 发送位置", kind=ButtonKind.SHARE_LOCATION),),
                 (Button("跳过", kind=ButtonKind.TEXT),)),
            )  # fmt: skip
        if text == "菜单":
            return Reply("请选择：", ((Button("我的事项", "menu|my"),), (Button("帮助", "menu|help"),)))
        return Reply(f"您说：{text}")


def web_outgoing(chat_id: str, text: str) -> Outgoing:
    return Outgoing(Channel.WEB, chat_id, Reply(text))


async def receive(ws: ClientWebSocketResponse, wait_s: float = 5) -> dict[str, Any]:
    frame: dict[str, Any] = await ws.receive_json(timeout=wait_s)
    return frame


async def open_chat(client: TestClient, token: str) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    """Connect and read the hello frame."""
    ws = await client.ws_connect(f"/ws?chat={token}")
    hello = await receive(ws)
    assert hello["type"] == "hello"
    return ws, hello
