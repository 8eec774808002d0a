"""The details a request needs (the catalog's slots), filled from the text's entities or asked one by one."""

from __future__ import annotations

import re
from typing import Any

from catalog.model import CaseType, Service
from nlu.parse import Parse

OPTIONAL = frozenset({"photo", "id_number", "description"})
"""Details a person may skip: a photo is not always at hand, an id number can be shown on the visit,
and the request itself often says enough."""
CASE_SLOTS = ("address", "description", "photo")
"""A 平安365 case needs a place (address or location) and what is wrong; a photo helps."""
MIN_DESCRIPTION_CHARS = 8  # a request shorter than this says what, not how it is

_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(?:0\d{2,3}-?)?[2-8]\d{6,7}(?!\d)")
_ID = re.compile(r"(?<![\dXx])\d{17}[\dXx](?![\dXx])")
_AGE = re.compile(r"(?<!\d)(\d{1,3})(?!\d)")


def needed_slots(item: Service | CaseType | None, *, for_grid_worker: bool) -> list[str]:
    """What to collect for ``item`` (None: 「都不是」, the center decides), in the catalog's order."""
    slots = list(item.slots) if isinstance(item, Service) else list(CASE_SLOTS)
    if for_grid_worker and not isinstance(item, Service):
        slots.insert(0, "grid")
    return slots


def is_optional(slot: str, draft: dict[str, Any]) -> bool:
    if slot == "address":
        return bool(draft.get("location"))  # a shared location says where
    return slot in OPTIONAL


def prefill(draft: dict[str, Any], parse: Parse, *, registered_community: str | None) -> None:
    """Take what the message already says: address, phone, time, person, age, and the text itself."""
    filled: dict[str, Any] = draft.setdefault("slots", {})
    address = parse.entity("address")
    if address is not None:
        filled.setdefault("address", address.text)
        if address.extra.get("community"):
            draft["community"] = address.extra["community"]
    if not draft.get("community") and registered_community:
        draft["community"] = registered_community
    phone = parse.entity("phone")
    if phone is not None and "*" not in str(phone.value or phone.text):
        filled.setdefault("phone", str(phone.value or phone.text))
    time = parse.entity("time")
    if time is not None:
        filled.setdefault("time", time.text)
        if time.value:
            draft.setdefault("details", {})["time_value"] = str(time.value)
    person = parse.entity("person")
    if person is not None:
        filled.setdefault("person", str(person.value or person.text))
    age = parse.entity("age")
    if age is not None and age.value:
        filled.setdefault("age", int(age.value))
    if len(parse.text.strip()) >= MIN_DESCRIPTION_CHARS or draft.get("kind") != "service":
        filled.setdefault("description", parse.text.strip())


def read_answer(slot: str, text: str, parse: Parse | None) -> Any:
    """The value of a typed answer to the question for ``slot``, or None when it does not fit."""
    text = text.strip()
    if slot == "phone":
        found = _MOBILE.search(text.replace(" ", "").replace("-", "")) or _LANDLINE.search(text)
        return found.group(0) if found else None
    if slot == "age":
        entity = parse.entity("age") if parse else None
        if entity is not None and entity.value:
            return int(entity.value)
        found = _AGE.search(text)
        return int(found.group(1)) if found and 0 < int(found.group(1)) <= 120 else None
    if slot == "id_number":
        found = _ID.search(text)
        return found.group(0).upper() if found else None
    if slot == "address":
        return text if len(text) >= 2 else None
    return text or None
