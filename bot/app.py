"""The composition root: builds every part from the configuration and runs them."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import REPO_ROOT, AppConfig, ConfigError, load_config
from bot.http import HEALTH_CHECKS, HttpServer, build_web_app
from bot.loops import PeriodicTask
from bot.metrics import Metrics
from handlers.messages import Channel, Inbound, Outgoing

log = logging.getLogger("bot")
Clock = Callable[[], datetime]
"""Seconds the relay leaves a turn's replies to the direct send (default 15; the fault tests shorten it)."""


def wall_clock() -> datetime:
    return datetime.now(UTC)


def _report_warm_up(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("voice model not loaded at start (it will load on the first note): %s", task.exception())


def database_url(cfg: AppConfig) -> str:
    """SQLite paths in the config are relative to the repository, whatever the working directory."""
    url = cfg.database.url
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not url[len(prefix) :].startswith("/"):
        path = REPO_ROOT / url[len(prefix) :]
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return url


@dataclass
class Service:
    """Everything the running process holds. Started in order, stopped in reverse."""

    cfg: AppConfig
    http: HttpServer
    parts: dict[str, Any] = field(default_factory=dict)
    _starts: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]] | None]] = field(
        default_factory=list
    )
    _stops: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    def on_start(
        self, name: str, start: Callable[[], Awaitable[Any]], stop: Callable[[], Awaitable[Any]] | None = None
    ) -> None:
        self._starts.append((name, start, stop))

    def on_close(self, close: Callable[[], Awaitable[Any]]) -> None:
        """Something built before start that must be released at stop (database, parser)."""
        self._stops.append(close)

    async def start(self) -> None:
        for name, start, stop in self._starts:
            log.debug("starting %s", name)
            await start()
            if stop is not None:
                self._stops.append(stop)

    async def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                await stop()
            except Exception:
                log.exception("error while stopping %s", stop)


def build_parser(cfg: AppConfig) -> Any:
    from nlu.embedded import EmbeddedParser

    embedded = EmbeddedParser()
    if cfg.nlu.backend == "rasa":
        from nlu.rasa_client import RasaParser

        return RasaParser(embedded, cfg.nlu.rasa.url, timeout_s=cfg.nlu.rasa.timeout_s)
    return embedded


