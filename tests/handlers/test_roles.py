"""Grid workers, department staff and dispatch-center operators, as transcripts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conversation_script import Chat, Clock, build, location, photo, press, press_data, say

from catalog.model import Catalog
from dispatch.people import Role
from handlers.callbacks import Action, encode
from handlers.conversation import ConversationService
from nlu.embedded.parser import EmbeddedParser
from storage.database import Database
from storage.invites import create_invite

POTHOLE = "路面有个大坑"


async def invite(db: Database, clock: Clock, role: Role, **kw: object) -> str:
    return (await create_invite(db, role, clock(), **kw)).code  # type: ignore[arg-type]


async def case_of(db: Database, number: str):  # type: ignore[no-untyped-def]
    async with db.uow(read_only=True) as uow:
        return await uow.cases.get_by_number(number)


def number_in(text: str) -> str:
    start = text.index("SC-")
    return text[start : start + 16]


async def resident_reports(chat: Chat, text: str = "我家楼下路灯坏了") -> str:
    await chat.run(
        say(text, "您要反映的是", buttons=["对，就办这个"]),
        press("对，就办这个", "在哪里"),
        say("东坡路社区 5幢门口", "照片"),
        press("跳过", "SC-"),
    )
    return number_in(chat.text)


async def test_grid_worker_joins_reports_with_photo_and_grid_and_logs_visits(
    chat, db: Database, clock: Clock
) -> None:
    code = await invite(db, clock, Role.GRID_WORKER, grids=("HB01-1", "HB01-2"), display_name="李网格")
    li = chat("3001", "li")
    await li.run(
        say(f"/start {code}", "李网格", "网格员", "HB01-1", "HB01-2", "/visit"),
        say(f"/join {code}", "已经用过了"),
        photo("photo-42", POTHOLE, "您要反映的是", "道路破损", buttons=["对，就办这个"]),
        press("对，就办这个", "哪个网格", buttons=["HB01-1", "HB01-2", "不报了"]),
        press("HB01-2", "在哪里", buttons=["发送我的位置"]),
        location(30.2571, 120.1689, "SC-"),
    )
    number = number_in(li.text)
    case = await case_of(db, number)
    assert case.grid == "HB01-2" and case.street == "HB" and case.code == "SZ01"
    assert [a.ref for a in case.attachments if a.kind == "photo"] == ["photo-42"]
    assert case.details["location"] == [30.2571, 120.1689]
    await li.run(
        say("/reports", number, "道路破损"),
        say("/visit", "住户地址"),
        say("东坡路社区 3幢2单元301", "走访情况", buttons=["跳过"]),
        say("独居老人，身体还好", "已记录", "本月已走访 1 户", "目标 30 户", "还差 29 户"),
        press("再记一户", "住户地址"),
        say("东坡路社区 4幢101", "走访情况"),
        press("跳过", "本月已走访 2 户"),
    )
    clock.advance(days=40)  # next month: the count starts again
    await li.run(
        say("/visit", "住户地址"), say("东坡路社区 4幢102", "走访情况"), press("跳过", "本月已走访 1 户")
    )


async def test_a_second_report_in_the_same_grid_is_offered_as_a_duplicate(
    chat, db: Database, clock: Clock
) -> None:
    first = chat("3002", "w1")
    second = chat("3003", "w2")
    await first.run(say(f"/start {await invite(db, clock, Role.GRID_WORKER, grids=('HB01-1',))}", "网格员"))
    await second.run(say(f"/start {await invite(db, clock, Role.GRID_WORKER, grids=('HB01-1',))}", "网格员"))
    for worker in (first, second):
        await worker.run(
            say(POTHOLE, "道路破损"),
            press("对，就办这个", "哪个网格"),
            press("HB01-1", "在哪里"),
            say("东坡路 12号门口", "照片"),
        )
        await worker.run(press("跳过"))
    original = number_in(first.text)
    assert "是同一个问题吗" in second.text
    await second.run(press("是，合并", "已经合并到", original))
    case = await case_of(db, original)
    assert ("telegram", "3003") in [(s.channel, s.chat_id) for s in case.subscribers]


async def test_staff_accept_resolve_with_note_return_with_reason_and_survey(
    chat, db: Database, clock: Clock, catalog: Catalog
) -> None:
    dept = catalog.case_types["SZ03"].department
    staff = chat("4001", "zhang")
    await staff.run(say(f"/start {await invite(db, clock, Role.DEPT_STAFF, department=dept)}", "工作人员"))
    resident = chat("4002", "居民甲")
    number = await resident_reports(resident)

    await staff.run(
        say("/cases", number, "路灯不亮", buttons=["接单"]),
        press_data(encode(Action.ACCEPT, number), "已接单", number, buttons=["办结", "退回"]),
        press_data(encode(Action.ACCEPT, number), "已经过期"),  # stale: pressed twice
        press("办结", "办理结果"),
        say("已更换灯泡，恢复照明", "已办结", number),
    )
    case = await case_of(db, number)
    assert case.status == "resolved" and case.history[-1].note == "已更换灯泡，恢复照明"

    await resident.run(
        press_data(encode(Action.SURVEY, number, "5"), "谢谢您的评价", "非常满意", buttons=["不用了"]),
        say("师傅很快就来了", "意见已经记下"),
    )
    case = await case_of(db, number)
    assert case.status == "closed"
    last = case.history[-1]  # the comment is on the audit trail, and went to the department
    assert (last.kind, last.note, last.to_status) == ("commented", "师傅很快就来了", "closed")

    other = await resident_reports(resident)  # another broken light, for the same department
    await staff.run(
        press_data(encode(Action.RETURN, other), "原因"),
        say("的", "必须写明原因"),
        say("灯杆属于小区物业，不归我们", "已退回联动中心"),
    )
    returned = await case_of(db, other)
    assert returned.status == "returned" and returned.department == "LDZX"
    assert returned.history[-1].note == "灯杆属于小区物业，不归我们"


async def test_only_staff_of_the_department_may_press_its_buttons(chat, db: Database, clock: Clock) -> None:
    resident = chat("5001", "居民乙")
    number = await resident_reports(resident)
    wrong = chat("5002", "other-dept")
    await wrong.run(say(f"/start {await invite(db, clock, Role.DEPT_STAFF, department='WSJ')}", "工作人员"))
    await wrong.run(press_data(encode(Action.ACCEPT, number), "只有", "没有做任何改动"))
    await resident.run(press_data(encode(Action.RESOLVE, number), "只有"))
    # in a department group: a member nobody registered presses the group's button
    group = Chat(wrong.service, clock, "5003", "群友", chat_id="-100777", chat_type="group")
    await group.run(press_data(encode(Action.ACCEPT, number), "只有"))
    group_chat_text = await group.send(group.inbound(text="大家好"))
    assert group_chat_text == []  # plain talk in a group is not for the bot
    assert (await case_of(db, number)).status == "assigned"


async def test_staff_in_a_group_chat_act_with_their_own_role(
    chat, db: Database, clock: Clock, catalog: Catalog
) -> None:
    dept = catalog.case_types["SZ03"].department
    private = chat("6001", "zhao")
    await private.run(say(f"/start {await invite(db, clock, Role.DEPT_STAFF, department=dept)}", "工作人员"))
    number = await resident_reports(chat("6002", "居民丙"))
    in_group = Chat(private.service, clock, "6001", "zhao", chat_id="-100888", chat_type="supergroup")
    await in_group.run(
        press_data(encode(Action.ACCEPT, number), "已接单"),
        press("退回", "原因"),
        say("不在我们辖区", "已退回"),
    )
    async with db.uow(read_only=True) as uow:
        person = await uow.people.by_identity("telegram", "6001")
    assert person is not None and person.identities[0].chat_id == "6001"  # the group never became their chat


async def test_dispatcher_assigns_a_center_case_and_sees_overview_and_scores(
    chat, db: Database, clock: Clock, catalog: Catalog
) -> None:
    resident = chat("7001", "居民丁")
    await resident.run(say("我妈八十多岁了，想请人上门做饭", "是下面哪个"), press("都不是", "在哪里"))
    await resident.run(say("清波街道 柳翠井巷 8号", "照片"), press("跳过", "SC-"))
    number = number_in(resident.text)
    op = chat("7002", "调度员")
    await op.run(
        say(f"/start {await invite(db, clock, Role.DISPATCHER, department='LDZX')}", "调度员"),
        say("/overview", "全区概况", "待中心派单", number, buttons=[f"派单 {number}"]),
        press(f"派单 {number}", number, buttons=["派给"]),
        press("派给 民政局", "已派给民政局", number),
        say("/scores", "还没有考核数据"),
    )
    assert (await case_of(db, number)).department == "MZJ"
    mzj = chat("7003", "民政")
    await mzj.run(
        say(f"/start {await invite(db, clock, Role.DEPT_STAFF, department='MZJ')}", "民政局"),
        press_data(encode(Action.ACCEPT, number), "已接单"),
    )
    await op.run(say("/scores", "部门考核", "民政局", "100%"))
    clock.advance(hours=1)
    await resident.run(press_data(encode(Action.ASSIGN, number, "CGJ"), "只有联动中心调度员"))
    assert (await case_of(db, number)).department == "MZJ"


@pytest.mark.parametrize("_", [None])
async def test_the_resident_flow_on_each_backend(
    _: None, backend_db: Database, catalog: Catalog, parser: EmbeddedParser, clock: Clock
) -> None:
    service: ConversationService = build(backend_db, catalog, parser, clock)
    wang = Chat(service, clock, "8001", "王阿姨")
    number = await resident_reports(wang)
    assert await wang.redeliver() == []
    staff = Chat(service, clock, "8002", "staff")
    code = await invite(backend_db, clock, Role.DEPT_STAFF, department=catalog.case_types["SZ03"].department)
    await staff.run(say(f"/start {code}", "工作人员"), press_data(encode(Action.ACCEPT, number), "已接单"))
    clock.advance(minutes=5)
    await wang.run(say("/my", number, "正在处理"))
    assert (await case_of(backend_db, number)).accepted_at == clock() - timedelta(minutes=5)
