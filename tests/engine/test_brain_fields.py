"""Brain-derived fields and count windows against a real Redis: values, edge cases, one round trip."""
from __future__ import annotations

import pytest
from redis import Redis

from router.core import brain
from router.engine.results import evaluate
from tests.engine.helpers import NOW, matched, rules_from, signal

BRAIN = rules_from("""
    ruleset: t
    rules:
      - {name: snoozed, when: {snoozed: true}, then: [drop], continue: true}
      - {name: acked, when: {acked: true}, then: [drop], continue: true}
      - {name: firing-3, when: {firing_count: {gte: 3}}, then: [drop], continue: true}
      - {name: firing-2, when: {firing_count: 2}, then: [drop], continue: true}
      - {name: repeat-3, when: {repeat: {gte: 3}}, then: [drop], continue: true}
      - {name: deploying, when: {deploying: true}, then: [drop], continue: true}
""")


def iso(offset: float) -> str:
    import datetime as dt
    return dt.datetime.fromtimestamp(NOW + offset, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def alert(**fields) -> dict:
    fields.setdefault("received_at", iso(0))
    return signal(**fields)


def test_snoozed_matches_active_snoozes_only(redis):
    brain.put_snooze(redis, {"id": "s1", "matchers": [{"name": "host", "op": "=", "value": "web-01"},
                                                      {"name": "service", "op": "=~", "value": "HTTPS?"}],
                             "ends_at": NOW + 3600})
    brain.put_snooze(redis, {"id": "s2", "matchers": [{"name": "host", "op": "=", "value": "db-1"}],
                             "ends_at": NOW - 1})                                 # over
    brain.put_snooze(redis, {"id": "s3", "matchers": [{"name": "fingerprint", "op": "=", "value": "fp-9"},
                                                      {"name": "env", "op": "!=", "value": "production"}],
                             "ends_at": NOW + 60})
    assert matched(BRAIN, alert(labels={"host": "web-01", "service": "HTTPS"}), conn=redis) == ["snoozed"]
    assert matched(BRAIN, alert(labels={"host": "web-01", "service": "SSH"}), conn=redis) == []
    assert matched(BRAIN, alert(labels={"host": "db-1"}), conn=redis) == []
    assert matched(BRAIN, alert(fingerprint="fp-9", labels={"env": "staging"}), conn=redis) == ["snoozed"]
    assert matched(BRAIN, alert(fingerprint="fp-9", labels={"env": "production"}), conn=redis) == []


def test_acked_reads_the_alert_state(redis):
    redis.hset(brain.key_alert("fp-1"), mapping={"status": "firing", "acked_by": "alice"})
    redis.hset(brain.key_alert("fp-2"), mapping={"status": "firing", "acked_by": ""})
    assert matched(BRAIN, alert(fingerprint="fp-1"), conn=redis) == ["acked"]
    assert matched(BRAIN, alert(fingerprint="fp-2"), conn=redis) == []
    assert matched(BRAIN, alert(fingerprint=""), conn=redis) == []


def test_firing_count_counts_this_alert_once(redis):
    redis.sadd(brain.key_firing_by("host", "web-01"), "fp-a", "fp-b")
    redis.sadd(brain.key_firing_by("app", "shop"), "fp-x")
    assert matched(BRAIN, alert(fingerprint="fp-c", labels={"host": "web-01"}), conn=redis) == ["firing-3"]
    assert matched(BRAIN, alert(fingerprint="fp-a", labels={"host": "web-01"}), conn=redis) == ["firing-2"]
    assert matched(BRAIN, alert(fingerprint="fp-c", status="resolved", labels={"host": "web-01"}), conn=redis) \
        == ["firing-2"]
    assert matched(BRAIN, alert(fingerprint="fp-y", labels={"app": "shop"}), conn=redis) == ["firing-2"]
    assert matched(BRAIN, alert(fingerprint="fp-z"), conn=redis) == []


def test_repeat_counts_firings_of_a_fingerprint_in_the_last_hour(redis):
    def fire(n: int, at: float, write: bool = True) -> list[str]:
        return matched(BRAIN, alert(id=f"r{n}", fingerprint="fp-r", received_at=iso(at)), conn=redis,
                       now=NOW + at, write=write)

    assert fire(1, 0) == []
    assert fire(2, 60) == []
    assert fire(3, 120, write=False) == ["repeat-3"]      # a dry run counts itself...
    assert fire(3, 120) == ["repeat-3"]                    # ...and stores nothing
    assert fire(3, 120) == ["repeat-3"]                    # evaluating it again does not count twice
    assert fire(4, 3600 + 90) == []                        # r1, r2 are over an hour old
    assert matched(BRAIN, alert(id="r5", fingerprint="fp-r", status="resolved", received_at=iso(3700)),
                   conn=redis, now=NOW + 3700) == []


def test_deploying_reads_the_deploy_lock(redis):
    redis.set(brain.key_deploying("shop"), "deploy-1")
    assert matched(BRAIN, alert(labels={"app": "shop"}), conn=redis) == ["deploying"]
    assert matched(BRAIN, alert(labels={"app": "blog"}), conn=redis) == []


WINDOWS = rules_from("""
    ruleset: t
    rules:
      - name: third-failure
        when:
          kind: build
          status: failed
          count: {at_least: 3, within: 10m, same: [labels.job]}
        then: [drop]
        continue: true
      - name: two-anywhere
        when:
          kind: build
          count: {at_least: 2, within: 1m}
        then: [drop]
""")


def build(n: int, job: str, at: float, status: str = "failed") -> dict:
    return signal(id=f"b{n}", source="jenkins", kind="build", status=status, labels={"job": job},
                  received_at=iso(at))


def test_count_window_per_same_key(redis):
    def run(sig, write=True):
        return matched(WINDOWS, sig, conn=redis, now=NOW + 3600, write=write)

    assert run(build(1, "a", 0)) == []
    assert run(build(2, "b", 120)) == []
    assert run(build(3, "a", 240)) == []
    assert run(build(4, "a", 300)) == ["third-failure", "two-anywhere"]
    assert run(build(4, "a", 300)) == ["third-failure", "two-anywhere"]   # same signal: counted once
    assert run(build(5, "b", 700)) == []                                  # b has 2 in its window
    assert run(build(6, "a", 800)) == ["third-failure"]                   # b3, b4, b6 within 10 min
    assert run(build(7, "a", 1600, status="succeeded")) == []             # not a failure: stays out
    assert run(build(8, "a", 1700)) == []                                 # b6 is 13 min old


def test_count_window_in_a_batch_and_out_of_order(redis):
    sigs = [build(1, "j", 60), build(2, "j", 0), build(3, "j", 30)]
    results = evaluate(redis, WINDOWS, sigs, now=NOW + 120)
    hits = [[m["rule"] for m in r["rulesets"]["t"]["matched"]] for r in results]
    assert [("third-failure" in h) for h in hits] == [False, False, True]


def test_dry_runs_leave_windows_alone(redis):
    for n in range(2):
        matched(WINDOWS, build(n, "d", n), conn=redis, now=NOW, write=False)
    assert matched(WINDOWS, build(9, "d", 5), conn=redis, now=NOW, write=False) == []
    assert not redis.keys(brain.PREFIX + "window:*")


class CountingRedis(Redis):
    """A real client that counts round trips (pipelines and single commands)."""

    round_trips = 0

    def execute_command(self, *args, **options):
        CountingRedis.round_trips += 1
        return super().execute_command(*args, **options)

    def pipeline(self, transaction=True, shard_hint=None):
        pipe = super().pipeline(transaction, shard_hint)
        execute = pipe.execute

        def counted(*a, **k):
            CountingRedis.round_trips += 1
            return execute(*a, **k)
        pipe.execute = counted
        return pipe


@pytest.mark.parametrize("size", [1, 50])
def test_one_round_trip_per_batch(redis_url, redis, size):
    rules = rules_from("""
        ruleset: t
        rules:
          - name: all-of-them
            when:
              snoozed: false
              acked: false
              firing_count: {lt: 100}
              repeat: {gte: 0}
              deploying: false
              count: {at_least: 1, within: 1m, same: [labels.host]}
            then: [drop]
    """)
    conn = CountingRedis.from_url(redis_url)
    sigs = [signal(id=f"s{i}", fingerprint=f"fp{i}", labels={"host": f"h{i % 7}", "app": "shop"}) for i in range(size)]
    CountingRedis.round_trips = 0
    results = evaluate(conn, rules, sigs, now=NOW)
    assert CountingRedis.round_trips == 1
    assert all(r["rulesets"]["t"]["matched"] for r in results)


def test_windows_count_signals_an_earlier_rule_stopped(redis):
    rules = rules_from("""
        ruleset: t
        rules:
          - {name: first-two-quiet, when: {kind: build, labels.quiet: "yes"}, then: [drop]}
          - name: third
            when:
              kind: build
              count: {at_least: 3, within: 10m}
            then: [drop]
    """)
    sigs = [signal(id=f"q{i}", kind="build", labels={"quiet": "yes" if i < 2 else "no"}, received_at=iso(i))
            for i in range(3)]
    assert [matched(rules, s, conn=redis, now=NOW + 10) for s in sigs] == [["first-two-quiet"]] * 2 + [["third"]]
