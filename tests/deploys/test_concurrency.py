"""Two deploys to one environment at once: both pass the gates (neither sees the other running),
then both deploy actions run at the same moment on their own connections — exactly one gets the
environment's lock and starts; the other is refused, naming the deploy that holds it."""
from __future__ import annotations

import json
import threading

from redis import Redis

from router.commands.jobs import run_with
from router.core import brain
from router.jobs import runner
from router.jobs.context import Context
from tests.commands.conftest import chat
from tests.deploys.conftest import SHA


def in_threads(*calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def test_two_deploys_to_one_environment_at_once_exactly_one_proceeds(sparky, redis, redis_url, config, jenkins):
    sparky.ci(SHA)
    asks = [chat("deploy web-api to staging", user=user, room="#deploys", channel="room") for user in ("bob", "carol")]
    pipe = redis.pipeline()
    brain.store_signals(pipe, asks, 3600)
    pipe.execute()
    conns = [Redis.from_url(redis_url) for _ in asks]

    # The two commands, each as its worker runs it: request, gates, decision, deploy action queued.
    in_threads(*[lambda c=c, s=s: run_with(c, config, s["id"]) for c, s in zip(conns, asks)])
    requests = [r for r in (sparky.request(x["id"]) for x in _all(redis)) if r]
    assert len(requests) == 2 and {r["state"] for r in requests} == {"new"}

    # Both verdicts say go; their two deploy actions run at the same moment.
    actions = []
    for request in requests:
        signal = brain.load_signal(redis, request["signals"][-1])
        decision = json.loads(redis.get(brain.key_decision(signal["id"])))
        (action,) = [a for a in decision["actions"] if a["action"] == "deploy"]
        actions.append((signal, action))
    outcomes = in_threads(*[
        lambda c=c, s=s, a=a: runner.execute(c, config, Context(s["id"], a["ruleset"], a["rule"], a["index"], "deploy"),
                                             a["params"])
        for c, (s, a) in zip(conns, actions)])
    sparky.run_jobs()   # the queued copies of those actions are duplicates now; the messages go out

    states = sorted(sparky.request(r["id"])["state"] for r in requests)
    assert states == ["deploying", "refused"], outcomes
    winner = next(r for r in requests if sparky.request(r["id"])["state"] == "deploying")
    loser = next(r for r in requests if sparky.request(r["id"])["state"] == "refused")
    assert len(jenkins.builds) == 1
    assert redis.get(brain.key_deploy_lock("web-api", "staging")) == winner["id"].encode()
    assert sparky.request(loser["id"])["rule"] == "one-deploy-at-a-time"
    assert any(t.endswith(f"refused by rule `one-deploy-at-a-time`: {winner['id']} is deploying web-api to staging "
                          f"right now") for t in sparky.said())
    for conn in conns:
        conn.close()


def _all(redis):
    return [{"id": i.decode()} for i in redis.zrange(brain.key_deploys(), 0, -1)]
