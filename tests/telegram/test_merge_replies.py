"""A turn's plain texts are joined to the next reply, so a turn is fewer Telegram messages."""

from __future__ import annotations

import asyncio

from telegram_helpers import USER, ChannelFactory

from bot.telegram.channel import merge_replies
from bot.telegram.convert import MAX_TEXT
from handlers.messages import Button, Channel, Inbound, Outgoing, Reply
from tests.fakes.botapi import FakeBotApi

BUTTONS = ((Button("对，就办这个", "confirm|1"),),)


def out(text: str, key: str, **kw: object) -> Outgoing:
    return Outgoing(Channel.TELEGRAM, "42", Reply(text, **kw), outbox_key=key)  # type: ignore[arg-type]


def test_plain_texts_join_the_next_reply_with_a_blank_line() -> None:
    merged = merge_replies(
        [out("我听到的是：水管漏了", "k0"), out("收到", "k1"), out("是想报修吗？", "k2", buttons=BUTTONS)]
    )
    assert len(merged) == 1
    reply, keys = merged[0]
    assert reply.reply.text == "我听到的是：水管漏了\n\n收到\n\n是想报修吗？"
    assert reply.reply.buttons == BUTTONS and reply.outbox_key == "k2"
    assert keys == ["k0", "k1", "k2"]


def test_buttons_photos_keyboard_removal_other_chats_and_length_stop_the_merge() -> None:
    cases = [
        [out("a", "k0", buttons=BUTTONS), out("b", "k1")],
        [out("a", "k0", photo_ref="file-1"), out("b", "k1")],
        [out("a", "k0"), out("b", "k1", photo_ref="file-1")],
        [out("a", "k0", remove_keyboard=True), out("b", "k1")],
        [out("a", "k0"), Outgoing(Channel.TELEGRAM, "43", Reply("b"), outbox_key="k1")],
        [out("a" * (MAX_TEXT - 3), "k0"), out("bb", "k1")],
    ]
    for outs in cases:
        merged = merge_replies(outs)
        assert [m.reply for m, _ in merged] == [o.reply for o in outs]
        assert [keys for _, keys in merged] == [["k0"], ["k1"]]
    exactly = merge_replies([out("a" * (MAX_TEXT - 3), "k0"), out("b", "k1")])
    assert len(exactly) == 1 and len(exactly[0][0].reply.text) == MAX_TEXT


async def test_one_message_for_a_turn_and_every_outbox_key_marked(
    fake: FakeBotApi, polling_channel: ChannelFactory
) -> None:
    delivered: list[dict[str, str | None]] = []

    async def answer(i: Inbound) -> list[Outgoing]:
        return [
            Outgoing(i.channel, i.chat_id, Reply("已记下"), outbox_key="reply:a:0"),
            Outgoing(i.channel, i.chat_id, Reply("请问地址？", BUTTONS), outbox_key="reply:a:1"),
        ]

    await polling_channel(on_inbound=answer, on_delivered=delivered.append)
    fake.send_text(USER, "水管漏了")
    reply = await fake.wait_for_reply(USER)
    assert reply["text"] == "已记下\n\n请问地址？"
    assert reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "confirm|1"
    for _ in range(100):
        if delivered:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    assert len(fake.sent_to(USER)) == 1
    assert delivered == [{"reply:a:0": str(reply["message_id"]), "reply:a:1": str(reply["message_id"])}]
