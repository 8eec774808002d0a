"""The composition root: builds every part from the configuration and runs them."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config import REPO_ROOT, AppConfig, ConfigError, load_config
from bot.http import HEALTH_CHECKS, HttpServer, build_web_app

log = logging.getLogger("bot")


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
    _stops: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    async def start(self) -> None:
        await self.http.start()
        self._stops.append(self.http.stop)

    async def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                await stop()
            except Exception:
                log.exception("error while stopping %s", stop)


async def build_service(cfg: AppConfig) -> Service:
    from catalog.loader import load_catalog
    from storage.database import Database

    catalog = load_catalog()
    db = await Database.open(database_url(cfg))  # applies migrations
    engine = db.engine

    web_app = build_web_app(cfg.http.max_body_bytes)

    async def db_check() -> dict[str, Any]:
        from sqlalchemy import text

        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return {"ok": True, "backend": engine.dialect.name}

    async def catalog_check() -> dict[str, Any]:
        return {"services": len(catalog.services), "case_types": len(catalog.case_types)}

    web_app[HEALTH_CHECKS]["database"] = db_check
    web_app[HEALTH_CHECKS]["catalog"] = catalog_check
    service = Service(cfg=cfg, http=HttpServer(web_app, cfg.http.host, cfg.http.port))
    service._stops.append(db.dispose)
    return service


async def serve(cfg: AppConfig, stop_event: asyncio.Event | None = None) -> None:
    stop_event = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_event.set)
    service = await build_service(cfg)
    try:
        await service.start()
        log.info("ready: web chat at http://%s:%d/ ; telegram %s", cfg.http.host, service.http.port,
                 cfg.telegram.mode if cfg.telegram.token else "off (no TELEGRAM_TOKEN)")
        await stop_event.wait()
        log.info("stopping")
    finally:
        await service.stop()
        log.info("stopped")


def run_service() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
