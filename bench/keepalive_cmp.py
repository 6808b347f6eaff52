"""CPU per webhook-sized POST through router/core/keepalive.py against the same module at an earlier
commit (default a2f83fb, the `http.client` version), in the same run, alternating, against
bench/sink.py: the client's CPU time (user + system) per request, kept alive, 3000 per round.

usage: python bench/keepalive_cmp.py [--baseline a2f83fb] [--n 3000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import free_port, wait_up  # noqa: E402

from router.core.keepalive import Connections  # noqa: E402


def baseline(commit: str) -> type:
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:router/core/keepalive.py"],
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"keepalive_{commit}")
    sys.modules[module.__name__] = module   # dataclasses look their module up
    exec(compile(source, f"{commit}:router/core/keepalive.py", "exec"), module.__dict__)
    return module.Connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="a2f83fb")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    sink = subprocess.Popen([sys.executable, str(ROOT / "bench" / "sink.py"), str(port)])
    try:
        wait_up(f"http://127.0.0.1:{port}/_stats")
        url = f"http://127.0.0.1:{port}/hook"
        body = json.dumps({"signal": {"id": "x" * 26, "labels": {"a": "b" * 40}, "summary": "s" * 200},
                           "decision": {"rules_version": "v" * 40}}).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Sparky-webhook/1", "Idempotency-Key": "k" * 40}
        clients = {f"{args.baseline} (baseline)": baseline(args.baseline)(), "this tree": Connections()}
        results: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, connections in clients.items():
                for _ in range(200):   # warm: the connection, the caches
                    connections.request("POST", url, body, headers, 5.0)
                start = time.process_time()
                for _ in range(args.n):
                    assert connections.request("POST", url, body, headers, 5.0).status == 200
                results[name].append((time.process_time() - start) / args.n)
        base = statistics.median(results[f"{args.baseline} (baseline)"])
        for name, rounds in results.items():
            print(f"{name:<22} {1e6 * statistics.median(rounds):5.0f} µs CPU per request "
                  f"(rounds: {', '.join(f'{1e6 * r:.0f}' for r in rounds)}), "
                  f"{statistics.median(rounds) / base:.2f}× the baseline")
    finally:
        sink.terminate()


if __name__ == "__main__":
    main()
