"""Update → Inbound and Reply → Bot API calls, on Telegram's own JSON shapes."""

from __future__ import annotations

from typing import Any

from telegram import Bot, ReplyKeyboardRemove, Update

from bot.telegram.convert import KEYBOARD_PROMPT, Rejected, split_text, to_inbound, to_send_calls
from handlers.messages import Button, ButtonKind, Reply

BOT = Bot("1:x")


def message(**content: Any) -> Update:
    return Update.de_json(
        {
            "update_id": 77,
            "message": {
                "message_id": 5,
                "date": 1700000000,
                "chat": {"id": -42, "type": "group", "title": "网格群"},
                "from": {"id": 9, "is_bot": False, "first_name": "王", "last_name": "芳"},
                **content,
            },
        },
        BOT,
    )


def test_text_and_command_entities() -> None:
    plain = to_inbound(message(text="路灯坏了"))
    assert not isinstance(plain, Rejected) and plain is not None
    assert (plain.text, plain.chat_id, plain.user_id, plain.is_group, plain.display_name) == (
        "路灯坏了",
        "-42",
        "9",
        True,
        "王 芳",
    )
    assert plain.update_key == "tg:77" and plain.extra == {}
    cmd = to_inbound(
        message(
            text="/my@shangcheng_bot  全部", entities=[{"type": "bot_command", "offset": 0, "length": 18}]
        )
    )
    assert cmd is not None and not isinstance(cmd, Rejected)
    assert (cmd.text, cmd.extra) == ("/my 全部", {"command": "my"})
    # A slash without the entity (e.g. pasted text) is plain text.
    assert getattr(to_inbound(message(text="/my")), "extra", None) == {}


def test_contacts_photos_voice_and_the_rest() -> None:
    assert (
        to_inbound(message(contact={"phone_number": "138 0000 0001", "first_name": "王", "user_id": 10}))
        is Rejected.FOREIGN_CONTACT
    )
    assert (
        to_inbound(message(contact={"phone_number": "13800000001", "first_name": "王"}))
        is Rejected.FOREIGN_CONTACT
    )  # a contact card with no Telegram user behind it
    own = to_inbound(message(contact={"phone_number": "+86 138 0000 0001", "first_name": "王", "user_id": 9}))
    assert getattr(own, "phone", None) == "+8613800000001"
    sizes = [
        {"file_id": "big", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 90000},
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 68, "file_size": 900},
    ]
    photo = to_inbound(message(photo=sizes, caption="井盖松了"))
    assert photo is not None and not isinstance(photo, Rejected) and photo.photo is not None
    assert (photo.photo.ref, photo.photo.size, photo.text) == ("big", 90000, "井盖松了")
    voice = to_inbound(
        message(voice={"file_id": "v", "file_unique_id": "vu", "duration": 7, "file_size": 3000})
    )
    assert voice is not None and not isinstance(voice, Rejected) and voice.voice is not None
    assert (voice.voice.ref, voice.voice.duration_s, voice.voice.mime, voice.text) == (
        "v",
        7.0,
        "audio/ogg",
        None,
    )
    loc = to_inbound(message(location={"latitude": 30.25, "longitude": 120.17}))
    assert getattr(loc, "location", None) == (30.25, 120.17)
    assert to_inbound(message(dice={"emoji": "🎲", "value": 3})) is Rejected.UNSUPPORTED
    edited = Update.de_json(
        {
            "update_id": 78,
            "edited_message": {
                "message_id": 5,
                "date": 1700000000,
                "edit_date": 1700000001,
                "text": "改了",
                "chat": {"id": 9, "type": "private"},
                "from": {"id": 9, "is_bot": False, "first_name": "王"},
            },
        },
        BOT,
    )
    assert to_inbound(edited) is None


def test_split_text_keeps_lines_whole() -> None:
    text = "\n".join(f"{n:04d}" + "字" * 996 for n in range(9))  # 9 lines of 1,000 characters
    pieces = split_text(text)
    assert [len(p) for p in pieces] == [4003, 4003, 1000]  # 4 lines and their 3 line breaks
    assert "\n".join(pieces) == text
    one_huge_line = "长" * 9000
    assert [len(p) for p in split_text(one_huge_line)] == [4096, 4096, 808]
    assert split_text("短") == ["短"]


def test_reply_drawing() -> None:
    inline = to_send_calls("1", Reply("选一个", ((Button("好", "ok"), Button("不", "redo")),)))
    assert [c.method for c in inline] == ["send_message"]
    assert inline[0].kwargs["reply_markup"].inline_keyboard[0][1].callback_data == "redo"
    big = to_send_calls("1", Reply("菜单", ((Button("我的事项", kind=ButtonKind.TEXT),),)))
    kb = big[0].kwargs["reply_markup"]
    assert kb.keyboard[0][0].text == "我的事项" and kb.resize_keyboard and not kb.one_time_keyboard
    removed = to_send_calls("1", Reply("好的", remove_keyboard=True))
    assert isinstance(removed[0].kwargs["reply_markup"], ReplyKeyboardRemove)
    mixed = to_send_calls(
        "1", Reply("欢迎", ((Button("跳过", "skip|x"),), (Button("电话", kind=ButtonKind.SHARE_PHONE),)))
    )
    assert [c.kwargs["text"] for c in mixed] == ["欢迎", KEYBOARD_PROMPT]
    assert mixed[1].kwargs["reply_markup"].keyboard[0][0].request_contact
    long_with_buttons = to_send_calls("1", Reply("行\n" * 3000, ((Button("好", "ok"),),)))
    assert len(long_with_buttons) == 2 and "reply_markup" not in long_with_buttons[0].kwargs
    assert "reply_markup" in long_with_buttons[1].kwargs  # buttons under the end of the text
    photo = to_send_calls("1", Reply("办结照片", photo_ref="AgAC1"))
    assert [(c.method, c.kwargs.get("caption")) for c in photo] == [("send_photo", "办结照片")]
