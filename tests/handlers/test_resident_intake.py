"""Residents: first contact, a request with missing details, the case number."""

from __future__ import annotations

from conversation_script import press, say, share_phone

from storage.database import Database


async def test_first_contact_then_request_with_missing_details_gets_a_case_number(chat, db: Database) -> None:
    wang = chat("1001", "王阿姨")
    await wang.run(
        say("/start", "您好", "留个电话", buttons=["留下我的电话", "选择我的社区", "先跳过"]),
        share_phone("13812345678", "电话已记下", "138****5678", buttons=["湖滨街道"]),
        press("湖滨街道", "请选择社区", buttons=["东坡路社区"]),
        press("东坡路社区", "已记下", "东坡路社区", "湖滨街道"),
        say(
            "我爸82岁了，腿脚不便，想预约助浴服务",
            "您要办的是",
            "负责部门",
            "费用",
            "预计响应",
            buttons=["对，就办这个", "不对，重新说"],
        ),
    )
    card = wang.text
    await wang.run(press("对，就办这个"))
    # Only what is still missing is asked, one question at a time, until the case number comes.
    asked: list[str] = []
    for _ in range(8):
        if "SC-" in wang.text:
            break
        asked.append(wang.text)
        if "电话" in wang.text and any("登记的电话" in b.label for b in wang.buttons):
            await wang.run(press("登记的电话"))
        elif "地址" in wang.text or "在哪里" in wang.text:
            await wang.run(say("东坡路社区 3幢2单元301"))
        elif "什么时间" in wang.text:
            await wang.run(say("明天上午"))
        elif "跳过" in [b.label for b in wang.buttons]:
            await wang.run(press("跳过"))
        else:
            await wang.run(say("就是给我妈做饭"))
    assert "SC-" in wang.text, "\n---\n".join(asked)
    # the age (82岁) and the person (我爸) were in the message: never asked again
    assert not any("多大年纪" in q for q in asked) and not any("给谁办" in q for q in asked)
    assert "您要办的是" in card
    async with db.uow(read_only=True) as uow:
        person = await uow.people.by_identity("telegram", "1001")
        assert person is not None and person.phone == "13812345678" and person.community == "HB01"
        cases = await uow.cases.list_by_requester(person.id)
    assert len(cases) == 1 and cases[0].number in wang.text
    assert cases[0].details.get("age") == 82 and cases[0].details.get("phone") == "13812345678"
    assert cases[0].status == "assigned" and cases[0].department


async def test_typed_community_name_is_matched_loosely(chat) -> None:
    li = chat("1002", "李伯")
    await li.run(
        say("/start", "您好"),
        press("选择我的社区", "请选择您住的街道"),
        say("东坡路", "已记下", "东坡路社区"),
    )


async def test_greeting_on_first_message_then_the_request_continues(chat) -> None:
    await chat("1003").run(say("我家楼下路灯坏了", "您好", "您要反映的是", "路灯", buttons=["对，就办这个"]))
