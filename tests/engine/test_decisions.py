"""The evaluation job: decisions stored once, actions queued once, the rules version recorded."""
from __future__ import annotations

import dataclasses
import json
import textwrap
import threading
import time

import pytest
from rq import Queue
from rq.job import Job

from router.core import brain
from router.core.config import Config
from router.core.signal import Signal
from router.engine import RulesUnavailable, decide, reload_files
from router.engine.explained import explained
from router.jobs import queues as dispatch
from router.pipeline import intake

ROUTING = textwrap.dedent("""\
    ruleset: routing
    rules:
      - name: critical
        when: {kind: alert, severity: critical}
        then:
          - notify: {room: "#ops", mention: "@oncall"}
          - deploy: {refuse: "no"}
      - name: default
        when: {}
        then: [drop]
""")
SUPPRESSION = textwrap.dedent("""\
    ruleset: suppression
    rules:
      - {name: snoozed, when: {kind: alert, snoozed: true}, then: [drop]}
""")


@pytest.fixture
def cfg(config, tmp_path):
    return config.with_(rules_dir=tmp_path / "no-rules", rules_poll=0)


@pytest.fixture
def version(redis):
    result = reload_files(redis, {"routing.yml": ROUTING, "suppression.yml": SUPPRESSION}, "rules", engine=False)
    assert result.ok, result.problems
    return result.version


def store(redis, *signals: Signal) -> list[str]:
    pipe = redis.pipeline()
    brain.store_signals(pipe, [s.to_dict() for s in signals], 3600)
    pipe.execute()
    return [s.id for s in signals]


def decision(redis, sid: str) -> dict:
    """The decision as `why` and the API show it: explanations computed from what was kept."""
    return explained(redis, json.loads(redis.get(brain.key_decision(sid))))


def crit(**kw) -> Signal:
    return Signal(source="nagios", kind="alert", status="firing", severity="critical",
                  labels={"host": "web-01"}, fingerprint="web-01/HTTP", **kw)


def test_decision_records_version_matches_explanations_and_actions(redis, cfg, version, monkeypatch, registry):
    # an action the catalogue has no function for: recorded only
    monkeypatch.setitem(registry.actions, "deploy", dataclasses.replace(registry.actions["deploy"], run=None))
    ids = store(redis, crit(), Signal(source="github", kind="push", status="branch"))
    assert decide(redis, ids, cfg) == 2
    first = decision(redis, ids[0])
    assert first["rules_version"] == version
    assert first["rulesets"]["routing"]["matched"] == [
        {"rule": "critical", "actions": [{"notify": {"room": "#ops", "mention": "@oncall"}},
                                         {"deploy": {"refuse": "no"}}]}]
    assert first["rulesets"]["routing"]["not_matched"] == [
        {"rule": "default", "failed": 'not evaluated: rule "critical" matched first'}]
    assert first["rulesets"]["suppression"] == {"matched": [], "not_matched": [
        {"rule": "snoozed", "failed": "snoozed: true"}]}
    notify, deploy = first["actions"]
    assert (notify["action"], notify["state"], deploy["action"], deploy["state"]) == \
        ("notify", "queued", "deploy", "recorded")
    job = Job.fetch(notify["job"], connection=redis)
    assert job.origin == dispatch.ACTIONS_QUEUE and notify["job"] in Queue(dispatch.ACTIONS_QUEUE,
                                                                           connection=redis).job_ids
    second = decision(redis, ids[1])
    assert second["rulesets"]["routing"]["not_matched"] == [{"rule": "critical", "failed": "kind: alert"}]
    assert [a["action"] for a in second["actions"]] == ["drop"]


def test_a_signal_is_never_decided_twice(redis, cfg, version):
    ids = store(redis, crit())
    assert decide(redis, ids, cfg) == 1
    before = redis.get(brain.key_decision(ids[0]))
    jobs = Queue(dispatch.ACTIONS_QUEUE, connection=redis).count
    assert decide(redis, ids + ids, cfg) == 0
    assert redis.get(brain.key_decision(ids[0])) == before
    assert Queue(dispatch.ACTIONS_QUEUE, connection=redis).count == jobs
    assert_jobs_match_decisions(redis, ids)
    assert not redis.keys(brain.key_eval_claim("*"))


