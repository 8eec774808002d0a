"""Voice notes into text for the conversation: one place for every channel."""

from __future__ import annotations

import dataclasses

from handlers.messages import Inbound, Transcript
from speech.recognizer import Recognizer


class VoiceHook:
    """Turns a voice Inbound plus its audio into the same Inbound with ``text`` and ``transcript``.

    Recognition errors (too long, undecodable, busy) propagate: each channel answers them politely.
    """

    def __init__(self, recognizer: Recognizer) -> None:
        self.recognizer = recognizer

    async def __call__(self, inbound: Inbound, audio: bytes) -> Inbound:
        mime = inbound.voice.mime if inbound.voice else None
        heard = await self.recognizer.transcribe(audio, mime=mime)
        ref = inbound.voice.ref if inbound.voice else ""
        return dataclasses.replace(
            inbound,
            text=heard.text,
            transcript=Transcript(
                text=heard.text, recognizer=heard.recognizer_name, audio_ref=ref, duration_s=heard.duration_s
            ),
        )
