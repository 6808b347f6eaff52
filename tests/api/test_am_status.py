"""`/api/v2/status`, `/api/v2/receivers` and Alertmanager's probes (`/-/healthy`, `/-/ready`, `/-/reload`):
what every amtool command asks first, with Sparky's and the rules' versions and the routing ruleset
as an Alertmanager config."""
from __future__ import annotations

import time

import yaml

from router.app import create_app
from router.core.config import Config
from router.core.times import from_epoch
from router.engine import in_force
from tests.api.amspec import Spec
from tests.commands.conftest import ROUTING, write_rules

SPEC = Spec()


def test_status_says_which_api_sparky_and_rules_and_how_it_routes(client, redis, env):
    answer = client.get("/api/v2/status")
    status = SPEC.check("GET", "/api/v2/status", answer)
    version = in_force(redis)
    assert status["versionInfo"]["version"] == "0.25.0"           # amtool warns when major.minor differ
    assert status["versionInfo"]["revision"] == "sparky 0.1.0" and status["versionInfo"]["branch"] == f"rules {version}"
    assert status["sparky"] == {"version": "0.1.0", "rules_version": version}
    assert status["cluster"] == {"status": "disabled", "peers": []}
    assert status["uptime"] <= from_epoch(time.time())
    original = status["config"]["original"]
    assert original.startswith(f"# Sparky 0.1.0 serves Alertmanager's API v2; rules version {version}.\n")
    config = yaml.safe_load(original)
    # tests/commands/conftest.py's routing: firing alerts to #ops, the rest dropped
    assert config["route"]["receiver"] == "drop"
    assert [(r["receiver"], r.get("matchers")) for r in config["route"]["routes"]] == [("#ops", None), ("drop", None)]
    assert [r["name"] for r in config["receivers"]] == ["drop", "#ops"]


def test_receivers_are_the_trees(client, env):
    answer = client.get("/api/v2/receivers")
    assert SPEC.check("GET", "/api/v2/receivers", answer) == [{"name": "drop"}, {"name": "#ops"}]


def test_without_rules_in_force_status_still_answers_and_ready_says_no(redis, redis_url, tmp_path):
    app = create_app(Config(redis_url=redis_url, data_dir=tmp_path / "var", rules_dir=tmp_path / "empty",
                            rules_poll=0))
    client = app.test_client()
    status = SPEC.check("GET", "/api/v2/status", client.get("/api/v2/status"))
    assert status["sparky"]["rules_version"] == "" and yaml.safe_load(status["config"]["original"])["route"] == {
        "receiver": "sparky", "group_by": ["..."]}
    ready = client.get("/-/ready")
    assert ready.status_code == 503 and ready.mimetype == "text/plain" and "not ready" in ready.get_data(as_text=True)


def test_probes_answer_as_alertmanagers_do(client, env):
    for path in ("/-/healthy", "/-/ready"):
        answer = client.get(path)
        assert (answer.status_code, answer.get_data(as_text=True), answer.mimetype) == (200, "OK", "text/plain")


def test_reload_publishes_the_rules_dir_or_keeps_the_version_in_force(client, redis, env, rules_dir):
    before = in_force(redis)
    write_rules(rules_dir, routing_yml=ROUTING.replace('room: "#ops"', 'room: "#alerts"'))
    answer = client.post("/-/reload")
    assert answer.status_code == 200 and in_force(redis) != before
    assert "#alerts" in client.get("/api/v2/status").json["config"]["original"]

    write_rules(rules_dir, routing_yml="ruleset: routing\nrules: [")
    refused = client.post("/-/reload")
    assert refused.status_code == 422 and refused.json["problems"]
    assert refused.json["version"] == in_force(redis)
    assert client.get("/-/reload").status_code == 405
