"""A resident in the browser, with every real part behind the page: first contact, a request to a
case number, and the survey after the department has resolved it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from webchat_browser import Site, phone_page
from webchat_stack import Stack, WebPerson, case_number, stack

from bot.webchat import chat_id_for, new_token
from dispatch.people import Role
from storage.invites import create_invite

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
expect = playwright_api.expect

pytestmark = pytest.mark.browser
T = 20_000
SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "webchat-survey.png"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Stack, Site]]:
    async with stack(tmp_path) as s:
        site = Site(s.webchat)
        await site.start()
        try:
            yield s, site
        finally:
            await site.stop()


async def answer(page: Any, before: int) -> str:
    """The bot's answer to what was just sent: every bubble after the first ``before``, once the
    server has said the message is done."""
    await expect(page.locator(".msg.me.waiting")).to_have_count(0, timeout=T)
    bubbles = page.locator(".msg.bot .bubble")
    await expect(bubbles.nth(before)).to_be_visible(timeout=T)
    return "\n".join((await bubbles.all_text_contents())[before:])


async def bot_count(page: Any) -> int:
    count: int = await page.locator(".msg.bot").count()
    return count


async def test_a_resident_reports_in_the_browser_and_answers_the_survey(
    browser: Any, world: tuple[Stack, Site]
) -> None:
    s, site = world
    # The department's staff (on their own web chat) are there before the case is.
    dept = s.catalog.case_types["SZ03"].department
    code = (await create_invite(s.db, Role.DEPT_STAFF, s.clock(), department=dept)).code
    async with aiohttp.ClientSession() as session, phone_page(browser, site.url) as page:
        staff = await WebPerson.open(session, new_token(), base=site.url.rstrip("/"))
        await staff.say(f"/start {code}", "工作人员")

        # First visit: the page starts the conversation itself.
        await expect(page.locator(".msg.bot .bubble").first).to_contain_text("您好", timeout=T)
        n = await bot_count(page)
        await page.get_by_role("button", name="留下我的电话").click()
        await page.fill("#phone-input", "13812345678")
        await page.get_by_role("button", name="发送电话").click()
        assert "电话已记下" in await answer(page, n)
        for street, community in (("湖滨街道", "请选择社区"), ("东坡路社区", "已记下")):
            n = await bot_count(page)
            await page.locator(".msg.bot").last.get_by_role("button", name=street).click()
            assert community in await answer(page, n)

        n = await bot_count(page)
        await page.fill("#text-input", "我家楼下路灯坏了")
        await page.get_by_role("button", name="发送", exact=True).click()
        text = await answer(page, n)
        assert "您要反映的是" in text and "路灯" in text
        # Answer whatever is still missing, as a person would, until the case number comes.
        seen = [text]
        for _ in range(6):
            if "SC-" in text:
                break
            n = await bot_count(page)
            offered = page.locator(".msg.bot").last.or_(page.locator("#keyboard"))
            if await offered.get_by_role("button", name="对，就办这个").count():
                await offered.get_by_role("button", name="对，就办这个").click()
            elif "在哪里" in text:
                await page.get_by_role("button", name="发送我现在的位置").click()
            elif await offered.get_by_role("button", name="跳过", exact=True).count():
                await offered.get_by_role("button", name="跳过", exact=True).first.click()
            else:
                await page.fill("#text-input", "东坡路社区 5幢门口")
                await page.press("#text-input", "Enter")
            text = await answer(page, n)
            seen.append(text)
        assert "SC-" in text, "\n---\n".join(seen)
        number = case_number(text)
        token = await page.evaluate("JSON.parse(localStorage.getItem('webchat.token'))")

        # The department accepts and resolves; the survey reaches the page.
        await s.relay.tick()
        assert number in "".join(f["text"] for f in await staff.notifications())
        await staff.press("接单", number)
        await staff.press("办结", "办理结果")
        await staff.say("已更换灯泡，恢复照明", "已办结")
        await staff.ws.close()
        await s.relay.tick()
        survey = page.locator(".msg.bot").last
        await expect(survey.get_by_role("button", name="非常不满意")).to_be_visible(timeout=T)
        for level in ("非常满意", "满意", "基本满意", "不满意"):
            await expect(survey.get_by_role("button", name=level, exact=True)).to_be_visible()
        await page.screenshot(path=str(SCREENSHOT))
        n = await bot_count(page)
        await survey.get_by_role("button", name="满意", exact=True).click()
        assert "谢谢您的评价" in await answer(page, n)

    async with s.db.uow(read_only=True) as uow:
        person = await uow.people.by_identity("web", chat_id_for(token))
        assert person is not None and person.phone == "13812345678"
        case = await uow.cases.get_by_number(number)
    assert case is not None and case.requester_id == person.id and case.status == "closed"
