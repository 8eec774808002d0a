"""The page itself, driven in headless Chromium (Debian's package) against the real aiohttp server."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image
from webchat_browser import Site, phone_page
from webchat_helpers import EchoBot

from bot.webchat import WebChat, chat_id_for
from handlers.messages import Reply
from speech.recognizer import Transcript

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
expect = playwright_api.expect

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "webchat-phone.png"
T = 15_000  # ms: generous, the test machine is shared


@dataclass
class HeardVoice:
    heard: list[tuple[bytes, str | None]] = field(default_factory=list)

    async def transcribe(self, audio: bytes, *, mime: str | None = None) -> Transcript:
        # Stands in for the recognizer (tested on its own); what matters here is the audio the page sent.
        self.heard.append((audio, mime))
        return Transcript("楼下路灯坏了", "fake", 1.5, "zh")


@pytest.fixture
def voice() -> HeardVoice:
    return HeardVoice()


@pytest.fixture
async def site(echo: EchoBot, voice: HeardVoice, tmp_path: Path) -> AsyncIterator[Site]:
    s = Site(WebChat(echo, voice.transcribe, data_dir=tmp_path, max_body_bytes=1 << 20))
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def page(browser, site: Site):
    async with phone_page(browser, site.url) as p:
        yield p


def last_bot(page):
    return page.locator(".msg.bot .bubble").last


async def say(page, text: str) -> None:
    await page.fill("#text-input", text)
    await page.press("#text-input", "Enter")


async def test_first_visit_greets_with_big_buttons(page, site: Site, echo: EchoBot) -> None:
    await expect(last_bot(page)).to_have_text("您好！先留个电话吧。", timeout=T)
    keys = page.locator("#keyboard button")
    await expect(keys).to_have_count(3)
    assert await page.get_attribute("html", "lang") == "zh-CN"
    # Big enough for old eyes and fingers.
    size = await last_bot(page).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 18
    for i in range(await keys.count()):
        box = await keys.nth(i).bounding_box()
        assert box is not None and box["height"] >= 48 and box["width"] >= 300
    for sel in ("#send-button", "#voice-button", "#location-button", "#photo-button"):
        box = await page.locator(sel).bounding_box()
        assert box is not None and box["height"] >= 48, sel
    assert await page.locator(".notice").is_hidden()
    await say(page, "楼下路灯坏了，晚上很黑")
    await expect(last_bot(page)).to_have_text("您说：楼下路灯坏了，晚上很黑", timeout=T)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))
    assert [i.text for i in echo.inbounds] == ["/start", "楼下路灯坏了，晚上很黑"]


async def test_buttons_phone_and_location(page, echo: EchoBot) -> None:
    await expect(last_bot(page)).to_have_text("您好！先留个电话吧。", timeout=T)
    # The web cannot vouch for a number: the page asks the person to type it into a big field.
    await page.get_by_role("button", name="📱 留下电话").click()
    await expect(page.locator("#phone-form")).to_be_visible()
    await page.fill("#phone-input", "12345")
    await page.get_by_role("button", name="发送电话").click()
    await expect(page.locator(".msg.error .bubble").last).to_contain_text("电话号码不对", timeout=T)
    await page.fill("#phone-input", "138 0000 1234")
    await page.get_by_role("button", name="发送电话").click()
    await expect(last_bot(page)).to_have_text("电话已记下：13800001234", timeout=T)
    await expect(page.locator("#keyboard")).to_be_hidden()  # the reply removed the keyboard
    await expect(page.locator("#phone-form")).to_be_hidden()

    await page.get_by_role("button", name="发送我现在的位置").click()
    await expect(last_bot(page)).to_have_text("位置：30.2500,120.1700", timeout=T)

    await say(page, "菜单")
    await expect(last_bot(page)).to_have_text("请选择：", timeout=T)
    await page.locator(".msg.bot").last.get_by_role("button", name="我的事项").click()
    await expect(last_bot(page)).to_have_text("您按了：menu|my", timeout=T)
    assert [i.phone for i in echo.inbounds if i.phone] == ["13800001234"]
    assert [i.location for i in echo.inbounds if i.location] == [(30.25, 120.17)]


async def test_text_is_shown_as_text_never_as_html(page) -> None:
    await expect(last_bot(page)).to_have_text("您好！先留个电话吧。", timeout=T)
    attack = '<img src=x onerror="window.__owned=1"><b>粗</b>'
    await say(page, attack)
    await expect(last_bot(page)).to_have_text("您说：" + attack, timeout=T)
    assert await page.locator(".log img").count() == 0
    assert await page.locator(".log b").count() == 0
    assert await page.evaluate("window.__owned") is None


async def test_a_big_photo_is_shrunk_and_sent_with_its_caption(page, echo: EchoBot) -> None:
    await expect(last_bot(page)).to_have_text("您好！先留个电话吧。", timeout=T)
    buf = io.BytesIO()
    Image.effect_noise((3000, 2000), 80).convert("RGB").save(buf, "JPEG", quality=95)
    assert buf.tell() > 1 << 20  # over the upload limit as it comes from the camera
    await page.fill("#text-input", "井盖坏了")
    await page.set_input_files("#photo-input", files=[
        {"name": "camera.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}])  # fmt: skip
    await expect(last_bot(page)).to_contain_text("照片：image/jpeg", timeout=T)
    await expect(last_bot(page)).to_contain_text("说明：井盖坏了")
    [photo] = [i.photo for i in echo.inbounds if i.photo]
    with Image.open(photo.ref) as img:
        assert max(img.size) == 1600
    assert await page.locator(".msg.me img").count() == 1


async def test_hold_to_talk_records_and_sends_audio(page, voice: HeardVoice, echo: EchoBot) -> None:
    await expect(last_bot(page)).to_have_text("您好！先留个电话吧。", timeout=T)
    mic = page.locator("#voice-button")
    box = await mic.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await expect(mic).to_have_class("tool recording", timeout=T)
    await page.wait_for_timeout(1500)
    await page.mouse.up()
    await expect(last_bot(page)).to_have_text("听到：楼下路灯坏了", timeout=T)
    [(audio, mime)] = voice.heard
    assert mime in ("audio/webm", "audio/ogg")
    assert audio.startswith((b"\x1a\x45\xdf\xa3", b"OggS")) and len(audio) > 1000
    [inbound] = [i for i in echo.inbounds if i.voice]
    assert inbound.transcript is not None and inbound.text == "楼下路灯坏了"


async def test_disconnect_shows_a_notice_queues_and_catches_up(page, site: Site, echo: EchoBot) -> None:
    await expect(last_bot(page)).to_have_text("您好！先留个电话吧。", timeout=T)
    [first] = echo.inbounds
    await site.stop()
    notice = page.locator("#notice")
    await expect(notice).to_be_visible(timeout=T)
    await expect(notice).to_contain_text("网络断开了")
    # Typed while disconnected: shown as waiting, sent once the connection is back.
    await say(page, "我的事项办好了吗")
    await expect(page.locator(".msg.me.waiting")).to_have_count(1)
    # A status change arrives while no page is connected; it waits in the mailbox.
    await site.chat.sender.send(first.chat_id, Reply("您的工单已办结。"))
    await site.start()
    await expect(notice).to_be_hidden(timeout=30_000)
    await expect(page.locator(".msg.me.waiting")).to_have_count(0, timeout=T)
    bot_texts = await page.locator(".msg.bot .bubble").all_text_contents()
    assert "您的工单已办结。" in bot_texts and "您说：我的事项办好了吗" in bot_texts

    # After a reload the conversation and the identity are still there, and nothing is shown twice.
    await page.reload()
    await expect(page.locator(".msg.bot .bubble")).to_have_count(len(bot_texts), timeout=T)
    await say(page, "还在吗")
    await expect(last_bot(page)).to_have_text("您说：还在吗", timeout=T)
    assert {i.chat_id for i in echo.inbounds} == {first.chat_id}
    token = await page.evaluate("JSON.parse(localStorage.getItem('webchat.token'))")
    assert chat_id_for(token) == first.chat_id
