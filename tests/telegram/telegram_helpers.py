"""Shared pieces of the Telegram adapter tests: an echo conversation and the channel config."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.config import RateLimitSection, TelegramSection
from bot.telegram import TelegramChannel
from handlers.messages import Button, ButtonKind, Inbound, Outgoing, Reply
from tests.fakes.botapi import FakeBotApi

USER = 5001  # a private chat: chat id == user id
GROUP = -100777


@dataclass
class EchoBot:
    """A stand-in for the conversation service: says back what it understood, records inbounds."""

    seen: list[Inbound] = field(default_factory=list)
    fail_on: str | None = None

    async def __call__(self, inbound: Inbound) -> list[Outgoing]:
        self.seen.append(inbound)
        if self.fail_on is not None and inbound.text == self.fail_on:
            raise RuntimeError("boom: a bug in the conversation")
        return [Outgoing(inbound.channel, inbound.chat_id, self.answer(inbound))]

    def answer(self, i: Inbound) -> Reply:
        if i.extra.get("command") == "start":
            return Reply(
                "欢迎",
                buttons=(
                    (Button("我的事项", "menu|my"), Button("怎么用", "menu|help")),
                    (Button("📱 留下我的电话", kind=ButtonKind.SHARE_PHONE),),
                ),
            )
        if i.text is not None and i.text.startswith("long:"):
            return Reply("\n".join(f"第{n}行 " + "字" * 90 for n in range(int(i.text[5:]))))
        if i.callback_data is not None:
            return Reply(f"pressed {i.callback_data}")
        if i.phone is not None:
            return Reply(f"phone {i.phone}", remove_keyboard=True)
        if i.location is not None:
            return Reply(f"location {i.location[0]:.4f},{i.location[1]:.4f}")
        if i.photo is not None:
            return Reply(f"photo {i.photo.size} {i.text or ''}".strip())
        if i.transcript is not None:
            return Reply(f"heard {i.text}")
        return Reply(f"echo {i.text}")


def section(fake: FakeBotApi, **kw: object) -> TelegramSection:
    return TelegramSection(
        token=fake.token,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        poll_timeout_s=1,
        rate_limit=RateLimitSection(per_chat_per_s=50, overall_per_s=500, per_group_per_min=600),
        **kw,
    )  # type: ignore[arg-type]


ChannelFactory = Callable[..., Awaitable[TelegramChannel]]
