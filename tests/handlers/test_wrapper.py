"""The wrapper around every message: bad input, re-delivered updates, forged buttons, restarts, errors."""

from __future__ import annotations

from dataclasses import replace

from conversation_script import Chat, Clock, build, press, press_data, say
from sqlalchemy import func, select, text

from catalog.model import Catalog
from handlers.conversation import ConversationService
from handlers.messages import Channel, Inbound
from nlu.embedded.parser import EmbeddedParser
from storage.database import Database


async def counts(db: Database) -> dict[str, int]:
    out = {}
    async with db.uow(read_only=True) as uow:
        for table in ("people", "cases", "conversations", "inbound_updates", "case_events"):
            out[table] = (
                await uow.connection.execute(select(func.count()).select_from(text(table)))
            ).scalar_one()
    return out


async def test_bad_input_gets_a_clear_reply_and_changes_nothing(
    service: ConversationService, clock: Clock, db: Database
) -> None:
    before = await counts(db)
    stranger = Chat(service, clock, "9001", "陌生人")
    cases = {
        "": "没有收到内容",
        "   \n\t ": "没有收到内容",
        "路灯坏了" * 1001: "太长了",
        "路灯\x00坏了\x07": "看不懂的字符",
        "\ufffd\ufffd": "看不懂的字符",
    }
    for sent, expected in cases.items():
        replies = await stranger.send(stranger.inbound(text=sent))
        assert len(replies) == 1 and expected in replies[0].text and len(replies[0].text) < 60
        assert replies[0].buttons, "no dead end: a way on is offered"
    await stranger.send(stranger.inbound())  # nothing at all (an unsupported message kind)
    assert "没有收到内容" in stranger.text
    assert await counts(db) == before  # not even the unknown user was recorded


async def test_a_redelivered_update_gives_no_second_reply_and_no_second_case(chat, db: Database) -> None:
    wu = chat("9002", "吴阿姨")
    await wu.run(
        say("我家楼下路灯坏了", "路灯"),
        press("对，就办这个", "在哪里"),
        say("东坡路社区 5幢门口", "照片"),
        press("跳过", "SC-"),
    )
    assert await wu.redeliver() == []
    assert await wu.redeliver() == []
    async with db.uow(read_only=True) as uow:
        person = await uow.people.by_identity("telegram", "9002")
        assert person is not None
        assert len(await uow.cases.list_by_requester(person.id)) == 1


async def test_forged_and_stale_buttons_change_nothing(chat, db: Database) -> None:
    zheng = chat("9003", "郑伯")
    await zheng.run(say("/start", "您好"))
    before = await counts(db)
    await zheng.run(
        press_data("acc|SC-20261128-0001|extra", "按钮已经失效"),
        press_data("nonsense", "按钮已经失效"),
        press_data("sv|SC-20261128-0001|9", "失效"),
        press_data("ok", "过期"),  # a confirm button with no draft behind it
        press_data("dup|SC-20261128-0001|y", "过期"),
        press_data("cx|SC-20261128-0099", "找不到"),
    )
    after = await counts(db)
    assert after["cases"] == before["cases"] and after["case_events"] == before["case_events"]


async def test_a_restart_mid_dialogue_continues_where_it_stopped(
    db: Database, catalog: Catalog, parser: EmbeddedParser, clock: Clock
) -> None:
    first = Chat(build(db, catalog, parser, clock), clock, "9004", "冯阿姨")
    await first.run(say("我家楼下路灯坏了", "路灯"), press("对，就办这个", "在哪里"))
    again = Chat(build(db, catalog, parser, clock), clock, "9004", "冯阿姨")  # a new process, same database
    await again.run(say("东坡路社区 5幢门口", "照片"), press("跳过", "SC-"))


class BrokenParser:
    """The NLU falls over (a fault injected on purpose)."""

    async def parse(self, text: str, *, now: object = None) -> object:
        raise RuntimeError("model file truncated")


async def test_an_error_gets_a_short_apology_and_leaves_the_state_as_it_was(
    db: Database, catalog: Catalog, parser: EmbeddedParser, clock: Clock
) -> None:
    good = Chat(build(db, catalog, parser, clock), clock, "9005", "陈伯")
    await good.run(say("我家楼下路灯坏了", "路灯", buttons=["对，就办这个"]))
    async with db.uow(read_only=True) as uow:
        saved = await uow.conversations.get("telegram", "9005")
    broken_service = build(db, catalog, parser, clock)
    broken_service.deps = replace(broken_service.deps, parser=BrokenParser())  # type: ignore[arg-type]
    broken = Chat(broken_service, clock, "9005", "陈伯")
    (reply,) = await broken.send(broken.inbound(text="小区门口有人乱摆摊"))
    assert reply.text.startswith("抱歉，系统刚才出了点问题") and "Traceback" not in reply.text
    assert "RuntimeError" not in reply.text and "12345" in reply.text
    async with db.uow(read_only=True) as uow:
        assert await uow.conversations.get("telegram", "9005") == saved
    await good.run(press("对，就办这个", "在哪里"))  # the dialogue goes on from the card


async def test_web_chat_is_the_same_conversation(service: ConversationService, clock: Clock) -> None:
    web = Chat(service, clock, "web-abc", "网页访客", channel=Channel.WEB)
    await web.run(say("我家楼下路灯坏了", "您好", "路灯", buttons=["对，就办这个"]))
    assert isinstance(web.sent, Inbound) and web.sent.channel is Channel.WEB
