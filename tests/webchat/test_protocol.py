"""The WebSocket protocol: a message in, the conversation's reply out, acknowledged and kept until then."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from webchat_helpers import EchoBot, open_chat, receive

from bot.http import build_web_app
from bot.webchat import WebChat, chat_id_for, new_token
from handlers.messages import Channel, Outgoing, Reply


async def test_page_is_served_with_a_strict_policy(client: TestClient) -> None:
    r = await client.get("/")
    assert r.status == 200
    body = await r.text()
    assert '<html lang="zh-CN">' in body
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    for name in ("app.js", "app.css"):
        r = await client.get(f"/webchat/static/{name}")
        assert r.status == 200, name
    assert (await client.get("/webchat/static/..%2Fserver.py")).status == 404
    assert (await client.get("/webchat/static/nothing.js")).status == 404
    cfg = await (await client.get("/webchat/config")).json()
    assert cfg["max_text"] == 4000 and cfg["voice"] is False


async def test_text_gets_the_reply_then_done(client: TestClient, echo: EchoBot) -> None:
    token = new_token()
    ws, hello = await open_chat(client, token)
    assert hello["next"] == 1
    await ws.send_json({"type": "text", "id": "m0000001", "text": "你好"})
    reply = await receive(ws)
    assert reply == {
        "type": "reply",
        "seq": 1,
        "text": "您说：你好",
        "buttons": [],
        "keyboard": None,
        "remove_keyboard": False,
        "photo": None,
    }
    assert await receive(ws) == {"type": "done", "id": "m0000001"}
    [inbound] = echo.inbounds
    chat_id = chat_id_for(token)
    assert inbound.channel is Channel.WEB
    assert inbound.chat_id == inbound.user_id == chat_id
    assert token not in chat_id  # only a hash of the token is ever stored
    assert inbound.update_key == f"{chat_id}:m0000001"
    assert inbound.text == "你好"
    await ws.close()


async def test_buttons_are_drawn_by_kind(client: TestClient) -> None:
    ws, _ = await open_chat(client, new_token())
    await ws.send_json({"type": "text", "id": "m0000001", "text": "/start"})
    reply = await receive(ws)
    assert reply["buttons"] == []
    assert [[b["kind"] for b in row] for row in reply["keyboard"]] == [
        ["share_phone"],
        ["share_location"],
        ["text"],
    ]
    await receive(ws)  # done
    await ws.send_json({"type": "text", "id": "m0000002", "text": "菜单"})
    reply = await receive(ws)
    assert reply["keyboard"] is None
    assert reply["buttons"] == [
        [{"label": "我的事项", "data": "menu|my", "kind": "callback"}],
        [{"label": "帮助", "data": "menu|help", "kind": "callback"}],
    ]
    await receive(ws)
    await ws.send_json({"type": "button", "id": "m0000003", "data": "menu|my"})
    assert (await receive(ws))["text"] == "您按了：menu|my"
    await receive(ws)
    await ws.send_json({"type": "contact", "id": "m0000004", "phone": "138 0000-1234"})
    reply = await receive(ws)
    assert reply["text"] == "电话已记下：13800001234" and reply["remove_keyboard"] is True
    await receive(ws)
    await ws.send_json({"type": "location", "id": "m0000005", "lat": 30.25, "lon": 120.17})
    assert (await receive(ws))["text"] == "位置：30.2500,120.1700"
    await ws.close()


async def test_a_resent_message_is_answered_once(client: TestClient, echo: EchoBot) -> None:
    token = new_token()
    ws, _ = await open_chat(client, token)
    await ws.send_json({"type": "text", "id": "again0001", "text": "路灯坏了"})
    assert (await receive(ws))["seq"] == 1
    assert await receive(ws) == {"type": "done", "id": "again0001"}
    await ws.close()
    # The page did not see "done" (say the socket dropped) and sends the same message again.
    ws, _hello = await open_chat(client, token)
    assert (await receive(ws))["seq"] == 1  # the reply was not acknowledged: sent again
    await ws.send_json({"type": "ack", "seq": 1})
    await ws.send_json({"type": "text", "id": "again0001", "text": "路灯坏了"})
    assert await receive(ws) == {"type": "done", "id": "again0001"}  # no second answer
    assert len(echo.inbounds) == 2 and echo.inbounds[0].update_key == echo.inbounds[1].update_key
    await ws.close()


async def test_unacknowledged_replies_come_again_and_acknowledged_ones_do_not(
    client: TestClient, webchat: WebChat
) -> None:
    token = new_token()
    ws, _ = await open_chat(client, token)
    for n in range(1, 4):
        await ws.send_json({"type": "text", "id": f"msg0000{n}", "text": f"第{n}条"})
        assert (await receive(ws))["seq"] == n
        await receive(ws)
    await ws.send_json({"type": "ack", "seq": 2})
    await ws.close()
    ws, hello = await open_chat(client, token)
    assert hello["next"] == 4
    replay = await receive(ws)
    assert (replay["seq"], replay["text"]) == (3, "您说：第3条")
    await ws.send_json({"type": "ack", "seq": 3})
    await ws.send_json({"type": "text", "id": "msg00004", "text": "第4条"})
    assert (await receive(ws))["seq"] == 4
    await receive(ws)
    _, pending = await webchat.mailbox.pending(chat_id_for(token))
    assert [f["seq"] for f in pending] == [4]
    await ws.close()


async def test_a_notification_waits_on_disk_for_the_page_even_across_a_restart(
    echo: EchoBot, tmp_path: Path
) -> None:
    token = new_token()
    chat_id = chat_id_for(token)
    first = WebChat(echo, data_dir=tmp_path)
    message_id = await first.sender.send(chat_id, Reply("您的工单 SC2024 已办结。"))
    assert message_id == f"{chat_id}:1"
    # The process restarts: a new WebChat over the same data folder.
    second = WebChat(echo, data_dir=tmp_path)
    app = build_web_app(1 << 16)
    second.install(app)
    async with TestClient(TestServer(app)) as client:
        ws, hello = await open_chat(client, token)
        assert hello["next"] == 2
        assert (await receive(ws))["text"] == "您的工单 SC2024 已办结。"
        await ws.close()


async def test_a_notification_reaches_every_open_tab_at_once(client: TestClient, webchat: WebChat) -> None:
    token = new_token()
    tab1, _ = await open_chat(client, token)
    tab2, _ = await open_chat(client, token)
    other, _ = await open_chat(client, new_token())
    await webchat.sender.send(chat_id_for(token), Reply("部门已受理"))
    assert (await receive(tab1))["text"] == "部门已受理"
    assert (await receive(tab2))["text"] == "部门已受理"
    # Nothing for another chat: its next frame is the answer to its own message.
    await other.send_json({"type": "text", "id": "other001", "text": "在吗"})
    assert (await receive(other))["text"] == "您说：在吗"
    for ws in (tab1, tab2, other):
        await ws.close()


async def test_replies_for_other_channels_go_to_the_router(echo: EchoBot, tmp_path: Path) -> None:
    routed: list[Outgoing] = []

    async def router(out: Outgoing) -> None:
        routed.append(out)

    staff_alert = Outgoing(Channel.TELEGRAM, "-100123", Reply("新工单"))
    echo.also.append(staff_alert)
    chat = WebChat(echo, data_dir=tmp_path, router=router)
    app = build_web_app(1 << 16)
    chat.install(app)
    async with TestClient(TestServer(app)) as client:
        ws, _ = await open_chat(client, new_token())
        await ws.send_json({"type": "text", "id": "route0001", "text": "路灯坏了"})
        assert (await receive(ws))["text"] == "您说：路灯坏了"
        assert (await receive(ws))["type"] == "done"
        await ws.close()
    assert routed == [staff_alert]


async def test_a_failing_conversation_gives_a_plain_error_not_a_trace(tmp_path: Path) -> None:
    async def broken(_inbound: object) -> list[Outgoing]:
        raise RuntimeError("database is down")

    chat = WebChat(broken, data_dir=tmp_path)
    app = build_web_app(1 << 16)
    chat.install(app)
    async with TestClient(TestServer(app)) as client:
        ws, _ = await open_chat(client, new_token())
        await ws.send_json({"type": "text", "id": "boom00001", "text": "你好"})
        err = await receive(ws)
        assert err["type"] == "error" and err["code"] == "busy" and err["id"] == "boom00001"
        assert "database" not in json.dumps(err, ensure_ascii=False)
        await ws.close()
