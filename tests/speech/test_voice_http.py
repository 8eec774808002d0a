"""HttpRecognizer against a real HTTP server on 127.0.0.1 that plays the speech service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from voice_helpers import CLIPS, encode, tone

from speech import AudioTooLong, RecognizerBusy, RecognizerUnavailable, UndecodableAudio
from speech.http import HttpRecognizer


@dataclass
class FakeService:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    answer: Any = field(default_factory=lambda: {"text": "我媽八十多歲了，住在三幢二單元", "language": "zh"})
    release: asyncio.Event = field(default_factory=asyncio.Event)
    hold: bool = False
    arrived: asyncio.Queue[int] = field(default_factory=asyncio.Queue)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        entry: dict[str, Any] = {
            "content_type": request.headers.get("Content-Type", ""),
            "query": dict(request.query),
            "auth": request.headers.get("Authorization"),
        }
        if request.content_type == "multipart/form-data":
            form = await request.post()
            upload = form["file"]
            assert isinstance(upload, web.FileField)
            entry |= {
                "body": upload.file.read(),
                "part_type": upload.content_type,
                "language": form.get("language"),
            }
        else:
            entry["body"] = await request.read()
        self.requests.append(entry)
        self.arrived.put_nowait(len(self.requests))
        if self.hold:
            await self.release.wait()
        if isinstance(self.answer, str):
            return web.Response(status=self.status, text=self.answer)
        return web.json_response(self.answer, status=self.status)


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    svc = FakeService()
    app = web.Application()
    app.router.add_post("/asr", svc.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    svc.url = f"http://127.0.0.1:{port}/asr"
    yield svc
    svc.release.set()
    await runner.cleanup()


async def test_raw_audio_in_json_text_out_normalised(service):
    recognizer = HttpRecognizer(service.url, token="s3cret")
    clip = CLIPS[1]
    try:
        t = await recognizer.transcribe(clip.audio, mime="audio/ogg")
    finally:
        await recognizer.aclose()
    [req] = service.requests
    assert req["body"] == clip.audio
    assert req["content_type"] == "audio/ogg"
    assert req["query"] == {"language": "zh"}
    assert req["auth"] == "Bearer s3cret"
    assert t.raw_text == "我媽八十多歲了，住在三幢二單元"
    assert t.text == "我妈80多岁了,住在3幢2单元"
    assert t.recognizer_name == f"http:{service.url}"
    assert t.duration_s == pytest.approx(clip.seconds, abs=0.1)
    assert t.language == "zh"


async def test_multipart_sends_a_file_field(service):
    recognizer = HttpRecognizer(service.url, request_format="multipart")
    audio = encode(tone(1.0), container="webm")
    try:
        await recognizer.transcribe(audio, mime="audio/webm")
    finally:
        await recognizer.aclose()
    [req] = service.requests
    assert req["body"] == audio
    assert req["part_type"] == "audio/webm"
    assert req["language"] == "zh"


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (503, {"error": "busy"}, RecognizerBusy),
        (429, {}, RecognizerBusy),
        (415, {}, UndecodableAudio),
        (413, {}, AudioTooLong),
        (500, {}, RecognizerUnavailable),
        (200, "<html>proxy error</html>", RecognizerUnavailable),
        (200, ["a list"], RecognizerUnavailable),
        (200, {"transcript": "wrong field"}, RecognizerUnavailable),
    ],
)
async def test_service_errors_map_to_speech_errors(service, status, answer, error):
    service.status, service.answer = status, answer
    recognizer = HttpRecognizer(service.url)
    try:
        with pytest.raises(error):
            await recognizer.transcribe(CLIPS[0].audio, mime="audio/ogg")
    finally:
        await recognizer.aclose()
    assert len(service.requests) == 1


async def test_bad_or_long_audio_is_answered_without_calling_the_service(service):
    recognizer = HttpRecognizer(service.url, max_seconds=5.0)
    try:
        with pytest.raises(UndecodableAudio):
            await recognizer.transcribe(b"definitely not audio" * 50, mime="audio/ogg")
        with pytest.raises(AudioTooLong):
            await recognizer.transcribe(CLIPS[0].audio, mime="audio/ogg")
    finally:
        await recognizer.aclose()
    assert service.requests == []


async def test_an_unreachable_service_is_unavailable(unused_tcp_port):
    recognizer = HttpRecognizer(f"http://127.0.0.1:{unused_tcp_port}/asr", timeout_s=5)
    try:
        with pytest.raises(RecognizerUnavailable):
            await recognizer.transcribe(CLIPS[0].audio, mime="audio/ogg")
    finally:
        await recognizer.aclose()


async def test_a_full_queue_is_busy_and_frees_up(service):
    service.hold = True
    recognizer = HttpRecognizer(service.url, queue_size=2, timeout_s=10)
    try:
        first = [asyncio.create_task(recognizer.transcribe(c.audio, mime="audio/ogg")) for c in CLIPS[:2]]
        async with asyncio.timeout(10):
            await service.arrived.get()
            await service.arrived.get()  # both are now held at the service
        with pytest.raises(RecognizerBusy):
            await recognizer.transcribe(CLIPS[2].audio, mime="audio/ogg")
        service.release.set()
        done = await asyncio.gather(*first)
        assert [t.text for t in done] == ["我妈80多岁了,住在3幢2单元"] * 2
        assert (await recognizer.transcribe(CLIPS[2].audio, mime="audio/ogg")).text
    finally:
        await recognizer.aclose()
