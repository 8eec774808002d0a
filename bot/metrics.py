"""Prometheus metrics: what an operator watches (GET /metrics)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inbound = Counter("inbound_messages", "Messages received", ["channel"], registry=self.registry)
        self.turn_seconds = Histogram(
            "turn_seconds",
            "Time from a message to the bot's answer",
            ["channel"],
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
        )
        self.turn_errors = Counter("turn_errors", "Turns that raised", ["channel"], registry=self.registry)
        self.outbox_sent = Gauge("outbox_sent", "Notifications sent by this process", registry=self.registry)
        self.outbox_failed = Gauge(
            "outbox_failed", "Failed send attempts in this process", registry=self.registry
        )
        self.timers_fired = Gauge(
            "timers_fired", "Deadline timers fired by this process", registry=self.registry
        )

    async def handler(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
