"""The baseline: a bare python-telegram-bot echo bot, as the PTB examples write one.

.venv/bin/python bench/echo_bot.py BASE_URL TOKEN  (e2e_bench.py starts it against the fake server)
"""

from __future__ import annotations

import logging
import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def main(base_url: str, token: str) -> None:
    logging.basicConfig(level=logging.WARNING)
    app = Application.builder().token(token).base_url(base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
