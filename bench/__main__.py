"""`python -m bench`: run every bench/*_bench.py in turn, each in its own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    failed = 0
    for path in sorted(Path(__file__).parent.glob("*_bench.py")):
        print(f"== bench.{path.stem}", flush=True)
        # a process each, so one bench's memory and pinned CPU do not colour the next one's figures
        failed += subprocess.run([sys.executable, "-m", f"bench.{path.stem}"], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
