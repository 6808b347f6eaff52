"""Every file shipped in rules/ loads, and every ruleset's inline tests pass (Keep's workflow-examples
job for Sparky): one test per file, through the real engine."""
from __future__ import annotations

import pytest

from router.config import DEFAULT_RULES_DIR
from router.engine.check import run_inline_tests
from router.engine.loader import read_dir
from router.engine.rules import Rules, load

FILES = sorted(read_dir(DEFAULT_RULES_DIR))
RULES, PROBLEMS = load(read_dir(DEFAULT_RULES_DIR), "rules")


def test_the_shipped_rules_dir_has_every_file_spec_names():
    assert set(FILES) >= {"routing.yml", "suppression.yml", "people.yml", "permissions.yml", "deploy.yml",
                          "stale.yml"}
    assert sorted(p.name for p in DEFAULT_RULES_DIR.iterdir()) == sorted(FILES)  # SPEC §1: nothing else


@pytest.mark.parametrize("name", FILES)
def test_rule_file(name):
    assert [str(p) for p in PROBLEMS if p.file == f"rules/{name}"] == []
    compiled = next((c for c in RULES.rulesets if c.ruleset.file == name), None)
    if compiled is None:                      # a data file: people.yml, permissions.yml
        assert name in ("people.yml", "permissions.yml")
        return
    assert compiled.ruleset.tests, f"{name} has no inline tests"
    only = Rules(version=RULES.version, files=RULES.files, rulesets=[compiled], data=RULES.data)
    assert [str(p) for p in run_inline_tests(only)] == []


def test_data_files_are_read():
    assert RULES.data["groups"]["oncall"] == ["alice", "bob"]
    assert RULES.data["permissions"][0]["allow"] == ["*"]
    assert RULES.data["apps"]["web-api"]["repo"] == "acme/web-api"
    assert RULES.data["scans"]["github-prs"]["schedule"] == "0 9 * * 1-5"
    assert RULES.guardrails["snooze"]["max_duration"] == {"default": "7d", "production": "24h"}