def test_suppression_drop_keeps_other_actions_for_the_record_only(redis, cfg, version):
    brain.put_snooze(redis, {"id": "z", "matchers": [{"name": "host", "op": "=", "value": "web-01"}],
                             "ends_at": time.time() + 600})
    ids = store(redis, crit())
    decide(redis, ids, cfg)
    d = decision(redis, ids[0])
    assert d["suppressed_by"] == {"ruleset": "suppression", "rule": "snoozed"}
    assert [(a["ruleset"], a["action"], a["state"]) for a in d["actions"]] == [
        ("routing", "notify", "suppressed"), ("routing", "deploy", "suppressed"),
        ("suppression", "drop", "done")]


def test_waits_for_a_signal_another_process_is_evaluating(redis, cfg, version):
    ids = store(redis, crit())
    redis.set(brain.key_eval_claim(ids[0]), "someone-else", px=400)   # a crashed evaluator's claim
    started = time.monotonic()
    assert decide(redis, ids, cfg) == 1
    assert time.monotonic() - started >= 0.3


def test_concurrent_jobs_decide_each_signal_once(redis_url, cfg, version):
    from redis import Redis

    conn = Redis.from_url(redis_url)
    ids = store(conn, *[crit() for _ in range(60)])
    counts = []

    def job(order):
        counts.append(decide(Redis.from_url(redis_url), order, cfg))

    threads = [threading.Thread(target=job, args=(ids[::step],)) for step in (1, -1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 60
    assert_jobs_match_decisions(conn, ids)


def assert_jobs_match_decisions(conn, ids: list[str]) -> None:
    """Every queued action job belongs to a stored decision: none was queued twice."""
    decisions = [json.loads(raw) for raw in conn.mget([brain.key_decision(i) for i in ids])]
    referenced = {a["job"] for d in decisions for a in d["actions"] if a["state"] == "queued"}
    assert all(a["job"] for d in decisions for a in d["actions"] if a["state"] == "queued")
    assert set(Queue(dispatch.ACTIONS_QUEUE, connection=conn).job_ids) == referenced


def test_gone_signals_are_skipped(redis, cfg, version):
    assert decide(redis, ["01NOSUCHSIGNAL"], cfg) == 0


def test_bootstrap_publishes_the_rules_dir(redis, config, tmp_path):
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "routing.yml").write_text(ROUTING)
    cfg = config.with_(rules_dir=rules_dir, rules_poll=0)
    ids = store(redis, crit())
    assert decide(redis, ids, cfg) == 1
    assert decision(redis, ids[0])["rules_version"] == redis.get(brain.key_rules_version()).decode()


def test_no_rules_at_all_is_an_error_not_a_silent_skip(redis, config, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "routing.yml").write_text("ruleset: routing\nrules:\n  - {name: a, when: {kind: alert}, then: [drop]}\n")
    ids = store(redis, crit())
    with pytest.raises(RulesUnavailable, match="no default route"):
        decide(redis, ids, config.with_(rules_dir=bad, rules_poll=0))
    assert not redis.exists(brain.key_decision(ids[0]))
    assert not redis.exists(brain.key_eval_claim(ids[0]))          # a retry can take it at once


def test_the_rq_job_evaluates(redis, run_jobs, tmp_path, monkeypatch, version):
    monkeypatch.setenv("SPARKY_RULES_POLL", "0")
    monkeypatch.setenv("SPARKY_RULES_DIR", str(tmp_path))
    ids = store(redis, crit())
    pipe = redis.pipeline()
    intake.queue_pending(pipe, ids)   # as reception does: pending, flag taken, drain job queued
    assert pipe.execute()[-1]
    intake.enqueue_drain(redis)
    run_jobs()
    assert decision(redis, ids[0])["rules_version"] == version


def test_config_from_env_is_used_by_default(redis, monkeypatch, tmp_path, version):
    monkeypatch.setenv("SPARKY_RULES_POLL", "0")
    monkeypatch.setenv("SPARKY_RULES_DIR", str(tmp_path))
    assert Config.from_env().rules_poll == 0
    ids = store(redis, crit())
    assert decide(redis, ids) == 1


def test_drop_is_done_at_decision_without_a_job(redis, cfg, version):
    brain.put_snooze(redis, {"id": "z", "matchers": [{"name": "host", "op": "=", "value": "web-01"}],
                             "ends_at": time.time() + 600})
    ids = store(redis, crit())
    decide(redis, ids, cfg)
    drop = [a for a in decision(redis, ids[0])["actions"] if a["action"] == "drop"]
    assert drop and all(a["state"] == "done" and a["job"] is None for a in drop)
    assert Queue(dispatch.ACTIONS_QUEUE, connection=redis).count == 0
