"""Fixtures for the write API: the chat commands' rules dir (people, permissions, guardrails,
routing to #ops) and worker environment, reused from tests/commands; tests/api/test_deploys.py
takes the deploy fixtures from tests/deploy instead (a module's fixtures override these)."""
from __future__ import annotations

import pytest

from router.core import brain
from tests.commands import conftest as chat_fixtures
from tests.commands.conftest import fire

# The chat commands' fixtures, reused: rules dir, worker environment, app config, Slack clock.
rules_dir, env, config, slack_clock = (chat_fixtures.rules_dir, chat_fixtures.env, chat_fixtures.config,
                                       chat_fixtures.slack_clock)


def audit(redis, **match: str) -> list[dict]:
    """Audit entries, oldest first, whose fields equal `match`."""
    entries, _ = brain.audit_entries(redis, 1000)
    return [e for e in reversed(entries) if all(e.get(k) == v for k, v in match.items())]


@pytest.fixture
def alerts(redis, env):
    """Five firing alerts: two production web checks, two staging disks, one with no env."""
    return [fire(redis, "web-01/HTTP", env="production"), fire(redis, "web-02/HTTP", env="production"),
            fire(redis, "db-01/Disk Space", env="staging"), fire(redis, "db-02/Disk Space", env="staging"),
            fire(redis, "cache-01/Memory")]
