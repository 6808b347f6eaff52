"""Hot reload: publish, refuse bad files (the old version stays), mtime poll, and a reload in the
middle of a stream of signals evaluated by two processes (each exactly once, by old or new)."""
from __future__ import annotations

import json
import multiprocessing
import os
import time

import pytest
from redis import Redis

from router.core import brain
from router.core.signal import Signal
from router.engine import check_files, decide, in_force, publish, reload, reload_files
from router.engine.store import last_refusal, maybe_poll
from tests.engine.test_decisions import assert_jobs_match_decisions


def routing(rule: str) -> str:
    return (f"ruleset: routing\nrules:\n  - name: {rule}\n    when: {{}}\n"
            f"    then: [{{notify: {{room: '#{rule}'}}}}]\n")


BAD = ("ruleset: routing\nrules:\n  - {name: a, when: {kind: {match: x}}, then: [drop]}\n"
       "  - {name: default, when: {}, then: [drop]}\n")


def test_a_bad_reload_is_refused_and_the_old_version_stays(redis, tmp_path):
    (tmp_path / "routing.yml").write_text(routing("old"))
    first = reload(redis, tmp_path)
    assert first.ok and first.changed and in_force(redis) == first.version
    assert reload(redis, tmp_path).changed is False                # same content, same version

    (tmp_path / "routing.yml").write_text(BAD)
    refused = reload(redis, tmp_path)
    assert not refused.ok and refused.version == first.version
    assert in_force(redis) == first.version
    problem = f'{tmp_path.relative_to(os.getcwd()) if tmp_path.is_relative_to(os.getcwd()) else tmp_path}' \
              f'/routing.yml:3: rule "a": unknown operator "match" (did you mean "matches"?)'
    assert [str(p) for p in refused.problems] == [problem]
    assert last_refusal(redis)["problems"] == [problem]

    (tmp_path / "routing.yml").write_text(routing("new"))
    second = reload(redis, tmp_path)
    assert second.ok and second.version != first.version and last_refusal(redis) is None
    assert redis.lrange(brain.key_rules_history(), 0, -1) == [second.version.encode(), first.version.encode()]


def test_the_poll_notices_changed_files(redis, config, tmp_path):
    (tmp_path / "routing.yml").write_text(routing("old"))
    cfg = config.with_(rules_dir=tmp_path, rules_poll=0.05)
    sig = Signal(source="x", kind="y", status="z")
    pipe = redis.pipeline()
    brain.store_signals(pipe, [sig.to_dict()], 60)
    pipe.execute()
    maybe_poll(redis, tmp_path, 0.05)
    old = in_force(redis)
    assert old is not None

    (tmp_path / "routing.yml").write_text(BAD)
    time.sleep(0.06)
    maybe_poll(redis, tmp_path, 0.05)
    assert in_force(redis) == old and last_refusal(redis)

    (tmp_path / "routing.yml").write_text(routing("new"))
    time.sleep(0.06)
    decide(redis, [sig.id], cfg)                                   # the poll runs before evaluating
    decided = json.loads(redis.get(brain.key_decision(sig.id)))
    assert decided["rules_version"] == in_force(redis) != old
    assert decided["rulesets"]["routing"]["matched"][0]["rule"] == "new"


def _stream(redis_url: str, batches: list[list[str]], rules_dir: str, out) -> None:
    from router.core.config import Config

    conn = Redis.from_url(redis_url)
    cfg = Config(redis_url=redis_url, rules_dir=rules_dir, rules_poll=0)
    out.send(sum(decide(conn, batch, cfg) for batch in batches))


@pytest.mark.slow
def test_reload_during_a_stream_of_2000_signals(redis, redis_url, tmp_path):
    old = reload_files(redis, {"routing.yml": routing("old")}, "rules").version
    checked = check_files({"routing.yml": routing("new")}, "rules")   # a reload = check, then publish
    assert checked.ok
    signals = [Signal(source="x", kind="y", status="z").to_dict() for _ in range(2000)]
    pipe = redis.pipeline()
    brain.store_signals(pipe, signals, 3600)
    pipe.execute()
    ids = [s["id"] for s in signals]
    batches = [ids[i:i + 4] for i in range(0, len(ids), 4)]

    ctx = multiprocessing.get_context("fork")
    pipes, procs = [], []
    for order in (batches, batches[::-1]):           # two processes, every signal offered to both
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_stream, args=(redis_url, order, str(tmp_path), child_end))
        proc.start()
        pipes.append(parent_end)
        procs.append(proc)
    while sum(1 for _ in redis.scan_iter(brain.key_decision("*"), count=1000)) < 300:
        time.sleep(0.005)
    publish(redis, checked.rules, by="test")
    new = checked.rules.version
    totals = [p.recv() for p in pipes]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0

    assert sum(totals) == 2000                       # decisions written: each signal once
    raws = redis.mget([brain.key_decision(i) for i in ids])
    decisions = [json.loads(r) for r in raws]
    by_version = {old: "old", new: "new"}
    seen = {}
    for d in decisions:
        rule = d["rulesets"]["routing"]["matched"][0]["rule"]
        assert by_version[d["rules_version"]] == rule  # evaluated wholly by one version
        seen[rule] = seen.get(rule, 0) + 1
    assert set(seen) == {"old", "new"} and sum(seen.values()) == 2000
    assert_jobs_match_decisions(redis, ids)       # no action queued twice
