"""CPU per chat.postMessage: slack_sdk's WebClient (a new connection per call) against Sparky's
PooledWebClient (the same client over a keep-alive pool, router/chat/slack.py), in the same run,
alternating, against bench/sink.py standing in for Slack. CPU seconds (user + system) of this
process and of the sink, per message: less disturbed by a loaded machine than wall time.

usage: python bench/slack_client.py [--n 500] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402

from router.chat.slack import PooledWebClient  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    sink = subprocess.Popen([sys.executable, str(Path(__file__).parent / "sink.py"), str(port)])
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/api/"
        clients = {"WebClient (urllib, new connection each)": WebClient(token="xoxb-bench", base_url=url, retry_handlers=[]),
                   "PooledWebClient (keep-alive)": PooledWebClient(token="xoxb-bench", base_url=url, retry_handlers=[])}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, web in clients.items():
                mine, theirs = time.process_time(), cpu_of(sink.pid)
                for j in range(args.n):
                    web.chat_postMessage(channel="#bench", text=f"message {j}",
                                         blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": f"m {j}"}}])
                results[name].append(((time.process_time() - mine) / args.n, (cpu_of(sink.pid) - theirs) / args.n))
        for name, rounds in results.items():
            client = statistics.median(r[0] for r in rounds)
            server = statistics.median(r[1] for r in rounds)
            print(f"{name:<42} client {1e6 * client:5.0f} µs, sink {1e6 * server:5.0f} µs CPU per message "
                  f"(rounds: {', '.join(f'{1e6 * r[0]:.0f}/{1e6 * r[1]:.0f}' for r in rounds)})")
    finally:
        sink.terminate()


if __name__ == "__main__":
    main()
