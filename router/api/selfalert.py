"""Sparky's own alerts: the web tier says when delivery has stopped (router/pipeline/liveness.py).

When WorkerStale or BacklogStale starts or stops holding, the process that notices first (a
transition is claimed with one SET ... GET on the brain, so it is raised once per change across
every web process) raises a `sparky` signal — source `sparky`, kind `alert`, status firing or
resolved, `labels.alertname` the name — through the normal reception, so the rules route it and
it is in the signal history like any other.

Routing it needs a worker, and the alert may be that there is none. So the raising process also
carries out, itself, the `notify` actions the rules in force decide for it (the same decision a
worker would reach, with the same idempotency keys: a worker that comes back later finds them
done and posts nothing twice). Slack and the built-in rooms need no worker; an XMPP room needs
`sparky xmpp`. The raise runs in a thread of its own: a slow chat API never holds a request.

Checked by /readyz on every probe, and every CHECK_EVERY seconds by a thread in each web process
that `watch` starts (wsgi.py), so nobody has to be probing for the alert to go out.
"""
from __future__ import annotations

import logging
import threading
import time

from redis import Redis
from redis.exceptions import RedisError

from router.core import brain
from router.core.config import Config
from router.core.signal import Signal
from router.engine import store
from router.engine.dryrun import dry_run
from router.jobs.context import Context
from router.jobs.runner import execute
from router.pipeline import liveness, reception

log = logging.getLogger("sparky.selfalert")

CHECK_EVERY = 5.0
SOURCE = "sparky"
_raising: list[threading.Thread] = []      # raises under way, for `settle`


def signal_for(alertname: str, state: str, detail: str) -> Signal:
    summary = (f"Sparky: {detail}" if state == "firing"
               else f"Sparky: {alertname} resolved; delivery is moving again")
    return Signal(source=SOURCE, kind="alert", status=state,
                  severity="critical" if state == "firing" else "info",
                  subject=alertname, fingerprint=f"sparky/{alertname}",
                  labels={"alertname": alertname}, summary=summary)


def transitions(conn: Redis, found: dict[str, str]) -> list[tuple[str, str]]:
    """(alertname, new state) for each alert whose state changed since it was last raised; each
    change is returned to one caller only. An alert never raised counts as resolved."""
    changed = []
    for name in liveness.ALERTNAMES:
        state = "firing" if name in found else "resolved"
        before = conn.set(brain.key_self_alert(name), state, get=True)
        if (before.decode() if before else "resolved") != state:
            changed.append((name, state))
    return changed


def post_directly(conn: Redis, config: Config, signal: Signal) -> list[str]:
    """Carry out the `notify` actions the rules in force decide for `signal`, here and now;
    what each did. Other actions are left to the worker."""
    data = signal.to_dict()
    rules = store.current(conn, config.rules_dir)
    result = dry_run(conn, rules, [dict(data)])["results"][0]
    outcomes = []
    for ruleset, verdict in result["rulesets"].items():
        for match in verdict.get("matched", []):
            for index, action in enumerate(match.get("actions", [])):
                if "notify" not in action:
                    continue
                ctx = Context(signal.id, ruleset, match["rule"], index, "notify")
                try:
                    outcome = execute(conn, config, ctx, action["notify"], signal=data)
                except Exception as exc:          # paced, Slack down...: the worker will retry
                    outcome = f"not posted ({type(exc).__name__}: {exc})"
                outcomes.append(f"{ctx.scope}: {outcome}")
    return outcomes


def raise_alert(conn: Redis, config: Config, alertname: str, state: str, detail: str) -> None:
    """Take the alert in through reception, then post it where the rules say."""
    signal = signal_for(alertname, state, detail)
    log.warning("self-alert %s %s: %s", alertname, state, detail)
    try:
        reception.accept(conn, config, SOURCE, [signal])
    except (reception.Backpressure, RedisError) as exc:
        log.error("self-alert %s not taken in (%s); posting it directly only", alertname, exc)
    try:
        for line in post_directly(conn, config, signal):
            log.warning("self-alert %s %s: %s", alertname, state, line)
    except Exception:
        log.exception("self-alert %s: the direct post failed", alertname)


def check(conn: Redis, config: Config, since: float, now: float | None = None) -> dict[str, str]:
    """What is stale now (liveness.problems); raises, in a thread, each change of state."""
    found = liveness.problems(conn, config, time.time() if now is None else now, since)
    for name, state in transitions(conn, found):
        thread = threading.Thread(target=raise_alert, args=(conn, config, name, state, found.get(name, "")),
                                  name=f"self-alert-{name}", daemon=True)
        _raising[:] = [t for t in _raising if t.is_alive()] + [thread]
        thread.start()
    return found


def settle(timeout: float = 30.0) -> None:
    """Wait for the raises under way (tests, and a clean shutdown)."""
    for thread in list(_raising):
        thread.join(timeout)


def watch(conn: Redis, config: Config, since: float, every: float = CHECK_EVERY) -> threading.Event:
    """Check every `every` seconds in a daemon thread, for the life of the process (or until
    the returned event is set)."""
    stop = threading.Event()

    def _loop() -> None:
        quiet_until = 0.0
        while not stop.wait(every):
            try:
                check(conn, config, since)
            except RedisError as exc:           # the brain is down: /readyz says so; log it once a minute
                if time.monotonic() > quiet_until:
                    log.error("self-alert check: brain unreachable (%s)", type(exc).__name__)
                    quiet_until = time.monotonic() + 60
            except Exception:
                log.exception("self-alert check failed")

    threading.Thread(target=_loop, name="self-alert-watch", daemon=True).start()
    return stop
