"""`sparky rules check|test|reload` as a user runs them (click's runner, real files, real Redis)."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from router.cli.main import main
from router.core import brain
from router.core.config import DEFAULT_RULES_DIR
from tests.conftest import PAYLOADS


@pytest.fixture
def runner(monkeypatch, tmp_path):
    for name in ("SPARKY_REDIS_URL", "SPARKY_RULES_DIR", "SPARKY_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARKY_DATA_DIR", str(tmp_path / "no-brain"))
    return CliRunner()


def test_check_ok(runner):
    result = runner.invoke(main, ["rules", "check", str(DEFAULT_RULES_DIR)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 5 rulesets, ")


def test_check_reports_one_line_per_problem_and_exits_1(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "routing.yml").write_text(
        "ruleset: routing\nrules:\n  - name: main-build-broken\n    when: {labels.branch: {match: main}}\n"
        "    then: [{page: {}}]\n")
    result = runner.invoke(main, ["rules", "check", "rules"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        'rules/routing.yml:1: ruleset "routing": no default route: end it with a catch-all rule (when: {}) '
        'so that every signal goes somewhere',
        'rules/routing.yml:4: rule "main-build-broken": unknown operator "match" (did you mean "matches"?)',
        'rules/routing.yml:5: rule "main-build-broken": unknown action "page" '
        '(known: notify, drop, group, escalate, deploy, nag, webhook, set, pack)',
    ]


def test_test_prints_specs_json_without_side_effects(runner, redis, redis_url, monkeypatch):
    monkeypatch.setenv("SPARKY_REDIS_URL", redis_url)
    brain.put_snooze(redis, {"id": "z", "matchers": [{"name": "host", "op": "=", "value": "web-01"}],
                             "ends_at": 4102444800})
    before = sorted(redis.keys("*"))
    result = runner.invoke(main, ["rules", "test", "nagios",
                                  str(PAYLOADS / "nagios" / "slack_nagios_pl.service_problem.form"),
                                  "--at", "2026-11-20T09:00:00Z"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["signals"][0]["received_at"] == "2026-11-20T09:00:00.000Z"
    rulesets = body["results"][0]["rulesets"]
    assert [m["rule"] for m in rulesets["routing"]["matched"]] == ["critical-alerts"]
    assert [m["rule"] for m in rulesets["suppression"]["matched"]] == ["snoozed"]   # read from the brain
    assert sorted(redis.keys("*")) == before


def test_test_with_explicit_headers_and_no_brain(runner, tmp_path):
    headers = tmp_path / "h.json"
    headers.write_text(json.dumps({"Content-Type": "application/json"}))
    result = runner.invoke(main, ["rules", "test", "runscope", str(PAYLOADS / "runscope" / "webhook.test_run.fail.json"),
                                  "--headers", str(headers), "--at", "2026-12-09T09:00:00Z"])   # office hours
    assert result.exit_code == 0, result.output
    assert "no brain reachable" in result.stderr
    matched = json.loads(result.stdout)["results"][0]["rulesets"]["routing"]["matched"]
    assert [m["rule"] for m in matched] == ["runscope-log", "runscope-failed"]


def test_test_refuses_unknown_sources(runner):
    result = runner.invoke(main, ["rules", "test", "nagois", str(PAYLOADS / "runscope" / "webhook.test_run.fail.json")])
    assert result.exit_code == 1
    assert 'unknown source "nagois" (did you mean "nagios"?)' in result.output


def test_reload_publishes_the_rules_dir(runner, redis, redis_url, monkeypatch, tmp_path):
    rules_dir = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir)
    monkeypatch.setenv("SPARKY_REDIS_URL", redis_url)
    monkeypatch.setenv("SPARKY_RULES_DIR", str(rules_dir))
    result = runner.invoke(main, ["rules", "reload"])
    assert result.exit_code == 0, result.output
    version = redis.get(brain.key_rules_version()).decode()
    assert result.output == f"version {version} in force\n"
    assert runner.invoke(main, ["rules", "reload"]).output == f"version {version} in force (unchanged)\n"

    (rules_dir / "stale.yml").write_text("ruleset: stale\nrules: [{name: x}]\n")
    result = runner.invoke(main, ["rules", "reload"])
    assert result.exit_code == 1
    assert 'rule "x": missing key "then"' in result.output and f"version {version} stays in force" in result.output
    assert redis.get(brain.key_rules_version()).decode() == version
