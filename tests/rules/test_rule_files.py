"""Every file shipped in rules/ loads, and every ruleset's inline tests pass (Keep's workflow-examples
job for Sparky): one test per file, through the real engine. `sparky rules check rules/` is
tests/engine/test_cli.py::test_check_ok; each file is also driven end to end, as shipped, by a real
command or signal on a real worker at pinned times (the modules END_TO_END names)."""
from __future__ import annotations

from pathlib import Path

import pytest

from router.core.config import DEFAULT_RULES_DIR
from router.engine.check import run_inline_tests
from router.engine.loader import read_dir
from router.engine.rules import Rules, load

FILES = sorted(read_dir(DEFAULT_RULES_DIR))
HERE = Path(__file__).resolve().parent

# Every shipped file, and the module here that runs a real command or signal through it as shipped.
END_TO_END = {
    "routing.yml": "test_shipped_alerts",        # a Nagios notification posted to #ops
    "suppression.yml": "test_shipped_alerts",    # snoozed and acked repeats recorded, not posted
    "people.yml": "test_shipped_alerts",         # on-call, admins, a Slack id resolved to its person
    "permissions.yml": "test_shipped_alerts",    # refusals by group, and for strangers
    "deploy.yml": "test_shipped_deploy",         # a working day, the weekend freeze, the year-end freeze
    "stale.yml": "test_shipped_stale",           # the github-prs scan, decided and nagged
    # the seed's commands as command packs, fed by the hooks and said from every channel
    "commands/builds.yml": "test_shipped_packs",
    "commands/image.yml": "test_shipped_packs",
    "commands/lunch.yml": "test_shipped_packs",
    "commands/runscope.yml": "test_shipped_packs",
    "commands/traffic.yml": "test_shipped_packs",
    "oncall.yml": "test_shipped_oncall",         # who is on call across a DST change, overrides, @oncall
}
RULES, PROBLEMS = load(read_dir(DEFAULT_RULES_DIR), "rules")


def test_the_shipped_rules_dir_has_every_file_spec_names():
    assert set(FILES) >= {"routing.yml", "suppression.yml", "people.yml", "permissions.yml", "deploy.yml",
                          "stale.yml"}
    shipped = [p.relative_to(DEFAULT_RULES_DIR).as_posix() for p in DEFAULT_RULES_DIR.rglob("*") if p.is_file()]
    assert sorted(shipped) == sorted(FILES)  # SPEC §1: nothing else


@pytest.mark.parametrize("name", FILES)
def test_rule_file(name):
    assert [str(p) for p in PROBLEMS if p.file == f"rules/{name}"] == []
    compiled = next((c for c in RULES.rulesets if c.ruleset.file == name), None)
    if compiled is None:                      # a data file (people.yml, permissions.yml) or a command pack
        assert name in ("people.yml", "permissions.yml") or name.startswith("commands/")
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


def test_every_shipped_file_is_exercised_end_to_end():
    assert sorted(END_TO_END) == FILES, "a new file in rules/ needs an end-to-end test here"
    for module in set(END_TO_END.values()):
        assert "DEFAULT_RULES_DIR" in (HERE / f"{module}.py").read_text(), f"{module} must use rules/ as shipped"
