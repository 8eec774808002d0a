"""`python -m bot` runs the service; `python -m bot <command>` runs an admin command."""

from __future__ import annotations

import sys

ADMIN_COMMANDS = {"staff", "gridworker", "dispatcher", "invite"}


def main(argv: list[str]) -> int:
    if argv and argv[0] in ADMIN_COMMANDS:
        from bot.admin_cli import main as admin_main

        return admin_main(argv)
    if argv and argv[0] == "report":
        from bot.report_cli import main as report_main

        return report_main(argv[1:])
    if argv and argv[0] not in ("serve",):
        print(
            f"unknown command: {argv[0]}\nusage: python -m bot [serve | report | {' | '.join(sorted(ADMIN_COMMANDS))}]"
        )
        return 2
    from bot.app import run_service

    return run_service()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
