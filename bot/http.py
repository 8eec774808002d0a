"""The aiohttp server: health, and the place where web chat and webhooks mount their routes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]
STARTED_AT = web.AppKey("started_at", float)
HEALTH_CHECKS = web.AppKey("health_checks", dict)


@web.middleware
async def json_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Every error becomes a short JSON body with the right status; never a stack trace."""
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400 or e.content_type == "application/json":
            raise
        return web.json_response({"ok": False, "error": e.reason}, status=e.status)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"ok": False, "error": "internal error"}, status=500)


async def health(request: web.Request) -> web.Response:
    checks: dict[str, HealthCheck] = request.app[HEALTH_CHECKS]
    body: dict[str, Any] = {"status": "ok", "uptime_s": round(time.monotonic() - request.app[STARTED_AT], 1)}
    status = 200
    for name, check in checks.items():
        try:
            body[name] = await check()
        except Exception as e:  # a failing dependency makes the service unhealthy, not crashed
            body[name] = {"ok": False, "error": type(e).__name__}
            body["status"] = "degraded"
            status = 503
    return web.json_response(body, status=status)


def build_web_app(max_body_bytes: int) -> web.Application:
    app = web.Application(client_max_size=max_body_bytes, middlewares=[json_errors])
    app[STARTED_AT] = time.monotonic()
    app[HEALTH_CHECKS] = {}
    app.router.add_get("/health", health)
    return app


class HttpServer:
    """Owns the runner and site so the process can start and stop it cleanly."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        # Port 0 picks a free port; report the real one.
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("http listening on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
