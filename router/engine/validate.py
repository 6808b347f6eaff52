"""Child process of `rules check`: build every ruleset in the engine and run the inline tests.

Started by router/engine/check.py through the composition root (`python -m router.assembly`), so
it knows the same actions, facts and commands as its parent.

Reads `{"files": {...}, "display_dir": "..."}` on stdin; prints `step <file>` before each
ruleset (so the parent can name the file if the engine hangs or crashes) and, last, one JSON
line `{"problems": [[file, line, message], ...]}`.
"""
from __future__ import annotations

import json
import sys

from router.engine import durable as engine
from router.engine.check import run_inline_tests
from router.engine.rules import load


def main() -> int:
    request = json.loads(sys.stdin.read())
    rules, problems = load(request["files"], request["display_dir"])
    if problems:
        print(json.dumps({"problems": [[p.file, p.line, p.message] for p in problems]}))
        return 0

    def step(display: str) -> None:
        print(f"step {display}", flush=True)

    eng = engine.get()
    for compiled in rules.rulesets:
        step(compiled.ruleset.display)
        with engine.LOCK:
            eng.handle(compiled, rules.version)
        # An empty probe fact: a tree with a node of 512 children loops here rather than at build.
        eng.run(compiled, rules.version, [{"id": "0"}])
    problems = run_inline_tests(rules, progress=step)
    print(json.dumps({"problems": [[p.file, p.line, p.message] for p in problems]}), flush=True)
    return 0

