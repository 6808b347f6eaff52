"""The real `amtool` (Alertmanager's CLI, Debian package `prometheus-alertmanager`) for the tests
that drive it, and a real Alertmanager to start for the upstream write-back.

`make test` installs the package as root (the Makefile's SYSTEM_PROGRAMS); where it is missing
these tests skip, naming the package. amtool reads `$HOME/.config/amtool/config.yml`, so every
call gets an empty HOME of its own. amtool and Alertmanager are processes of their own: they keep
the machine's clock when a session travels in time (tests/timetravel.py), which is why a test
that compares their clock with Sparky's asks `same_clock()` first.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port

PACKAGE = "prometheus-alertmanager"
AMTOOL = shutil.which("amtool")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

needs_amtool = pytest.mark.skipif(AMTOOL is None, reason=f"no amtool on PATH: apt-get install {PACKAGE} "
                                                         "(make test installs it as root)")
needs_alertmanager = pytest.mark.skipif(ALERTMANAGER is None, reason=f"no Alertmanager on PATH: apt-get install "
                                                                     f"{PACKAGE} (make test installs it as root)")


@dataclass
class Run:
    rc: int
    out: str
    err: str

    def lines(self) -> list[list[str]]:
        """stdout as table rows: cells split on runs of two or more spaces."""
        return [re.split(r"\s{2,}", line.strip()) for line in self.out.splitlines() if line.strip()]


class Amtool:
    """`amtool --alertmanager.url=<url> ...` with an empty HOME and, optionally, a bearer token."""

    def __init__(self, url: str, home: Path, token: str = ""):
        self.url, self.home = url, home
        self.config: Path | None = None
        if token:
            self.config = home / "http_config.yml"
            self.config.write_text(f"authorization:\n  type: Bearer\n  credentials: {token}\n")

    def __call__(self, *args: str, stdin: str | None = None) -> Run:
        command = [AMTOOL, f"--alertmanager.url={self.url}", *args]
        if self.config is not None:
            command.insert(2, f"--http.config.file={self.config}")
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=30,
                              env={"HOME": str(self.home), "PATH": "/usr/bin:/bin", "TZ": "UTC"})
        return Run(done.returncode, done.stdout, done.stderr)


def machine_time() -> float:
    """The machine's clock, as a subprocess sees it (this process's may travel)."""
    return float(subprocess.run(["date", "+%s.%N"], capture_output=True, text=True, check=True).stdout)


def same_clock(slack: float = 30.0) -> None:
    """Skip a test that needs amtool's clock to be Sparky's, when the session travels in time."""
    if abs(machine_time() - time.time()) > slack:
        pytest.skip("amtool keeps the machine's clock; this session's clock travels (tests/timetravel.py)")


class Alertmanager:
    """A throwaway Alertmanager on a free port: no cluster, storage in `folder`, ready in ~0.1 s."""

    CONFIG = "route:\n  receiver: default\nreceivers:\n- name: default\n"

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "alertmanager.yml"
        config.write_text(self.CONFIG)
        self.log = (folder / "alertmanager.log").open("w")
        self.process = subprocess.Popen(
            [ALERTMANAGER, f"--config.file={config}", f"--storage.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Alertmanager did not get ready on {self.url}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
