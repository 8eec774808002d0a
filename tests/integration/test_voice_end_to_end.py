"""Voice notes end to end with the real faster-whisper recognizer (Whisper base, in its worker process):
a grid worker on Telegram and a resident on the web chat. Slow: the model loads and each clip takes
a few seconds on 2 cores."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
import yaml
from service_stack import Running
from transcript_script import WebPerson, case_number

pytestmark = [pytest.mark.voice, pytest.mark.slow]

CLIPS = Path(__file__).resolve().parents[1] / "fixtures" / "voice"


def clip(name: str) -> tuple[bytes, int, str]:
    """The clip's bytes, its length in whole seconds, and the catalog label it was recorded for."""
    manifest = yaml.safe_load((CLIPS / "manifest.yml").read_text(encoding="utf-8"))
    (entry,) = [c for c in manifest["clips"] if c["file"] == name]
    return (CLIPS / name).read_bytes(), round(entry["seconds"]), entry["label"]


async def test_grid_worker_reports_by_voice_on_telegram_and_a_resident_books_by_voice_on_the_web(
    voice_svc: Running,
) -> None:
    """Voice: a grid worker reports a 365 case by a Telegram voice note; a resident books a home service by voice on the web chat

    The note is downloaded from the Bot API, heard by Whisper, shown back (「我听到的是：…」) and
    understood as the clip's catalog item; the report is filed with the transcript and the
    recognizer on record. On the web chat, a resident's recording books a home service the same way.
    """
    svc = voice_svc
    catalog = svc.service.parts["catalog"]
    audio, seconds, label = clip("v09.ogg")  # 巡查发现：某小区南门道闸和人脸识别系统损坏一周 … → ZA02
    assert label == "ZA02"
    out = await svc.admin("gridworker", "add", "--name", "王网格", "--grids", "HB01-1")
    code = out.split("invite code for 王网格:")[1].split()[0]
    wang = svc.person("王网格", 3101)
    await wang.say(f"/start {code}", "网格员")
    name = catalog.case_types[label].name
    await wang.voice(
        audio, seconds, "v09.ogg", "我听到的是：", "您要反映的是", name, buttons=["对，就办这个"]
    )
    await wang.press("对，就办这个")
    for _ in range(4):
        if "SC-" in wang.text:
            break
        if "网格" in wang.text:
            await wang.press("HB01-1")  # her only grid, confirmed with one tap
        elif "在哪里" in wang.text:
            await wang.location(30.2571, 120.1689)
        else:
            await wang.press("跳过")
    case = await svc.case(case_number(wang.text))
    assert (case.code, case.grid) == (label, "HB01-1")
    (heard,) = [a for a in case.attachments if a.kind == "voice"]
    assert (heard.recognizer or "").startswith("faster-whisper") and "小区" in (heard.transcript or "")

    audio, _, label = clip("v04.ogg")  # 医生要我妈查个血常规和血糖 … 能不能请人上门取个血 → YI007
    assert label == "YI007"
    name = catalog.services[label].name
    async with aiohttp.ClientSession() as http:
        mother = await WebPerson(http, svc.web_url, svc.record, "李女士（网页）").open()
        await mother.voice(audio, "v04.ogg", "我听到的是：", "您要办的是", name, buttons=["对，就办这个"])
        await mother.press("对，就办这个")
        for _ in range(8):
            if "SC-" in mother.text:
                break
            if "电话" in mother.text:
                await mother.say("13957112345")
            elif "地址" in mother.text or "在哪里" in mother.text:
                await mother.say("东坡路社区 3幢2单元301")
            elif "什么时间" in mother.text:
                await mother.say("明天上午")
            elif any(b["label"] == "跳过" for f in mother.last for row in f["buttons"] for b in row):
                await mother.press("跳过")
            else:
                await mother.say("我妈刚做完手术，下不了床")
        number = case_number(mother.text)
        await mother.close()
    booked = await svc.case(number)
    assert booked.code == label and booked.channel == "web" and booked.department == "WSJ"
    assert any(
        a.kind == "voice" and (a.recognizer or "").startswith("faster-whisper") for a in booked.attachments
    )
