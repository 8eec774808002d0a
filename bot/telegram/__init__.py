"""The Telegram channel (python-telegram-bot 22): conversion, sending, polling and webhooks."""

from bot.telegram.channel import TelegramChannel
from bot.telegram.sender import TelegramSender

__all__ = ["TelegramChannel", "TelegramSender"]
