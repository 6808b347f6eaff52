"""pyflakes-level lint over the whole tree (ruff, rules in pyproject.toml): no unused imports,
no undefined names. Cheap, and it catches what a merge of parallel work leaves behind."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise",
                             "router", "sources", "actions", "tests", "bench", "worker.py", "wsgi.py"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
