"""Run `python worker.py` under cProfile counting CPU time (not wall time: the box is shared),
writing the stats to PATH when the worker stops (SIGTERM, as the benchmark stops it).

usage: python bench/profile_worker.py PATH   (then: python -m pstats PATH)
"""
import cProfile
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import worker  # noqa: E402


def main() -> None:
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    try:
        worker.main([])
    finally:
        profile.disable()
        profile.dump_stats(sys.argv[1])


if __name__ == "__main__":
    main()