async def build_service(cfg: AppConfig, *, clock: Clock = wall_clock) -> Service:
    from bot.relay import DeliveredMarks, OutboxRelay
    from bot.scheduler import DeadlineScheduler
    from bot.voice import VoiceHook
    from bot.webchat import WebChat
    from catalog.loader import load_catalog
    from handlers.cases import CaseService
    from handlers.conversation import ConversationService
    from handlers.settings import ConversationSettings
    from speech.factory import build_recognizer
    from storage.database import Database

    catalog = load_catalog()
    db = await Database.open(database_url(cfg), pool_size=cfg.database.pool_size)  # applies migrations
    metrics = Metrics()
    web_app = build_web_app(cfg.http.max_body_bytes)
    web_app.router.add_get("/metrics", metrics.handler)
    service = Service(cfg=cfg, http=HttpServer(web_app, cfg.http.host, cfg.http.port))
    service.on_close(db.dispose)

    parser = build_parser(cfg)
    # Load the NLU model now rather than during the first resident's message.
    embedded = getattr(parser, "fallback", parser)
    await asyncio.to_thread(lambda: embedded.model)
    if hasattr(parser, "aclose"):
        service.on_close(parser.aclose)
    recognizer = build_recognizer(cfg.voice.model_dump())
    service.on_close(recognizer.aclose)
    voice = VoiceHook(recognizer) if cfg.voice.backend != "none" else None

    relay_task: PeriodicTask | None = None

    def wake_relay() -> None:
        if relay_task is not None:
            relay_task.wake()

    cases = CaseService(db, catalog, clock=clock, low_confidence=cfg.nlu.low_confidence, on_commit=wake_relay)
    conversations = ConversationService(
        db.uow,
        catalog,
        parser,
        cases,
        clock,
        ConversationSettings(low_confidence=cfg.nlu.low_confidence, timezone=cfg.service.timezone),
        reply_grace=timedelta(seconds=cfg.relay.reply_grace_s),
    )
    # Replies are in the outbox from the turn's commit; the channels send them at once and report
    # them here, which marks their rows sent so the relay leaves them alone.
    delivered = DeliveredMarks(db, clock=clock)

    async def on_inbound(inbound: Inbound) -> list[Outgoing]:
        channel = str(inbound.channel)
        metrics.inbound.labels(channel).inc()
        started = time.perf_counter()
        try:
            return await conversations.handle(inbound)
        except Exception:
            metrics.turn_errors.labels(channel).inc()
            raise
        finally:
            metrics.turn_seconds.labels(channel).observe(time.perf_counter() - started)

    senders: dict[Any, Any] = {}

    async def route(out: Outgoing) -> str | None:
        """A reply the conversation addressed to another channel (staff on Telegram, resident on web)."""
        sender = senders.get(out.channel)
        if sender is None:
            raise RuntimeError(f"no sender for {out.channel}; the outbox relay retries the reply")
        result: str | None = await sender.send(out.chat_id, out.reply)
        return result

    webchat = WebChat(
        on_inbound,
        transcribe=recognizer.transcribe if voice is not None else None,
        max_text=4000,
        data_dir=cfg.resolve(cfg.service.data_dir),
        max_body_bytes=cfg.http.max_body_bytes,
        max_voice_s=cfg.voice.max_seconds,
        router=route,
        on_delivered=delivered.add,
    )
    webchat.install(web_app)
    senders[Channel.WEB] = webchat.sender

    telegram = None
    if cfg.telegram.token:
        from bot.telegram import TelegramChannel

        telegram = TelegramChannel(
            cfg.telegram, on_inbound, transcribe=voice, other_senders=senders, on_delivered=delivered.add
        )
        if cfg.telegram.mode == "webhook":
            telegram.mount(web_app)
        senders[Channel.TELEGRAM] = telegram.sender

    relay = OutboxRelay(
        db,
        senders,
        clock=clock,
        batch_size=cfg.relay.batch_size,
        max_attempts=cfg.relay.max_attempts,
        lease_s=cfg.relay.lease_s,
        interval_s=cfg.relay.interval_s,
    )
    relay_task = PeriodicTask("outbox-relay", relay.tick, cfg.relay.interval_s)
    scheduler = DeadlineScheduler(db, cases, clock=clock, interval_s=cfg.scheduler.interval_s)
    scheduler_task = PeriodicTask("deadline-scheduler", scheduler.tick, cfg.scheduler.interval_s)

    async def db_check() -> dict[str, Any]:
        from sqlalchemy import text

        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return {"ok": True, "backend": db.backend}

    async def catalog_check() -> dict[str, Any]:
        return {"services": len(catalog.services), "case_types": len(catalog.case_types)}

    async def loops_check() -> dict[str, Any]:
        metrics.outbox_sent.set(relay.sent)
        metrics.outbox_failed.set(relay.failed)
        metrics.timers_fired.set(scheduler.fired)
        return {
            "relay_sent": relay.sent,
            "relay_failed": relay.failed,
            "timers_fired": scheduler.fired,
            "telegram": cfg.telegram.mode if telegram else "off",
            "nlu": cfg.nlu.backend,
        }

    web_app[HEALTH_CHECKS].update(database=db_check, catalog=catalog_check, loops=loops_check)

    async def catch_up() -> None:
        fired = await scheduler.catch_up()  # deadlines missed while the service was down
        if fired:
            log.info("caught up %d deadline timers missed while stopped", fired)

    async def warm_voice() -> None:
        # The model loads in the recognizer's worker while the service already answers text.
        warm = getattr(recognizer, "warm_up", None)
        if voice is not None and warm is not None:
            task = asyncio.create_task(warm(), name="voice-warm-up")
            task.add_done_callback(_report_warm_up)

    service.on_start("http", service.http.start, service.http.stop)
    service.on_start("voice warm-up", warm_voice)
    service.on_start("scheduler catch-up", catch_up)
    service.on_start("scheduler", scheduler_task.start, scheduler_task.stop)
    service.on_start("relay", relay_task.start, relay_task.stop)
    # Started before the channels and so stopped after them: the marks of their last sends are kept.
    service.on_start("delivered marks", delivered.start, delivered.stop)
    if telegram is not None:
        service.on_start("telegram", telegram.start, telegram.stop)
    service.parts.update(
        db=db,
        catalog=catalog,
        parser=parser,
        cases=cases,
        conversations=conversations,
        webchat=webchat,
        telegram=telegram,
        relay=relay,
        scheduler=scheduler,
        metrics=metrics,
        delivered=delivered,
    )
    return service


async def serve(cfg: AppConfig, stop_event: asyncio.Event | None = None) -> None:
    stop_event = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_event.set)
    service = await build_service(cfg)
    try:
        await service.start()
        log.info(
            "ready: web chat at http://%s:%d/ ; telegram %s",
            cfg.http.host,
            service.http.port,
            cfg.telegram.mode if cfg.telegram.token else "off (no TELEGRAM_TOKEN)",
        )
        await stop_event.wait()
        log.info("stopping")
    finally:
        await service.stop()
        log.info("stopped")


def run_service() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every Bot API request at INFO: two lines a turn under load, and nothing to act on.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        cfg = load_config()
    except ConfigError as e:
        log.error("configuration error: %s", e)
        return 2
    try:
        asyncio.run(serve(cfg))
    except Exception as e:
        if type(e).__name__ == "CatalogError":
            log.error("catalog error: %s", e)
            return 2
        raise
    return 0
