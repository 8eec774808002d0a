"""The outbox relay: send and mark, retry with backoff, dead letters, the crash window, two relays."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from engine_helpers import Clock, Team, outbox_rows, request

from bot.relay import OutboxRelay
from bot.senders import DeliveryError
from handlers.cases import CaseService
from handlers.messages import Channel, Reply
from storage.database import Database
from storage.outbox import DEAD, PENDING, SENT


class RecordingSender:
    """A channel double: records what it was given; fails as told."""

    channel = Channel.TELEGRAM

    def __init__(self) -> None:
        self.sent: list[tuple[str, Reply]] = []
        self.fail_next: list[DeliveryError | Exception] = []
        self._ids = 0

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        if self.fail_next:
            raise self.fail_next.pop(0)
        await asyncio.sleep(0)  # let another relay run between sends
        self.sent.append((chat_id, reply))
        self._ids += 1
        return f"m{self._ids}"


def relay(db: Database, sender: RecordingSender, clock: Clock, name: str = "r1", **kw: object) -> OutboxRelay:
    return OutboxRelay(db, {"telegram": sender}, worker_id=name, clock=clock, jitter=lambda: 0.0, **kw)  # type: ignore[arg-type]


async def _one_case(service: CaseService, team: Team) -> str:
    case = (await service.submit(request(team.resident, "HJ01"))).case
    assert case is not None
    return case.id


async def test_sends_renders_and_marks_sent(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    case_id = await _one_case(service, team)
    sender = RecordingSender()
    r = relay(db, sender, clock)
    await r.tick()
    rows = await outbox_rows(db, case_id)
    pending = [x for x in rows if x.status != "unroutable"]
    assert pending and all(x.status == SENT and x.external_message_id for x in pending)
    assert len(sender.sent) == len(pending)
    to_staff = [reply for chat, reply in sender.sent if chat == "chat-200"]
    assert to_staff and "【新工单】" in to_staff[0].text
    assert [b.data.split("|")[0] for b in to_staff[0].buttons[0]] == ["acc", "ret"]
    await r.tick()
    assert len(sender.sent) == len(pending)  # marked once, never sent again


async def test_transient_failure_backs_off_then_succeeds(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    case_id = await _one_case(service, team)
    sender = RecordingSender()
    rows = [x for x in await outbox_rows(db, case_id) if x.status == PENDING]
    sender.fail_next = [DeliveryError("timeout")]
    r = relay(db, sender, clock, batch_size=1)
    await r.tick()
    first = next(x for x in await outbox_rows(db, case_id) if x.id == rows[0].id)
    assert first.status == PENDING and first.attempts == 1 and first.last_error == "timeout"
    assert first.next_attempt_at == clock.now + timedelta(seconds=5)
    clock.advance(seconds=4)
    await r.tick()  # another row goes out; the failed one waits for its backoff
    waiting = next(x for x in await outbox_rows(db, case_id) if x.id == rows[0].id)
    assert waiting.status == PENDING and waiting.attempts == 1
    clock.advance(seconds=2)
    while await r.tick():
        pass
    done = next(x for x in await outbox_rows(db, case_id) if x.id == rows[0].id)
    assert done.status == SENT and done.attempts == 2


async def test_retry_after_and_jitter_lengthen_the_delay(db: Database, clock: Clock) -> None:
    r = OutboxRelay(db, {}, clock=clock, jitter=lambda: 1.0)
    assert r.retry_delay(1) == timedelta(seconds=7.5)
    assert r.retry_delay(3) == timedelta(seconds=30)
    assert r.retry_delay(1, retry_after_s=40) == timedelta(seconds=40)


async def test_permanent_error_and_max_attempts_make_rows_dead(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    case_id = await _one_case(service, team)
    sender = RecordingSender()
    sender.fail_next = [DeliveryError("bot was blocked by the user", permanent=True)]
    r = relay(db, sender, clock, batch_size=1, max_attempts=3)
    await r.tick()
    rows = [x for x in await outbox_rows(db, case_id) if x.status != "unroutable"]
    assert rows[0].status == DEAD and rows[0].attempts == 1
    second = rows[1]
    for _ in range(3):
        sender.fail_next = [DeliveryError("502 bad gateway")]
        await r.tick()
        clock.advance(hours=1)
    after = next(x for x in await outbox_rows(db, case_id) if x.id == second.id)
    assert after.status == DEAD and after.attempts == 3
    assert r.dead == 2


async def test_crash_between_send_and_mark_resends_after_the_lease(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    case_id = await _one_case(service, team)
    sender = RecordingSender()
    crashed = relay(db, sender, clock, "crashed", lease_s=60)
    batch = await crashed.claim()
    assert batch
    await sender.send(batch[0].chat_id, Reply("sent, then the process died"))  # never marked
    survivor = relay(db, sender, clock, "survivor", lease_s=60)
    await survivor.tick()
    assert batch[0].id not in [x.id for x in await outbox_rows(db, case_id) if x.status == SENT]
    clock.advance(seconds=61)  # the dead worker's lease has run out
    await survivor.tick()
    row = next(x for x in await outbox_rows(db, case_id) if x.id == batch[0].id)
    assert row.status == SENT and row.attempts == 2
    assert [c for c, _ in sender.sent].count(batch[0].chat_id) >= 2  # at least once: repeated, not lost


async def test_missing_sender_is_retried_not_dropped(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    case_id = await _one_case(service, team)
    r = OutboxRelay(db, {}, worker_id="nosend", clock=clock, jitter=lambda: 0.0)
    await r.tick()
    rows = [x for x in await outbox_rows(db, case_id) if x.status != "unroutable"]
    assert rows and all(x.status == PENDING and x.attempts == 1 for x in rows)


async def test_two_relays_never_send_a_row_twice(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    for i in range(6):
        await service.submit(request(team.resident, "HJ01", grid=f"HB0{1 + i % 3}-{1 + i // 3}"))
    sender = RecordingSender()
    a = relay(db, sender, clock, "a", batch_size=3)
    b = relay(db, sender, clock, "b", batch_size=3)

    async def drain(x: OutboxRelay) -> None:
        while await x.tick():
            pass

    await asyncio.gather(drain(a), drain(b), drain(a), drain(b))
    rows = [x for x in await outbox_rows(db) if x.status != "unroutable"]
    assert rows and all(x.status == SENT and x.attempts == 1 for x in rows)
    assert len(sender.sent) == len(rows)
    assert a.sent + b.sent == len(rows)
