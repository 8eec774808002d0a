"""The resident conversations of the Telegram transcripts, through the web chat with every real part."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from webchat_stack import Stack, WebPerson, case_number, stack

from bot.http import build_web_app
from bot.webchat import chat_id_for, new_token
from dispatch.people import Role
from storage.invites import create_invite


def client_for(s: Stack) -> TestClient:
    app = build_web_app(1 << 20)
    s.webchat.install(app)
    return TestClient(TestServer(app))


async def report_street_light(person: WebPerson) -> str:
    await person.say("我家楼下路灯坏了", "您要反映的是", "路灯", buttons=("对，就办这个",))
    await person.press("对，就办这个", "在哪里")
    await person.say("东坡路社区 5幢门口", "照片", buttons=("跳过",))
    await person.press("跳过", "SC-")
    return case_number(person.text)


async def test_first_contact_a_request_to_a_case_number_my_and_cancel(tmp_path: Path) -> None:
    async with stack(tmp_path) as s, client_for(s) as client:
        token = new_token()
        wang = await WebPerson.open(client, token)
        await wang.say("/start", "您好", "留个电话", buttons=("留下我的电话", "选择我的社区", "先跳过"))
        await wang.phone("13812345678", "电话已记下", "138****5678", buttons=("湖滨街道",))
        await wang.press("湖滨街道", "请选择社区", buttons=("东坡路社区",))
        await wang.press("东坡路社区", "已记下", "东坡路社区")
        number = await report_street_light(wang)
        await wang.say("/my", "您的事项", number, "等待受理", buttons=(f"查看 {number}",))
        await wang.say("我报的路灯修好了吗", number, "等待受理", buttons=("查看详情",))
        await wang.ws.close()

        # The next day, in a new tab: the same browser token is the same person and the same case.
        wang = await WebPerson.open(client, token)
        await wang.say("/my", number)
        await wang.press(f"查看 {number}", "编号", number, buttons=("取消这件事",))
        await wang.press("取消这件事", "已取消", number)
        await wang.ws.close()
        async with s.db.uow(read_only=True) as uow:
            person = await uow.people.by_identity("web", chat_id_for(token))
            assert person is not None and person.phone == "13812345678" and person.community == "HB01"
            case = await uow.cases.get_by_number(number)
        assert case is not None and case.status == "cancelled" and case.requester_id == person.id


async def test_status_changes_reach_the_web_chat_and_the_survey_is_answered_there(tmp_path: Path) -> None:
    async with stack(tmp_path) as s, client_for(s) as client:
        dept = s.catalog.case_types["SZ03"].department
        code = (await create_invite(s.db, Role.DEPT_STAFF, s.clock(), department=dept)).code
        staff = await WebPerson.open(client, new_token())  # department staff may use the web chat too
        await staff.say(f"/start {code}", "工作人员")
        resident = await WebPerson.open(client, new_token())
        number = await report_street_light(resident)

        await s.relay.tick()
        alert = await staff.notifications()
        assert any(number in f["text"] for f in alert), alert
        await staff.press("接单", number, buttons=("办结",))
        await s.relay.tick()
        assert any("受理" in f["text"] for f in await resident.notifications())

        await staff.press("办结", "办理结果")
        await staff.say("已更换灯泡，恢复照明", "已办结", number)
        await s.relay.tick()
        survey = await resident.notifications()
        assert any(number in f["text"] for f in survey), survey
        labels = [b["label"] for b in resident.buttons()]
        for level in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
            assert level in labels, labels
        await resident.press("非常满意", "谢谢您的评价", buttons=("不用了",))
        await resident.say("师傅很快就来了", "意见已经记下")
        async with s.db.uow(read_only=True) as uow:
            case = await uow.cases.get_by_number(number)
        assert case is not None and case.status == "closed"
        assert (case.history[-1].kind, case.history[-1].note) == ("commented", "师傅很快就来了")


async def test_a_notification_for_a_closed_page_waits_and_is_not_lost(tmp_path: Path) -> None:
    async with stack(tmp_path) as s, client_for(s) as client:
        dept = s.catalog.case_types["SZ03"].department
        code = (await create_invite(s.db, Role.DEPT_STAFF, s.clock(), department=dept)).code
        staff = await WebPerson.open(client, new_token())
        await staff.say(f"/start {code}", "工作人员")
        token = new_token()
        resident = await WebPerson.open(client, token)
        number = await report_street_light(resident)
        await resident.ws.close()  # the resident closes the page

        await s.relay.tick()
        await staff.notifications()
        await staff.press("接单", number)
        await s.relay.tick()  # delivered into the mailbox: the relay counts it as sent
        assert s.relay.dead == 0

        resident = await WebPerson.open(client, token)  # reopened later
        waiting = await resident.notifications()
        assert any("受理" in f["text"] and number in f["text"] for f in waiting), waiting
