"""Department staff and the resident they serve, over Telegram: notifications come through the real
outbox relay, buttons go back through the real conversation and case service."""

from __future__ import annotations

from service_stack import Running
from transcript_script import TgPerson, case_number

from dispatch.lifecycle import CaseStatus
from dispatch.surveys import LABELS, LEVELS
from handlers.notices import department_name

SURVEY = [LABELS[r] for r in LEVELS.values()]  # 非常满意 … 非常不满意
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 30


async def report_street_light(resident: TgPerson, where: str = "东坡路社区 5幢门口") -> str:
    await resident.say("我家楼下路灯坏了", "您要反映的是", "路灯", buttons=["对，就办这个"])
    await resident.press("对，就办这个", "在哪里")
    await resident.say(where, "照片", buttons=["跳过"])
    await resident.press("跳过", "SC-")
    return case_number(resident.text)


def short(svc: Running, code: str) -> str:
    return (
        department_name(svc.service.parts["catalog"], code).removeprefix("上城区").removeprefix("杭州市")[:10]
    )


async def test_staff_accept_resolve_survey_unsatisfied_reopens_then_satisfied_closes(svc: Running) -> None:
    """Department staff: 受理 → 办结 with a note → 不满意 reopens (督办) → 办结 with a photo → 满意 closes

    张师傅 of the city management bureau is added with the admin CLI (`python -m bot staff add
    --telegram-id`). A resident reports a broken street light; every status change reaches the
    resident's chat, the survey comes with five buttons, 不满意 sends the case back to the same
    department under supervision, and 满意 after the second resolution closes it.
    """
    out = await svc.admin("staff", "add", "--name", "张师傅", "--department", "CGJ", "--telegram-id", "4001")
    assert "added 张师傅" in out
    zhang = svc.person("张师傅", 4001)
    await zhang.say("/cases", "城市管理局", "没有待办工单")

    resident = svc.person("孙阿姨", 4002)
    number = await report_street_light(resident)
    await zhang.expect("【新工单】", number, "路灯不亮", "东坡路社区 5幢门口", buttons=["接单", "退回"])

    await zhang.press("接单", "已接单", number, buttons=["办结", "退回"])
    await resident.expect(number, "已由", "城市管理局 受理")
    await zhang.press("办结", "办理结果")
    await zhang.say("已更换灯泡，恢复照明", "已办结", number)
    await resident.expect(number, "已办结", "已更换灯泡，恢复照明", buttons=SURVEY)

    await resident.press("不满意", "抱歉让您不满意", "督办", buttons=["不用了"])
    await zhang.expect("【督办】", number, "不满意", buttons=["接单"])
    await resident.press("不用了", "谢谢")
    reopened = await svc.case(number)
    assert reopened.status is CaseStatus.REOPENED and reopened.supervised and reopened.department == "CGJ"

    await zhang.press("接单", "已接单", number)
    await resident.expect(number, "已由", "受理，正在处理")
    await zhang.press("办结", "办理结果", "照片")
    await zhang.photo(PHOTO, "灯杆线路也换了，晚上复查正常", "已办结")
    await resident.expect(number, "已办结", "灯杆线路也换了", buttons=SURVEY)
    assert resident.last[0]["photo"][-1]["file_unique_id"]  # the staff's photo itself, shown to the resident
    await resident.press("满意", "谢谢您的评价：满意", buttons=["不用了"])
    await resident.expect(number, "已归档")
    await resident.say("/my", number, "已完成")

    case = await svc.case(number)
    assert case.status is CaseStatus.CLOSED and case.reopen_count == 1 and case.department == "CGJ"
    kinds = [str(e.kind) for e in case.history]
    assert kinds.count("resolved") == 2 and "reopened" in kinds and kinds[-1] == "closed"
    assert str(case.survey_result) == "satisfied"


async def test_two_returns_go_to_the_center_and_its_third_decision_binds(svc: Running) -> None:
    """Department staff: 退回 with a reason, twice; the center's next decision binds

    The department returns a case it thinks is not its own, with a reason; the dispatch center gets
    it with assign buttons, sends it back to the same department, which returns it again. The second
    return tells the center its next decision binds: the department can no longer return it.
    """
    staff = svc.person("钱科长", 5001)
    op = svc.person("调度员小周", 5002)
    await staff.say(f"/start {await svc.invite('--role', 'dept_staff', '--department', 'CGJ')}", "城市管理局")
    await op.say(f"/start {await svc.invite('--role', 'dispatcher')}", "联动中心调度员")

    number = await report_street_light(svc.person("吴大爷", 5003))
    await staff.expect("【新工单】", number)
    await staff.press("退回", "原因")
    await staff.say("的", "必须写明原因")
    await staff.say("灯杆属于小区物业，不归我们管", "已退回联动中心", number)
    cgj = short(svc, "CGJ")
    await op.expect("【退回】", number, "灯杆属于小区物业", buttons=[cgj])

    await op.press(f"★{cgj}", "已派给", number)  # back to them: the catalog says street lights are theirs
    await staff.expect("【新工单】", number, buttons=["退回"])
    await staff.press("退回", "原因")
    await staff.say("物业合同写明由物业维修", "已退回联动中心")
    await op.expect("【退回】", number, "物业合同", "最终决定")

    await op.press(f"★{cgj}", "已派给", number)
    await staff.expect("【新工单】", number)
    await staff.press("退回", "退回过两次", "不能再退回")
    case = await svc.case(number)
    assert case.status is CaseStatus.ASSIGNED and case.department == "CGJ" and case.return_count == 2
    await staff.press("接单", "已接单", number, buttons=["办结"])
    assert "退回" not in staff.labels()  # bound: the department's buttons no longer offer it


async def test_forged_and_stale_buttons_are_answered_and_change_nothing(svc: Running) -> None:
    """Forged and stale buttons: a clear answer, nothing changes

    A resident (not staff) sends the department's 受理 and 办结 data, the center's assign data and
    data no button ever had; another resident answers a survey that is not theirs; staff press
    受理 twice. Each gets a plain sentence, and the case and everyone else's chats stay as they were.
    """
    staff = svc.person("郑师傅", 6001)
    await staff.say(f"/start {await svc.invite('--role', 'dept_staff', '--department', 'CGJ')}", "城市管理局")
    owner = svc.person("冯奶奶", 6002)
    number = await report_street_light(owner)
    await staff.expect("【新工单】", number)
    before = await svc.case(number)

    mallory = svc.person("陌生人", 6003)
    await mallory.say("/help", "我可以帮您")
    await mallory.press_data(f"acc|{number}", "只有", "工作人员", "没有做任何改动")
    await mallory.press_data(f"res|{number}", "没有做任何改动")
    await mallory.press_data(f"asg|{number}|MZJ", "只有联动中心调度员可以派单")
    await mallory.press_data(f"sv|{number}|1", "不归您")
    await mallory.press_data("acc|../../admin", "按钮已经失效")
    await mallory.press_data("drop table cases", "按钮已经失效")
    await mallory.press_data(f"acc|{number}|extra", "按钮已经失效")
    after = await svc.case(number)
    assert (after.status, after.department, len(after.history)) == (
        before.status,
        before.department,
        len(before.history),
    )
    await staff.quiet()
    await owner.quiet()

    await staff.press("接单", "已接单")
    await staff.press_data(f"acc|{number}", "已经过期")  # the same button again: stale
    await owner.expect("已由", "受理，正在处理")
    accepted = await svc.case(number)
    assert accepted.status is CaseStatus.ACCEPTED
    assert [str(e.kind) for e in accepted.history].count("accepted") == 1
