"""The web chat and Telegram in one service: a resident on the web page, department staff on Telegram."""

from __future__ import annotations

import aiohttp
from service_stack import Running
from transcript_script import WebPerson, case_number

from bot.webchat import chat_id_for
from dispatch.lifecycle import CaseStatus


async def test_a_web_resident_is_served_by_staff_on_telegram(svc: Running) -> None:
    """Web chat resident, Telegram staff: the request and every status change cross channels

    A resident without Telegram opens the web chat and reports a broken street light; the
    department's staff get the notice on Telegram, accept and resolve it there, and each status
    change and the survey reach the resident's web page, where she answers it.
    """
    staff = svc.person("张师傅", 8001)
    await staff.say(f"/start {await svc.invite('--role', 'dept_staff', '--department', 'CGJ')}", "城市管理局")
    async with aiohttp.ClientSession() as http:
        page = await WebPerson(http, svc.web_url, svc.record, "陈阿姨（网页）").open()
        await page.say("我家楼下路灯坏了", "您要反映的是", "路灯", buttons=["对，就办这个"])
        await page.press("对，就办这个", "在哪里")
        await page.say("东坡路社区 5幢门口", "照片", buttons=["跳过"])
        await page.press("跳过", "SC-")
        number = case_number(page.text)

        await staff.expect("【新工单】", number, buttons=["接单"])
        await staff.press("接单", "已接单")
        await page.expect(number, "已由", "受理，正在处理")
        await staff.press("办结", "办理结果")
        await staff.say("已更换灯泡", "已办结")
        await page.expect(number, "已办结", "已更换灯泡", buttons=["非常满意", "不满意"])
        await page.press("非常满意", "谢谢您的评价")
        await page.close()
    case = await svc.case(number)
    assert case.status is CaseStatus.CLOSED and (case.channel, case.chat_id) == (
        "web",
        chat_id_for(page.token),
    )
