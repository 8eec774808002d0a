"""Residents over Telegram, with the whole service behind the bot."""

from __future__ import annotations

from service_stack import Running
from transcript_script import TgPerson, case_number

from dispatch.lifecycle import CaseStatus

BATH = "我爸82岁了，腿脚不便，想预约助浴服务"


async def answer_what_is_missing(person: TgPerson, asked: list[str]) -> None:
    """Answer the bot's slot questions, one at a time, until the case number comes."""
    for _ in range(8):
        if "SC-" in person.text:
            return
        asked.append(person.text)
        labels = person.labels()
        if any("登记的电话" in b for b in labels):
            await person.press("登记的电话")
        elif "地址" in person.text or "在哪里" in person.text:
            await person.say("东坡路社区 3幢2单元301")
        elif "什么时间" in person.text:
            await person.press("明天上午")
        elif any(b == "跳过" for b in labels):
            await person.press("跳过")
        else:
            await person.say("他洗澡需要有人扶")
    assert "SC-" in person.text, "\n---\n".join(asked)


async def test_first_contact_request_my_cases_status_question_and_cancel(svc: Running) -> None:
    """Resident: first contact, a request with missing details, /my, a status question, cancel

    王阿姨 meets the bot (/start), shares her phone with Telegram's contact button, picks her
    community with buttons, reports a broken street light and books a bath service for her father,
    answering only what the bot still needs. She lists her cases, asks in her own words about the
    street light, and cancels the bath booking before the department accepts it.
    """
    wang = svc.person("王阿姨", 1001)
    await wang.say("/start", "您好", "留个电话", buttons=["留下我的电话", "选择我的社区", "先跳过"])
    assert any(b.startswith("⌨") and "电话" in b for b in wang.labels())  # Telegram's own contact button
    await wang.share_phone("13812345678", "电话已记下", "138****5678", buttons=["湖滨街道"])
    await wang.press("湖滨街道", "请选择社区", buttons=["东坡路社区"])
    await wang.press("东坡路社区", "已记下", "东坡路社区", "湖滨街道")

    await wang.say("我家楼下路灯坏了", "您要反映的是", "路灯", buttons=["对，就办这个", "不对，重新说"])
    await wang.press("对，就办这个", "在哪里", buttons=["发送我的位置"])
    await wang.say("东坡路社区 5幢门口", "照片", buttons=["跳过"])
    await wang.press("跳过", "SC-", "城市管理局")
    light = case_number(wang.text)

    await wang.say(BATH, "您要办的是", "负责部门", "费用", "预计响应", buttons=["对，就办这个"])
    await wang.press("对，就办这个")
    asked: list[str] = []
    await answer_what_is_missing(wang, asked)
    bath = case_number(wang.text)
    assert not any("多大年纪" in q or "给谁办" in q for q in asked), asked  # 82岁, 我爸 were in the message

    await wang.say("/my", "您的事项", light, bath, "等待受理", buttons=[f"查看 {light}", f"查看 {bath}"])
    # The status question names the street light: that case, though the bath booking is newer.
    await wang.say("我报的路灯修好了吗", light, "路灯不亮", buttons=["查看详情"], absent=[bath])
    await wang.press(f"查看 {bath}", "编号", bath, "负责部门", buttons=["取消这件事"])
    await wang.press("取消这件事", "已取消", bath)
    await wang.say("/my", bath, "已取消", light)

    async with svc.db.uow(read_only=True) as uow:
        person = await uow.people.by_identity("telegram", "1001")
        assert person is not None and person.phone == "13812345678" and person.community == "HB01"
    booked, reported = await svc.case(bath), await svc.case(light)
    assert booked.status is CaseStatus.CANCELLED and booked.details.get("age") == 82
    assert booked.details.get("phone") == "13812345678" and booked.requester_id == person.id
    assert reported.status is CaseStatus.ASSIGNED and reported.code == "SZ03" and reported.department == "CGJ"
    assert (reported.channel, reported.chat_id) == ("telegram", "1001")


async def test_gas_leak_tells_the_resident_to_call_119_at_once(svc: Running) -> None:
    """Resident: an emergency (gas leak) is told to call 119 before anything else

    The first answer, before any question, says to call 119; the case is filed as an emergency and
    its acknowledgement repeats the number.
    """
    zhou = svc.person("周大伯", 1002)
    await zhou.say("厨房里天然气泄漏了，好大一股煤气味", "119", "您要反映的是", buttons=["对，就办这个"])
    assert zhou.text.index("119") < zhou.text.index("您要反映的是")  # the number to call comes first
    await zhou.press("对，就办这个", "在哪里")
    await zhou.say("清波街道 柳翠井巷 8号 3楼")
    for _ in range(3):
        if "SC-" in zhou.text:
            break
        await zhou.press("跳过")
    assert "119" in zhou.text, zhou.text  # the acknowledgement says it again
    case = await svc.case(case_number(zhou.text))
    assert case.code == "XF04" and str(case.severity) == "emergency"


async def test_the_big_keyboard_goes_away_when_the_request_is_filed(svc: Running) -> None:
    """Resident: the big keyboard of the last question goes away once the request is filed

    The address question shows Telegram's big 「📍 发送我的位置」 keyboard; the resident types the
    address instead, so Telegram keeps showing it until the bot removes it.
    """
    li = svc.person("李奶奶", 1003)
    await li.say("我家楼下路灯坏了", "您要反映的是")
    await li.press("对，就办这个", "在哪里", buttons=["⌨ 📍 发送我的位置"])
    await li.say("东坡路社区 5幢门口", "照片")
    await li.press("跳过", "SC-")
    assert any(m.get("reply_markup") == {"remove_keyboard": True} for m in li.last), li.last
