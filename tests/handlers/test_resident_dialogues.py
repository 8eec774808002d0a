"""Residents: unclear requests, things we do not serve, /my, status questions, cancelling, voice, emergencies."""

from __future__ import annotations

from conversation_script import press, say, voice

from handlers.conversation import ConversationService
from nlu.embedded.parser import EmbeddedParser
from storage.database import Database

UNCLEAR = "我妈八十多岁了，想请人上门做饭"  # several services are plausible: the classifier is unsure


async def report_street_light(person) -> str:  # type: ignore[no-untyped-def]
    """A resident reports a broken street light end to end; returns the case number."""
    await person.run(
        say("我家楼下路灯坏了", "您要反映的是", "路灯", buttons=["对，就办这个"]),
        press("对，就办这个", "在哪里", buttons=["发送我的位置", "不办了"]),
        say("东坡路社区 5幢门口", "照片", buttons=["跳过"]),
        press("跳过", "SC-", buttons=["我的事项"]),
    )
    return next(w for w in person.text.replace("：", " ").split() if w.startswith("SC-"))[:16]


async def test_low_confidence_offers_the_top_three_and_none_of_these_goes_to_the_center(
    chat, parser: EmbeddedParser, db: Database, service: ConversationService
) -> None:
    parsed = await parser.parse(UNCLEAR)
    assert parsed.confidence < service.settings.low_confidence, "pick a sentence the model is unsure of"
    top = [
        r.label
        for r in parsed.ranking
        if r.label in service.deps.catalog.services or r.label in service.deps.catalog.case_types
    ][:3]
    names = [service.deps.catalog.service_or_case(c).name for c in top]
    zhao = chat("2001", "赵奶奶")
    await zhao.run(say(UNCLEAR, "是下面哪个", buttons=[*names, "都不是"]))
    await zhao.run(
        press("都不是", "转给区联动中心", "在哪里"),
        say("清波街道 柳翠井巷 8号", "照片"),
        press("跳过", "SC-"),
    )
    async with db.uow(read_only=True) as uow:
        person = await uow.people.by_identity("telegram", "2001")
        assert person is not None
        (case,) = await uow.cases.list_by_requester(person.id)
    assert case.code == "MS99" and case.department == "LDZX" and case.text == UNCLEAR


async def test_picking_a_candidate_shows_its_card(
    chat, parser: EmbeddedParser, service: ConversationService
) -> None:
    parsed = await parser.parse(UNCLEAR)
    first = next(r.label for r in parsed.ranking if r.label in service.deps.catalog.services)
    name = service.deps.catalog.services[first].name
    await chat("2002").run(
        say(UNCLEAR, "是下面哪个"), press(name, "您要办的是", name, buttons=["对，就办这个"])
    )


async def test_things_we_do_not_serve_get_examples_and_a_way_on(chat) -> None:
    await chat("2003").run(
        say("/start", "您好"),
        say("今天天气怎么样", "帮不上", "路灯坏了", buttons=["我的事项", "怎么用"]),
        say("/help", "我可以帮您", "/my"),
        say("谢谢", "不客气"),
    )


async def test_my_cases_show_and_cancel_before_acceptance(chat, db: Database) -> None:
    sun = chat("2004", "孙大爷")
    number = await report_street_light(sun)
    await sun.run(
        say("/my", "您的事项", number, "等待受理", buttons=[f"查看 {number}"]),
        press(f"查看 {number}", "编号", number, "负责部门", buttons=["取消这件事"]),
        press("取消这件事", "已取消", number),
        say("/my", "已取消"),
    )
    async with db.uow(read_only=True) as uow:
        case = await uow.cases.get_by_number(number)
    assert case is not None and case.status == "cancelled"


async def test_status_question_and_cancel_intent(chat) -> None:
    qian = chat("2005", "钱阿姨")
    number = await report_street_light(qian)
    await qian.run(
        say("我报的路灯修好了吗", number, "路灯不亮", buttons=["查看详情"]),
        say("取消", "要取消这件事吗", number, buttons=["是，取消", "不取消"]),
        press("是，取消", "已取消"),
        say("取消", "没有正在办的事"),
    )


async def test_emergency_tells_the_number_to_call_at_once(chat) -> None:
    await chat("2006").run(say("天然气泄漏了", "请马上拨打 119", "您要反映的是", buttons=["对，就办这个"]))


async def test_a_newcomer_speaking_first_is_greeted_before_the_echo(chat) -> None:
    newcomer = chat("2017", "吴阿婆")
    await newcomer.run(voice("我家楼下路灯坏了", "我听到的是：我家楼下路灯坏了", "路灯"))
    text = newcomer.text
    assert text.index("您好") < text.index("我听到的是") < text.index("您要反映的是"), text


async def test_voice_is_echoed_and_a_typed_correction_replaces_it(chat, db: Database) -> None:
    zhou = chat("2007", "周伯")
    await zhou.run(
        voice("我家楼下路灯坏了", "我听到的是：我家楼下路灯坏了", "路灯", buttons=["对，就办这个"]),
        say("小区门口有人乱摆摊", "占道经营", absent=("我听到的是",)),
        press("对，就办这个", "在哪里"),
        say("东坡路社区 北门", "照片"),
        press("跳过", "SC-"),
    )
    async with db.uow(read_only=True) as uow:
        person = await uow.people.by_identity("telegram", "2007")
        assert person is not None
        (case,) = await uow.cases.list_by_requester(person.id)
    assert case.code == "SR01" and case.text == "小区门口有人乱摆摊"
    (heard,) = [a for a in case.attachments if a.kind == "voice"]
    assert heard.transcript == "我家楼下路灯坏了" and heard.recognizer == "test-recognizer"
