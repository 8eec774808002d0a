"""Voice notes to text: one Recognizer interface, faster-whisper on the CPU by default."""

from speech.factory import build_recognizer
from speech.recognizer import (
    AudioTooLong,
    Recognizer,
    RecognizerBusy,
    RecognizerUnavailable,
    SpeechError,
    Transcript,
    UndecodableAudio,
)

__all__ = [
    "AudioTooLong",
    "Recognizer",
    "RecognizerBusy",
    "RecognizerUnavailable",
    "SpeechError",
    "Transcript",
    "UndecodableAudio",
    "build_recognizer",
]
