"""Photos and voice notes: uploaded over HTTP with the chat token, then sent as a frame with the ref."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from webchat_helpers import MAX_BODY, EchoBot, open_chat, receive

from bot.http import build_web_app
from bot.webchat import WebChat, chat_id_for, new_token
from handlers.messages import Reply
from speech.recognizer import AudioTooLong, RecognizerBusy, Transcript, UndecodableAudio

VOICE_CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "voice" / "v02.ogg"


def jpeg(width: int = 64, height: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(buf, "JPEG")
    return buf.getvalue()


async def upload(client: TestClient, token: str | None, kind: str, body: bytes, mime: str = "image/jpeg"):
    headers = {"Content-Type": mime}
    if token is not None:
        headers["X-Chat-Token"] = token
    return await client.post(f"/webchat/upload?kind={kind}", data=body, headers=headers)


async def test_a_photo_goes_through_with_its_caption(client: TestClient, echo: EchoBot) -> None:
    token = new_token()
    data = jpeg()
    r = await upload(client, token, "photo", data)
    assert r.status == 200
    body = await r.json()
    assert body["mime"] == "image/jpeg" and body["size"] == len(data)
    ws, _ = await open_chat(client, token)
    await ws.send_json({"type": "photo", "id": "photo0001", "ref": body["ref"], "caption": "井盖坏了"})
    assert (await receive(ws))["text"] == f"照片：image/jpeg {len(data)} 字节 说明：井盖坏了"
    [inbound] = echo.inbounds
    assert inbound.photo is not None
    assert await asyncio.to_thread(Path(inbound.photo.ref).read_bytes) == data
    assert inbound.text == "井盖坏了"
    await ws.close()


async def test_a_ref_is_only_good_for_the_chat_and_kind_that_uploaded_it(
    client: TestClient, echo: EchoBot
) -> None:
    owner, thief = new_token(), new_token()
    ref = (await (await upload(client, owner, "photo", jpeg())).json())["ref"]
    ws, _ = await open_chat(client, thief)
    await ws.send_json({"type": "photo", "id": "steal0001", "ref": ref})
    assert (await receive(ws))["code"] == "bad_ref"
    await ws.close()
    ws, _ = await open_chat(client, owner)
    await ws.send_json({"type": "voice", "id": "kind00001", "ref": ref})
    assert (await receive(ws))["code"] == "bad_ref"
    await ws.close()
    assert echo.inbounds == []


async def test_uploads_are_checked(client: TestClient) -> None:
    token = new_token()
    assert (await upload(client, None, "photo", jpeg())).status == 401
    assert (await upload(client, "not-a-token", "photo", jpeg())).status == 401
    assert (await upload(client, token, "sticker", jpeg())).status == 400
    # The content decides, not the header: a script called a JPEG is refused.
    r = await upload(client, token, "photo", b"<script>alert(1)</script>", "image/jpeg")
    assert r.status == 415
    assert (await r.json())["ok"] is False
    assert (await upload(client, token, "voice", jpeg(), "audio/webm")).status == 415
    assert (await upload(client, token, "photo", b"\xff\xd8\xff" + b"0" * MAX_BODY)).status == 413
    r = await client.post(
        "/webchat/upload?kind=photo",
        data=jpeg(),
        headers={"X-Chat-Token": token, "Origin": "http://evil.example"},
    )
    assert r.status == 403


async def test_a_photo_in_a_reply_is_shown_by_its_ref(client: TestClient, webchat: WebChat) -> None:
    # A department's completion photo uploaded through the web chat, sent to the resident.
    staff, resident = new_token(), new_token()
    data = jpeg(32, 32)
    ref = (await (await upload(client, staff, "photo", data)).json())["ref"]
    path = webchat.uploads.find(ref)
    assert path is not None
    ws, _ = await open_chat(client, resident)
    await webchat.sender.send(chat_id_for(resident), Reply("已办结，请看照片", photo_ref=str(path.path)))
    frame = await receive(ws)
    assert frame["photo"] == f"/webchat/media/{ref}"
    r = await client.get(frame["photo"])
    assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert await r.read() == data
    # A photo from another channel cannot be shown here: the text says there is one.
    await webchat.sender.send(chat_id_for(resident), Reply("已办结", photo_ref="AgACAgUAAxkBAAIB"))
    frame = await receive(ws)
    assert frame["photo"] is None and frame["text"] == "已办结\n（附照片）"
    assert (await client.get("/webchat/media/photo_AAAAAAAAAAAAAAAAAAAAAA")).status == 404
    await ws.close()


@dataclass
class FakeRecognizer:
    """Stands in for speech.Recognizer.transcribe; records what reached it."""

    text: str = "楼下路灯坏了"
    error: Exception | None = None
    heard: list[tuple[bytes, str | None]] = field(default_factory=list)

    async def transcribe(self, audio: bytes, *, mime: str | None = None) -> Transcript:
        self.heard.append((audio, mime))
        if self.error is not None:
            raise self.error
        return Transcript(self.text, "fake", 2.5, "zh")


async def voice_chat(tmp_path: Path, echo: EchoBot, recognizer: FakeRecognizer | None):
    chat = WebChat(echo, recognizer.transcribe if recognizer else None, data_dir=tmp_path)
    app = build_web_app(1 << 20)
    chat.install(app)
    return TestClient(TestServer(app))


async def test_a_voice_note_is_transcribed_and_handled_as_text(tmp_path: Path, echo: EchoBot) -> None:
    recognizer = FakeRecognizer()
    clip = VOICE_CLIP.read_bytes()
    async with await voice_chat(tmp_path, echo, recognizer) as client:
        token = new_token()
        r = await upload(client, token, "voice", clip, "audio/ogg;codecs=opus")
        body = await r.json()
        assert body["mime"] == "audio/ogg"
        ws, _ = await open_chat(client, token)
        await ws.send_json({"type": "voice", "id": "voice0001", "ref": body["ref"]})
        assert (await receive(ws))["text"] == "听到：楼下路灯坏了"
        await ws.close()
    assert recognizer.heard == [(clip, "audio/ogg")]
    [inbound] = echo.inbounds
    assert inbound.text == "楼下路灯坏了"
    assert inbound.voice is not None and inbound.voice.duration_s == 2.5
    assert inbound.transcript is not None and inbound.transcript.recognizer == "fake"
    assert inbound.transcript.audio_ref == inbound.voice.ref


async def test_voice_problems_get_a_plain_answer(tmp_path: Path, echo: EchoBot) -> None:
    cases = [
        (None, "现在听不了语音"),
        (FakeRecognizer(error=AudioTooLong(130, 120)), "最长 120 秒"),
        (FakeRecognizer(error=RecognizerBusy()), "过一会再发"),
        (FakeRecognizer(error=UndecodableAudio()), "没有听清"),
        (FakeRecognizer(text="  "), "没有听清"),
    ]
    for n, (recognizer, expected) in enumerate(cases):
        async with await voice_chat(tmp_path / str(n), echo, recognizer) as client:
            token = new_token()
            ref = (await (await upload(client, token, "voice", VOICE_CLIP.read_bytes(), "audio/ogg")).json())[
                "ref"
            ]
            ws, _ = await open_chat(client, token)
            await ws.send_json({"type": "voice", "id": f"voice000{n}", "ref": ref})
            reply = await receive(ws)
            assert reply["type"] == "reply" and expected in reply["text"], reply
            assert (await receive(ws))["type"] == "done"
            await ws.close()
    assert echo.inbounds == []
