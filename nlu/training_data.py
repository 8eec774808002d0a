"""Readers for Rasa 3.x NLU training files and for examples.yml-style test files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nlu.parse import NONE_INTENT

# [text](entity), [text](entity:value) or [text]{"entity": "...", "value": ...}
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^)]+)\)|(?P<json>\{[^}]*\}))")


@dataclass(frozen=True, slots=True)
class Span:
    """An annotated entity in a training example, with offsets into the stripped text."""

    entity: str
    start: int
    end: int
    text: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    spans: tuple[Span, ...] = field(default=())
    source: str = ""
    speaker: str = ""


def strip_annotations(marked: str) -> tuple[str, tuple[Span, ...]]:
    """Remove Rasa entity markup and return the plain text with the entity spans."""
    out: list[str] = []
    spans: list[Span] = []
    pos = 0
    length = 0
    for m in _ANNOTATION.finditer(marked):
        before = marked[pos : m.start()]
        out.append(before)
        length += len(before)
        text = m.group("text")
        value: str | None = None
        if m.group("entity"):
            entity, _, val = m.group("entity").partition(":")
            value = val or None
        else:
            try:
                meta = json.loads(m.group("json"))
            except json.JSONDecodeError:
                meta = {}
            entity = str(meta.get("entity", ""))
            value = None if meta.get("value") is None else str(meta["value"])
        if entity:
            spans.append(Span(entity.strip(), length, length + len(text), text, value))
        out.append(text)
        length += len(text)
        pos = m.end()
    out.append(marked[pos:])
    return "".join(out), tuple(spans)


def _example_lines(block: str) -> Iterable[str]:
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("- "):
            yield line[2:].strip()
        elif line.startswith("-") and len(line) > 1:
            yield line[1:].strip()


def read_rasa_nlu(path: Path) -> list[Example]:
    """All intent examples of one Rasa NLU YAML file (synonyms, regexes and lookups are ignored)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples: list[Example] = []
    for item in doc.get("nlu") or []:
        if not isinstance(item, dict) or "intent" not in item:
            continue
        label = str(item["intent"]).strip()
        block = item.get("examples") or ""
        lines = _example_lines(block) if isinstance(block, str) else (str(x) for x in block)
        for line in lines:
            text, spans = strip_annotations(line)
            if text.strip():
                examples.append(Example(text, label, spans, path.name))
    return examples


def read_examples_file(path: Path) -> list[Example]:
    """Items of a test file in the format of examples.yml; the label `none` becomes `out_of_scope`."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = doc.get("items", []) if isinstance(doc, dict) else doc
    out: list[Example] = []
    for item in items or []:
        if not isinstance(item, dict) or not item.get("text"):
            continue
        label = str(item.get("label", "")).strip()
        if label in ("none", ""):
            label = NONE_INTENT
        text, spans = strip_annotations(str(item["text"]))
        out.append(Example(text, label, spans, path.name, str(item.get("speaker", ""))))
    return out


def read_dir(directory: Path, reader: str = "rasa") -> list[Example]:
    """Every example of every *.yml file in a folder, in file-name order."""
    read = read_rasa_nlu if reader == "rasa" else read_examples_file
    examples: list[Example] = []
    for path in sorted(directory.glob("*.yml")):
        examples.extend(read(path))
    return examples
