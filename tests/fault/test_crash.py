"""kill -9 in the middle of a load run, restart, and check from the database and from the fake
Bot API server's record that nothing was lost, duplicated or left stuck.

"Accepted" is what Telegram considers delivered: the bot confirmed the update (a later
getUpdates offset) or answered its webhook POST with 2xx.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest

from bench.harness import (
    BotProcess,
    Person,
    Texts,
    database_url,
    fake_server,
    query,
    seed_staff,
    workdir,
    write_config,
)
from bot.telegram.convert import to_send_calls
from handlers.notices import render

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

RESIDENTS = 16
# The relay sends a turn's replies itself once this grace period is over (production: 15 s).
GRACE_S = 8  # longer than a turn's replies wait in the per-chat queue


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


async def _drain_outbox(db_url: str, timeout_s: float = 40) -> list[tuple[object, ...]]:
    """Wait until the relay has nothing left to send; returns the rows not sent."""
    rows: list[tuple[object, ...]] = []
    for _ in range(int(timeout_s / 0.25)):
        rows = await query(db_url, "SELECT id, kind, chat_id, status FROM outbox WHERE status <> 'sent'")
        if not rows:
            return rows
        await asyncio.sleep(0.25)
    return rows


async def test_kill_9_mid_run_loses_and_duplicates_nothing(tmp_path) -> None:
    wd = workdir("crash-")
    texts = Texts.load()
    rng = random.Random(7)
    async with fake_server() as fake, database_url("sqlite", wd) as url:
        staff = await seed_staff(url, fake)
        cfg = write_config(wd, lease_s=3, reply_grace_s=GRACE_S)
        bot = BotProcess(fake, url, cfg, log_path=wd / "bot.log")
        await bot.start()
        people = [
            Person(
                fake,
                7000 + i,
                rng.choice(texts.resident),
                random.Random(i),
                think_s=(0.2, 0.6),
                timeout_s=90,
                settle_s=1.2,
            )
            for i in range(RESIDENTS)
        ]
        runs = [asyncio.create_task(p.run_dialogue()) for p in people]
        # Kill once some cases exist and the others are mid-dialogue.
        for _ in range(200):
            if (await query(url, "SELECT count(*) FROM cases"))[0][0] >= 2:
                break
            await asyncio.sleep(0.1)
        bot.kill()
        killed_at_updates = max(fake._injected_at)
        bot = BotProcess(fake, url, cfg, log_path=wd / "bot.log", port=bot.port)
        await bot.start()
        numbers = await asyncio.gather(*runs)
        not_sent = await _drain_outbox(url)
        await bot.stop()

        redelivered = [u.update["update_id"] for u in fake._pending if u.delivered > 1]
        accepted = set(fake.accepted())
        injected = set(fake._injected_at)
        handled = {
            int(k.removeprefix("turn:tg:"))
            for (k,) in await query(
                url, "SELECT update_id FROM inbound_updates WHERE update_id LIKE 'turn:tg:%'"
            )
        }
        cases = await query(url, "SELECT number, chat_id, status, id FROM cases")
        submits = await query(
            url, "SELECT update_id, case_id FROM inbound_updates WHERE update_id LIKE 'submit:%'"
        )
        timers = await query(
            url, "SELECT DISTINCT case_id FROM timers WHERE fired_at IS NULL AND NOT cancelled"
        )
        sent_rows = await query(
            url, "SELECT chat_id, external_message_id FROM outbox WHERE status = 'sent' AND kind <> 'reply'"
        )
        replies = await query(url, "SELECT chat_id, external_message_id FROM outbox WHERE kind = 'reply'")

    lost = [(p.chat_id, u) for p in people for u in p.lost_replies]
    report = (
        f"{len(injected)} updates, {len(accepted)} accepted, killed after update {killed_at_updates}, "
        f"{len(redelivered)} still pending re-delivered; {len(cases)} cases; {len(replies)} replies; "
        f"accepted updates whose reply came only after the person's wait (sent by the relay): {lost}"
    )
    print(report)
    # Every update was accepted in the end, and every accepted update was handled by the conversation.
    assert accepted == injected, report
    assert accepted <= handled, f"accepted but never handled: {sorted(accepted - handled)}"
    # Exactly one case per resident who got a number, none for the others, none twice.
    by_chat: dict[str, list[str]] = {}
    for number, chat, _status, _id in cases:
        by_chat.setdefault(chat, []).append(number)
    assert all(len(v) == 1 for v in by_chat.values()), by_chat
    assert len({c[0] for c in cases}) == len(cases), "a case number was issued twice"
    assert len(submits) == len(cases) and {s[1] for s in submits} == {c[3] for c in cases}
    told = {str(p.chat_id): p.case_number for p in people if p.case_number}
    unheard = {str(c) for c, _ in lost}
    stored = {chat: nums[0] for chat, nums in by_chat.items() if chat not in unheard}
    assert told == stored, "case numbers told vs stored differ"
    # Every reply and notification delivered: nothing left in the outbox (replies included, whether
    # the channel sent them at once or the relay after the crash), each sent row in the fake's record.
    assert not_sent == [], not_sent
    assert all(ext is not None for _c, ext in replies), "a reply row marked sent without its message id"
    for chat, nums in by_chat.items():  # every stored case number reached its resident, even the unheard
        assert any(nums[0] in m.text for m in fake.by_chat.get(int(chat), [])), (chat, nums)
    for chat, message_id in sent_rows:
        assert any(m["message_id"] == int(str(message_id)) for m in fake.sent_to(int(str(chat)))), (
            chat,
            message_id,
        )
    assert {int(c) for c, _ in sent_rows} <= set(staff.chats)
    # No case stuck: each is with a department (or the center) and has its deadline timers waiting.
    assert all(status in ("assigned", "submitted") for _n, _c, status, _i in cases)
    assert {c[3] for c in cases} <= {t[0] for t in timers}, "a case without pending deadline timers"
    assert len(numbers) == RESIDENTS


async def test_reply_of_a_committed_turn_survives_a_crash(tmp_path) -> None:
    """The turn is committed (its replies with it) and confirmed; its reply is held on the wire and
    the process is killed. After the restart the relay sends the reply from the outbox."""
    wd = workdir("crash-window-")
    async with fake_server() as fake, database_url("sqlite", wd) as url:
        await seed_staff(url, fake)
        cfg = write_config(wd, reply_grace_s=GRACE_S)
        bot = BotProcess(fake, url, cfg, log_path=wd / "bot.log")
        await bot.start()
        chat = 7100
        fake.add_chat(chat)
        fake.hold(chat)  # the turn is processed and committed; its reply is then held on the wire
        update = fake.send_text(chat, "我家楼下的路灯坏了好几天了，晚上很黑")
        await fake._notify()
        await fake.wait_until(lambda: fake.held_calls >= 1, 30)
        await asyncio.sleep(0.2)
        bot.kill()
        fake.release(deliver=False)  # the process is gone: that reply never reached Telegram
        assert not fake.by_chat.get(chat)
        bot = BotProcess(fake, url, cfg, log_path=wd / "bot.log", port=bot.port)
        await bot.start()
        await fake.wait_handled(update["update_id"], 30)  # confirmed before the kill, or re-delivered
        await fake.wait_sent(chat, 1, 30)
        await asyncio.sleep(0.5)
        await bot.stop()
        state = await query(url, f"SELECT state FROM conversations WHERE chat_id = '{chat}'")
        rows = await query(
            url, f"SELECT status, payload FROM outbox WHERE chat_id = '{chat}' AND kind = 'reply'"
        )
    assert state, "the turn was not committed before the kill; the window was not hit"
    assert rows and all(status == "sent" for status, _ in rows), rows
    texts = [m.text for m in fake.by_chat[chat]]
    # Each reply of the turn once, none lost (a reply with a big keyboard is two Telegram messages).
    expected = [
        c.kwargs["text"]
        for _s, payload in rows
        for c in to_send_calls(str(chat), render("reply", _json(payload)))
    ]
    assert texts == expected
