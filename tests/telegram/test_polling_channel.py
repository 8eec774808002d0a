"""Polling mode end to end: what a user does in Telegram reaches the conversation and back."""

from __future__ import annotations

import asyncio
import time

from telegram_helpers import GROUP, USER, ChannelFactory, EchoBot

from bot.telegram.channel import TEXT_APOLOGY, TEXT_FOREIGN_CONTACT, TEXT_VOICE_OFF, TEXT_VOICE_TOO_BIG
from handlers.messages import Inbound
from tests.fakes.botapi import FakeBotApi

OGG = b"OggS\x00\x02" + bytes(range(200))


async def test_text_round_trip_and_commands_menu(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    assert [c["command"] for c in fake.commands] == ["start", "help", "my", "cancel"]
    fake.send_text(USER, "我家水管漏水了")
    reply = await fake.wait_for_reply(USER)
    assert reply["text"] == "echo 我家水管漏水了"
    got = echo.seen[0]
    assert (got.chat_id, got.user_id, got.chat_type) == (str(USER), str(USER), "private")
    assert got.update_key is not None and got.update_key.startswith("tg:")
    assert got.at.tzinfo is not None


async def test_command_entity_with_bot_name_and_mixed_buttons(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    fake.send_text(USER, f"/START@{fake.bot_username}")
    first, second = await fake.wait_for_replies(USER, 2)
    assert echo.seen[0].text == "/start" and echo.seen[0].extra["command"] == "start"
    # Telegram takes one markup per message: inline buttons on the answer, the phone button after it.
    assert first["text"] == "欢迎"
    assert [b["callback_data"] for b in first["reply_markup"]["inline_keyboard"][0]] == [
        "menu|my",
        "menu|help",
    ]
    kb = second["reply_markup"]
    assert kb["keyboard"][0][0]["request_contact"] is True
    assert kb["resize_keyboard"] is True and kb["one_time_keyboard"] is True


async def test_callback_query_is_answered_and_reaches_the_conversation(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    fake.send_text(USER, "/start")
    menu, _ = await fake.wait_for_replies(USER, 2)
    fake.press_button(USER, menu["message_id"], "menu|my")
    assert (await fake.wait_for_reply(USER))["text"] == "pressed menu|my"
    assert all(q["answered"] for q in fake.callback_queries.values())
    pressed = echo.seen[-1]
    assert pressed.callback_data == "menu|my" and pressed.extra["message_id"] == str(menu["message_id"])


async def test_own_contact_accepted_foreign_contact_refused(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    fake.share_contact(USER, "+86 138-0571-0001")
    reply = await fake.wait_for_reply(USER)
    assert reply["text"] == "phone +8613805710001"
    assert reply["reply_markup"] == {"remove_keyboard": True}
    fake.share_contact(USER, "13900000000", contact_user_id=999)
    assert (await fake.wait_for_reply(USER))["text"] == TEXT_FOREIGN_CONTACT
    assert [i.phone for i in echo.seen] == ["+8613805710001"]


async def test_photo_largest_size_with_caption_and_location(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    jpeg = b"\xff\xd8\xff" + b"x" * 5000
    fake.send_photo(USER, jpeg, caption="路灯坏了")
    assert (await fake.wait_for_reply(USER))["text"] == "photo 5003 路灯坏了"
    photo = echo.seen[0].photo
    assert photo is not None and fake.files[photo.ref].data == jpeg  # the big one, not the thumbnail
    fake.send_location(USER, 30.2489, 120.1698)
    assert (await fake.wait_for_reply(USER))["text"] == "location 30.2489,120.1698"


async def test_group_chat_messages_carry_the_sender(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    fake.send_text(GROUP, "/my", user_id=USER, chat_type="supergroup")
    await fake.wait_for_reply(GROUP)
    got = echo.seen[0]
    assert (got.chat_id, got.user_id, got.is_group) == (str(GROUP), str(USER), True)


async def test_voice_note_downloaded_and_transcribed(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    heard: list[bytes] = []

    async def transcribe(inbound: Inbound, audio: bytes) -> Inbound:
        from dataclasses import replace

        from handlers.messages import Transcript

        heard.append(audio)
        assert inbound.voice is not None
        return replace(inbound, text="路灯不亮", transcript=Transcript("路灯不亮", "test", inbound.voice.ref))

    await polling_channel(transcribe=transcribe)
    fake.send_voice(USER, OGG, duration=3)
    assert (await fake.wait_for_reply(USER))["text"] == "heard 路灯不亮"
    assert heard == [OGG]
    voice = echo.seen[0].voice
    assert voice is not None and (voice.mime, voice.duration_s, voice.size) == ("audio/ogg", 3.0, len(OGG))
    assert fake.calls_of("sendChatAction")  # the user sees "typing…" while it is heard
    # Over Telegram's 20 MB download limit: refused politely, nothing downloaded.
    fake.send_voice(USER, OGG, duration=600, declared_size=21 * 1024 * 1024)
    assert (await fake.wait_for_reply(USER))["text"] == TEXT_VOICE_TOO_BIG
    assert len(heard) == 1 and len(fake.calls_of("download")) == 1


async def test_voice_without_recognizer_gets_a_polite_answer(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    fake.send_voice(USER, OGG, duration=2)
    assert (await fake.wait_for_reply(USER))["text"] == TEXT_VOICE_OFF
    assert echo.seen == [] and not fake.calls_of("download")


async def test_each_update_processed_once_across_restarts(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    ch = await polling_channel()
    first = fake.send_text(USER, "一")
    await fake.wait_for_reply(USER)
    await ch.stop()  # confirms what it processed
    assert fake.confirmed_offset == first["update_id"] + 1
    fake.send_text(USER, "二")
    await polling_channel()
    assert (await fake.wait_for_reply(USER))["text"] == "echo 二"
    await asyncio.sleep(0.3)
    assert [i.text for i in echo.seen] == ["一", "二"]
    offsets = [c.params.get("offset") for c in fake.calls_of("getUpdates")]
    assert str(first["update_id"] + 1) in offsets


async def test_update_confirmed_only_after_processing(
    fake: FakeBotApi, polling_channel: ChannelFactory
) -> None:
    release = asyncio.Event()
    seen: list[str | None] = []

    async def slow(inbound: Inbound) -> list:
        seen.append(inbound.text)
        await release.wait()
        return []

    await polling_channel(on_inbound=slow)
    u = fake.send_text(USER, "慢")
    await fake.wait_until(lambda: seen == ["慢"])
    await asyncio.sleep(0.3)
    # A crash now must not lose it: Telegram still holds it.
    assert fake.confirmed_offset <= u["update_id"] and fake.pending_count == 1
    release.set()
    await fake.wait_confirmed(u, timeout_s=5)


async def test_a_slow_update_holds_up_neither_other_chats_nor_its_own_confirmation(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    release = asyncio.Event()
    started: list[str] = []
    other = USER + 1

    async def slow_for_one_chat(inbound: Inbound) -> list:
        if inbound.chat_id == str(USER):
            started.append(inbound.chat_id)
            await release.wait()
        return await echo(inbound)

    await polling_channel(on_inbound=slow_for_one_chat)
    slow = fake.send_text(USER, "慢")
    await fake.wait_until(lambda: bool(started))
    fast = fake.send_text(other, "快")
    # The other chat's update arrived after the slow one was taken, and is answered and handled meanwhile.
    assert (await fake.wait_for_reply(other))["text"] == "echo 快"
    await asyncio.sleep(0.3)
    # ...but nothing at or past the slow update is confirmed while it is in hand: a crash now loses nothing.
    assert fake.confirmed_offset <= slow["update_id"] < fast["update_id"]
    release.set()
    assert (await fake.wait_for_reply(USER))["text"] == "echo 慢"
    await fake.wait_confirmed(fast, timeout_s=5)  # both confirmed once the slow one is done


async def test_chat_messages_handled_in_order(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    for n in range(20):
        fake.send_text(USER, str(n))
    replies = await fake.wait_for_replies(USER, 20)
    assert [r["text"] for r in replies] == [f"echo {n}" for n in range(20)]


async def test_429_waits_retry_after_and_delivers_once(
    fake: FakeBotApi, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    fake.fail_next("sendMessage", retry_after=1)
    fake.send_text(USER, "你好")
    reply = await fake.wait_for_reply(USER, timeout_s=5)
    assert reply["text"] == "echo 你好"
    sends = fake.calls_of("sendMessage")
    assert [c.status for c in sends] == [429, 200]
    assert sends[1].at - sends[0].at >= 0.95
    await asyncio.sleep(0.2)
    assert len(fake.sent_to(USER)) == 1


async def test_long_text_split_on_line_boundaries(fake: FakeBotApi, polling_channel: ChannelFactory) -> None:
    await polling_channel()
    fake.send_text(USER, "long:100")  # 100 lines of ~95 characters: about 9,500 characters
    replies = await fake.wait_for_replies(USER, 3)
    assert all(len(r["text"]) <= 4096 for r in replies)
    lines = "\n".join(r["text"] for r in replies).split("\n")
    assert len(lines) == 100 and all(line.startswith(f"第{n}行") for n, line in enumerate(lines))


async def test_conversation_error_gets_an_apology_and_the_bot_goes_on(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    echo.fail_on = "炸"
    await polling_channel()
    fake.send_text(USER, "炸")
    assert (await fake.wait_for_reply(USER))["text"] == TEXT_APOLOGY
    fake.send_text(USER, "还在吗")
    assert (await fake.wait_for_reply(USER))["text"] == "echo 还在吗"


async def test_unsupported_content_and_blocked_user(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    fake._user_message(
        USER,
        None,
        "private",
        "用户",
        sticker={
            "file_id": "s1",
            "file_unique_id": "s1u",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        },
    )
    assert "看不懂" in (await fake.wait_for_reply(USER))["text"]
    fake.block(USER)
    u = fake.send_text(USER, "拉黑以后")
    await fake.wait_confirmed(u)  # a chat that cannot be answered does not stall polling
    assert [c.status for c in fake.calls_of("sendMessage")][-1] == 403
    started = time.monotonic()
    fake.send_text(USER + 1, "别人")
    assert (await fake.wait_for_reply(USER + 1))["text"] == "echo 别人"
    assert time.monotonic() - started < 3


async def test_an_unreadable_update_is_skipped_not_retried_forever(
    fake: FakeBotApi, echo: EchoBot, polling_channel: ChannelFactory
) -> None:
    await polling_channel()
    bad = fake._user_message(USER, None, "private", "用户", sticker={"file_id": "only-half-a-sticker"})
    fake.send_text(USER, "之后")
    assert (await fake.wait_for_reply(USER))["text"] == "echo 之后"
    await fake.wait_confirmed(bad)
