"""A pack command's `examples:`, run offline: the text said, the recorded HTTP response (no
network), a dict brain filled from `brain:`, nothing posted — and the reply compared with the one
expected. The rules loader runs them (so `sparky rules check` and every reload do), and
`sparky commands test` runs them alone.
"""
from __future__ import annotations

import datetime as dt
import json

from router.engine.loader import Problem
from router.packs.formats import Mismatch
from router.packs.model import Example, PackCommand
from router.packs.run import Call, MemoryStore, NoForm, choose, perform
from router.packs.words import split

EXAMPLE_DAY = dt.date(2026, 1, 15)      # `today` in an example without `at:`
FAKE_ENV_VALUE = "example-secret"        # what a pack's env variables read in an example


def run_examples(command: PackCommand, packs: dict) -> list[Problem]:
    return [p for example in command.examples for p in [check(command, example, packs)] if p]


def reply_of(command: PackCommand, example: Example, packs: dict) -> str:
    """The reply the example's text gets, offline."""
    word, tokens = split(example.say)
    today = dt.date.fromisoformat(example.at[:10]) if example.at else EXAMPLE_DAY
    forms = packs.get(word, ())
    if not forms:
        return f"(`{word}` is not a command of this pack)"
    try:
        chosen, params = choose(forms, tokens, today)
    except (NoForm, Mismatch) as exc:
        return str(exc)
    response = example.response or {}

    def fetch(request: dict) -> tuple[int, str]:
        if "json" in response:
            return response.get("status", 200), json.dumps(response["json"])
        return response.get("status", 200), response.get("text", "")

    now = dt.datetime.combine(today, dt.time(12), dt.timezone.utc).timestamp()
    text, _ = perform(chosen, params, Call(who=example.who, room="#example", now=now, today=today),
                      MemoryStore(example.brain), fetch, lambda fields: "example-signal",
                      environ={name: FAKE_ENV_VALUE for name in chosen.env}, quiet=True)
    return text


def check(command: PackCommand, example: Example, packs: dict) -> Problem | None:
    try:
        got = reply_of(command, example, packs)
    except Exception as exc:  # noqa: BLE001  a pack's example must not break loading the rules
        return Problem(command.file, example.line, f'command "{command.name}": example {example.number} '
                                                   f'("{example.say}") failed: {type(exc).__name__}: {exc}')
    if got.strip() == example.reply.strip():
        return None
    return Problem(command.file, example.line, f'command "{command.name}": example {example.number} '
                                               f'("{example.say}"): expected {json.dumps(example.reply.strip())}, '
                                               f'got {json.dumps(got.strip())}')
