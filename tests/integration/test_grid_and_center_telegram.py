"""Grid workers and the dispatch center over Telegram, with the whole service behind the bot."""

from __future__ import annotations

from service_stack import Running
from transcript_script import case_number

from dispatch.lifecycle import CaseStatus
from nlu.embedded import default_parser

POTHOLE = "路面有个大坑，电瓶车骑过去差点摔倒"
JPEG = (
    b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 40
)  # a photo's bytes, as Telegram stores them
# Requests the classifier cannot place with confidence: the resident is offered the top 3 and 都不是.
UNSURE = ("我妈八十多岁了，想请人上门做饭", "家里的事想找人帮忙弄一下", "有个事情想问问社区怎么办")


async def test_grid_worker_joins_reports_with_photo_grid_and_location_and_logs_visits(svc: Running) -> None:
    """Grid worker: invite, a report with a photo and caption, the grid, a location, /reports, /visit

    李网格 is added with `python -m bot gridworker add`, which issues an invite code; she sends
    `/start CODE`, reports a pothole with a photo and a caption, picks which of her grids it is in,
    shares the location, sees it under /reports and logs two household visits against the monthly
    quota of 30.
    """
    out = await svc.admin("gridworker", "add", "--name", "李网格", "--grids", "HB01-1,HB01-2")
    code = out.split("invite code for 李网格:")[1].split()[0]
    li = svc.person("李网格", 3001)
    await li.say(f"/start {code}", "李网格", "网格员", "HB01-1", "HB01-2", "/visit")

    await li.photo(JPEG, POTHOLE, "您要反映的是", "道路破损", buttons=["对，就办这个"])
    await li.press("对，就办这个", "哪个网格", buttons=["HB01-1", "HB01-2", "不报了"])
    await li.press("HB01-2", "在哪里", buttons=["发送我的位置"])
    await li.location(30.2571, 120.1689, "SC-", "城市管理局")
    number = case_number(li.text)

    case = await svc.case(number)
    assert (case.code, case.grid, case.community, case.street) == ("SZ01", "HB01-2", "HB01", "HB")
    (photo,) = [a for a in case.attachments if a.kind == "photo"]
    assert svc.fake.files[photo.ref].data == JPEG  # the full-size picture, not Telegram's thumbnail
    assert case.details["location"] == [30.2571, 120.1689]

    await li.say("/reports", number, "道路破损", buttons=[f"查看 {number}"])
    await li.say("/visit", "住户地址", buttons=["不记了"])
    await li.say("东坡路社区 3幢2单元301", "走访情况", buttons=["跳过"])
    await li.say(
        "独居老人，身体还好，提醒注意用电安全", "已记录", "本月已走访 1 户", "目标 30 户", "还差 29 户"
    )
    await li.press("再记一户", "住户地址")
    await li.say("东坡路社区 4幢101", "走访情况")
    await li.press("跳过", "本月已走访 2 户", "还差 28 户")


async def test_none_of_these_goes_to_the_center_which_assigns_it_to_a_department(svc: Running) -> None:
    """Dispatch center: 「都不是」 goes to the center, the dispatcher assigns it (跨出一步)

    A request the classifier is unsure of offers the three likeliest items and 「都不是」. The
    resident picks 「都不是」: the case goes to the dispatch center (LDZX), whose dispatcher gets
    it with one button per department, assigns it to the civil affairs bureau, and that bureau's
    staff get the new-case notice with their buttons.
    """
    parser = default_parser()
    unsure = [t for t in UNSURE if (await parser.parse(t)).confidence < svc.service.cfg.nlu.low_confidence]
    assert unsure, "the NLU model is sure of every sentence in UNSURE: add one it is unsure of"
    text = unsure[0]

    op = svc.person("调度员老陈", 7001)
    await op.say(f"/start {await svc.invite('--role', 'dispatcher')}", "联动中心调度员")
    mzj = svc.person("民政小林", 7002)
    await mzj.say(f"/start {await svc.invite('--role', 'dept_staff', '--department', 'MZJ')}", "民政局")

    zhao = svc.person("赵奶奶", 7003)
    await zhao.say(text, "是下面哪个", buttons=["都不是"])
    await zhao.press("都不是", "联动中心", "在哪里")
    await zhao.say("清波街道 柳翠井巷 8号", "照片")
    await zhao.press("跳过", "SC-")
    number = case_number(zhao.text)
    case = await svc.case(number)
    assert (case.code, case.department, case.text) == ("MS99", "LDZX", text)

    await op.expect("【待分派】", number, text, "跨出一步", buttons=["民政局", "城市管理局"])
    await op.press("民政局", "已派给民政局", number)
    await mzj.expect("【新工单】", number, text, buttons=["接单", "退回"])
    await mzj.press("接单", "已接单", number)
    await zhao.expect(number, "已由", "民政局 受理")
    await op.say("/overview", "全区概况", "正在处理 1")

    case = await svc.case(number)
    assert case.status is CaseStatus.ACCEPTED and case.department == "MZJ"
    (handed_on,) = [e for e in case.history if e.data.get("department") == "MZJ"]  # the dispatcher's decision
    assert handed_on.note == "跨出一步" and handed_on.actor not in ("system", case.requester_id)
