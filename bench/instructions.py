"""Instructions per alert on the whole in-process alert path, counted by valgrind's callgrind:
the same count on a quiet or a loaded machine, so a change can be measured where wall-clock and
CPU seconds swing from run to run (bench/RESULTS.md).

What is counted: bench/redis_commands.py — POSTs of 64 alerts to /api/v2/alerts through the real
app, the drain job and the delivery jobs in an RQ SimpleWorker, each alert delivered by the
`webhook` action to bench/sink.py — once with 1 POST and once with 4; the difference is 3 POSTs'
work (192 alerts) without start-up and warm-up. Redis and the sink are other processes, not counted.

`--against REV` counts a baseline in the same run: REV's code (checked out in a temporary git
worktree) driven by this tree's bench scripts, and prints this tree / baseline.

usage: python bench/instructions.py [--against REV] [--route webhook|chat]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
SCRIPTS = ("redis_commands.py", "e2e_bench.py", "harness.py", "sink.py")


def count(tree: Path, posts: int, route: str, out: Path) -> int:
    """callgrind's instruction total for bench/redis_commands.py in `tree` with `posts` POSTs."""
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
                    "bench/redis_commands.py", "--batch", "64", "--posts", str(posts), "--route", route],
                   cwd=tree, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return int(re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M).group(1))


def per_alert(tree: Path, route: str, tmp: Path) -> tuple[int, int, float]:
    with ThreadPoolExecutor(2) as pool:   # the two runs side by side: counts do not depend on load
        one, four = pool.map(lambda n: count(tree, n, route, tmp / f"cg.{tree.name}.{n}.out"), (1, 4))
    return one, four, (four - one) / (3 * 64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a git revision to count in the same run")
    parser.add_argument("--route", choices=("webhook", "chat"), default="webhook")
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    tmp = Path(tempfile.mkdtemp(prefix="sparky-cg-"))
    trees = {"this tree": ROOT}
    try:
        if args.against:
            base = tmp / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", str(base), args.against], cwd=ROOT,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name in SCRIPTS:    # the baseline's code, measured by this tree's scripts
                shutil.copy(HERE / name, base / "bench" / name)
            trees = {f"{args.against} (baseline)": base, **trees}
        results = {}
        for name, tree in trees.items():
            one, four, each = results[name] = per_alert(tree, args.route, tmp)
            print(f"{name}: 1 POST {one:,}, 4 POSTs {four:,}: {each / 1e6:.2f} M instructions per alert")
        if args.against:
            (_, _, base_each), (_, _, this_each) = results.values()
            print(f"ratio this tree / {args.against}: {this_each / base_each:.2f}")
    finally:
        if args.against:
            subprocess.run(["git", "worktree", "remove", "--force", str(tmp / "baseline")], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
