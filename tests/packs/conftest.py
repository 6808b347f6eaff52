"""Fixtures for command packs: the commands' rules dir with a `commands/` folder, and a fake API."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.conftest import config, env, rules_dir, slack_clock  # noqa: F401  (the commands' fixtures)
from tests.fakehttp import JsonServer

LUNCH = """\
pack: lunch
commands:
  - name: lunch-pick
    formats: ["lunch"]
    description: Where the team goes for lunch today, picked at random
    permission: {allow: ["*"]}
    brain: {op: pick random, key: places}
    reply: "{% if result %}How about {{ result }}?{% else %}The list is empty: `lunch add <place>` first.{% endif %}"
    examples:
      - say: lunch
        brain: {places: [Thai Palace, Burrito Bar]}
        reply: How about Thai Palace?
      - say: lunch
        reply: "The list is empty: `lunch add <place>` first."
  - name: lunch-add
    formats: ["lunch add {place:text}"]
    description: Add a place to the team's lunch list
    permission: {allow: ["*"]}
    brain: {op: list add, key: places, value: "{{ place }}"}
    reply: "{% if changed %}Added {{ place }} ({{ result | length }} places).{% else %}{{ place }} is on the list already.{% endif %}"
    examples:
      - say: lunch add Thai Palace
        reply: Added Thai Palace (1 places).
  - name: lunch-remove
    formats: ["lunch remove {place:text}"]
    description: Take a place off the list
    permission: {allow: [leads]}
    brain: {op: list remove, key: places, value: "{{ place }}"}
    reply: "{% if changed %}Removed {{ place }}.{% else %}{{ place }} was not on the list.{% endif %}"
"""


def write_pack(rules: Path, name: str, text: str | None) -> Path:
    folder = rules / "commands"
    folder.mkdir(exist_ok=True)
    path = folder / name
    if text is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(text)
    return path


class FakeAPI(JsonServer):
    """Any JSON API a pack asks: answers what `answers[path]` holds, records every request."""

    def __init__(self):
        super().__init__()
        self.answers: dict[str, tuple[int, object]] = {}

    def handle(self, method, path, query, body, headers):
        status, payload = self.answers.get(path, (404, {"error": "no such thing"}))
        return status, {}, payload


@pytest.fixture
def api():
    fake = FakeAPI().start()
    yield fake
    fake.stop()
