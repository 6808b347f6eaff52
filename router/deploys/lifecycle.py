"""A request's life after the deploy ruleset: go, wait or refuse; start, finish, bypass.

- `evaluate()` runs a request through the ruleset (gates.py). A request no deploy rule matched
  is refused on the spot ("no rule of the deploy ruleset matched").
- `act()` is the `deploy` action's body (actions/deploy.py): it combines what the ruleset decided
  (verdict.py) and carries it out, unless a newer evaluation of the request exists (then the
  newer one decides: an approval given meanwhile is never overtaken by an older verdict).
- `start()` takes the app/env lock (exactly one of two racing deploys gets it), marks the request
  `deploying`, starts the Jenkins job or GitHub deployment (targets.py), schedules the timeout
  (router/jobs/policy.py) and tells the room.
- `finish()` ends a running deploy: state, lock released, watchers dropped, room told, audited.
  progress.py calls it when Jenkins or GitHub report an outcome, or when the deploy times out.
"""
from __future__ import annotations

import json
import logging
import time

from redis import Redis
from rq import get_current_job

from router.core import brain
from router.core.config import Config
from router.core.durations import humanize
from router.deploys import apps, facts, gates, locks, messages, targets, verdict
from router.deploys import records as reqs
from router.engine import store
from router.jobs import policy

log = logging.getLogger("sparky.deploys")

NO_RULE = "(no rule)"


def rules_in_force(conn: Redis, config: Config):
    return store.current(conn, config.rules_dir, poll=config.rules_poll)


def _audit(conn: Redis, event: str, request: dict, **fields) -> None:
    brain.audit(conn, event, request=request["id"], app=request["app"], env=request["env"],
                sha=request["sha"], requester=request["requester"], **fields)


# -- deciding -----------------------------------------------------------------------------------

def evaluate(conn: Redis, config: Config, request_id: str, trigger: str, now: float | None = None) -> str:
    """Run an open request through the deploy ruleset; the deploy action carries out the verdict."""
    ran = gates.run(conn, config, request_id, trigger, now=now)
    if ran is None:
        return "not open any more"
    request, signal, decision = ran
    actions = verdict.planned(decision)
    if any(a["state"] == "queued" for a in actions):
        return f"evaluated ({signal['id']})"
    if decision.get("suppressed_by"):
        why = f"suppressed by rule `{decision['suppressed_by']['rule']}` of the suppression ruleset"
        rule = decision["suppressed_by"]["rule"]
    elif actions:
        why, rule = "the deploy action is not available in this Sparky", actions[0]["rule"]
    else:
        why, rule = "no rule of the deploy ruleset matched (add a catch-all rule to rules/deploy.yml)", NO_RULE
    return refuse(conn, config, request_id, rule, why, int(signal["labels"]["evaluation"]))


def act(conn: Redis, config: Config, signal: dict, ruleset: str, rule: str, index: int,
        now: float | None = None) -> str:
    """The deploy action for one evaluation signal: combine the ruleset's verdict and carry it out."""
    if not gates.is_request_signal(signal):
        return "not a deploy request (deploy actions act on `deploy` signals from `deploy <app> to <env>`)"
    now = time.time() if now is None else now
    labels = signal["labels"]
    request_id, evaluation = labels["request"], int(labels.get("evaluation", "0"))
    raw = conn.get(brain.key_decision(signal["id"]))
    rules = rules_in_force(conn, config)
    groups = rules.data.get("groups") or {}
    found = verdict.combine(json.loads(raw) if raw else {}, signal, groups)
    if found is None:
        return "no deploy action in this signal's decision"
    if found.first != (ruleset, rule, index):
        return f"combined into rule {found.first[1]}"
    if found.outcome == "refused":
        return refuse(conn, config, request_id, found.rule, found.reason, evaluation, rooms=found.rooms)

    def apply(request: dict) -> tuple[str, list[str]]:
        if request["evaluations"] != evaluation:
            raise reqs.Unchanged(("superseded", []))
        if request["state"] not in ("new", "waiting"):
            raise reqs.Unchanged((request["state"], []))
        request["requirements"] = found.requirements
        request["rooms"] = list(dict.fromkeys(request["rooms"] + found.rooms))
        waiting = found.waits + reqs.missing(request, groups, now)
        if not waiting:
            request["rule"] = found.rule
            return "go", []
        request.update(state="waiting", waiting_for=waiting, rule=found.rule)
        return "wait", waiting

    request, (outcome, waiting) = reqs.update(conn, request_id, apply, now=now)
    if outcome == "go":
        return start(conn, config, request_id, found.rule, evaluation=evaluation, now=now)
    if outcome != "wait":
        return f"{outcome}: nothing to do"
    with conn.pipeline(transaction=False) as pipe:
        facts.watch(pipe, request, ("sha", "app", "ref"))
        pipe.execute()
    # The room hears again only when what it waits for changed (not at every approval).
    what = json.dumps([found.rule, found.waits, [[n["approvers"], n["approvals"]] for n in found.requirements]])
    _announce_wait(conn, rules.data, request, found.rule, waiting, what)
    return f"waiting for {'; '.join(waiting)}"


def _announce_wait(conn: Redis, data: dict, request: dict, rule: str, waiting: list[str], what: str) -> None:
    _, changed = reqs.update(conn, request["id"], lambda r: _mark(r, what))
    if not changed:
        return
    _audit(conn, "deploy.waiting", request, rule=rule, reason="; ".join(waiting))
    app = apps.find(data, request["app"])
    own = " (their own approval does not count)" if request.get("requirements") else ""
    messages.post(conn, request, f"wait-{request['evaluations']}",
                  f"{messages.head(request)} waits for {'; '.join(waiting)}. Asked by {request['requester']}{own}.",
                  emoji=":hourglass_flowing_sand:", context=f"deploy ruleset, rule `{rule}`{_why(request)}",
                  with_buttons=bool(request.get("requirements")), app_room=app.room if app else "")


def _why(request: dict) -> str:
    return f" · `why {request['signals'][-1]}` explains it" if request.get("signals") else ""


def _mark(request: dict, kinds: str) -> bool:
    if request.get("announced") == kinds:
        raise reqs.Unchanged(False)
    request["announced"] = kinds
    return True


def refuse(conn: Redis, config: Config, request_id: str, rule: str, reason: str, evaluation: int | None = None,
           rooms: list[str] | None = None) -> str:
    """Refuse an open request, naming the rule and the reason; the room is told."""
    def apply(request: dict) -> bool:
        if evaluation is not None and request["evaluations"] != evaluation:
            raise reqs.Unchanged(False)
        if request["state"] not in ("new", "waiting"):
            raise reqs.Unchanged(False)
        request.update(state="refused", rule=rule, reason=reason, waiting_for=[])
        request["rooms"] = list(dict.fromkeys(request["rooms"] + (rooms or [])))
        return True

    request, changed = reqs.update(conn, request_id, apply)
    if not changed:
        return f"not refused: {request['id']} is {request['state']} (or superseded)"
    _unwatch_open(conn, request)
    _audit(conn, "deploy.refused", request, rule=rule, reason=reason)
    app = apps.find(rules_in_force(conn, config).data, request["app"])
    messages.post(conn, request, f"refused-{request['evaluations']}",
                  f"{messages.head(request)} refused by rule `{rule}`: {reason}",
                  emoji=":no_entry:", context=f"deploy ruleset{_why(request)} · `bypass {request['id']} because "
                                              f"<reason>` overrides it for the roles deploy.yml allows",
                  app_room=app.room if app else "")
    return f"refused by rule {rule}: {reason}"


def closed(conn: Redis, request: dict) -> None:
    """A request closed without deploying (denied): the facts it waited for stop concerning it."""
    _unwatch_open(conn, request)


def _unwatch_open(conn: Redis, request: dict) -> None:
    with conn.pipeline(transaction=False) as pipe:
        facts.watch(pipe, request, ("sha", "app", "ref"), add=False)
        pipe.execute()


# -- going ----------------------------------------------------------------------------------------

def start(conn: Redis, config: Config, request_id: str, rule: str, evaluation: int | None = None,
          bypass: bool = False, now: float | None = None) -> str:
    """Take the lock, start the deploy, tell the room. Refuses when the environment is locked."""
    now = time.time() if now is None else now
    data = rules_in_force(conn, config).data
    request = reqs.get(conn, request_id, now=now)
    if request is None:
        return f"{request_id} is gone"
    app = apps.find(data, request["app"])
    if app is None:
        return _refuse_any(conn, config, request, "apps", f"deploy.yml has no app {request['app']} any more",
                           evaluation)
    manual = locks.env_lock(conn, request["env"])
    if manual:
        return _refuse_any(conn, config, request, "lock", f"{request['env']} is locked by {locks.describe(manual)}",
                           evaluation)
    holder = locks.acquire(conn, request["app"], request["env"], request_id, app.timeout)
    if holder:
        return _refuse_any(conn, config, request, "one-deploy-at-a-time",
                           f"{holder} is deploying {request['app']} to {request['env']} right now", evaluation)
    allowed = ("new", "waiting", "refused") if bypass else ("new", "waiting")

    def begin(r: dict) -> bool:
        if (evaluation is not None and r["evaluations"] != evaluation) or r["state"] not in allowed:
            raise reqs.Unchanged(False)
        r.update(state="deploying", started=now, rule=rule, waiting_for=[], target={"type": app.kind},
                 deadline=now + app.timeout)
        return True

    request, began = reqs.update(conn, request_id, begin, now=now)
    if not began:
        locks.release(conn, request["app"], request["env"], request_id)
        return f"not started: {request_id} is {request['state']} (or superseded)"
    _unwatch_open(conn, request)
    try:
        target = targets.start(config, app.target, request)
    except targets.TargetError as exc:
        return finish(conn, config, request_id, "failed", f"could not start the deploy: {exc}")
    request, _ = reqs.update(conn, request_id, lambda r: r.update(target=target))
    with conn.pipeline(transaction=False) as pipe:
        facts.watch(pipe, {**request, "env": target.get("environment", request["env"])},
                    ("jenkins",) if target["type"] == "jenkins" else ("github",))
        pipe.execute()
    policy.enqueue(conn, timeout_job, request_id, now, policy=policy.DEPLOY, at=time.time() + app.timeout,
                   job_id=f"sparky-deploy-timeout-{request_id}", description=f"deploy {request_id}: timeout")
    who = ", ".join(reqs.approved_by(request, now))
    what = (f"Jenkins {target['job']} queued" if target["type"] == "jenkins"
            else f"GitHub deployment {target.get('deployment', '')} to {target.get('environment', '')} created")
    _audit(conn, "deploy.started", request, rule=rule, target=what, bypass="yes" if bypass else "")
    messages.post(conn, request, "started", f"{messages.head(request)}: deploying. Asked by {request['requester']}"
                  + (f", approved by {who}" if who else "") + f"; {what}.",
                  emoji=":rocket:", context=f"rule `{rule}` · times out after {human(app.timeout)}",
                  url=target.get("url", ""), app_room=app.room)
    return f"started: {what}"


def _refuse_any(conn: Redis, config: Config, request: dict, rule: str, reason: str, evaluation: int | None) -> str:
    """A refusal at the last moment (lock, race), also for a refused request being bypassed."""
    if request["state"] == "refused":
        _audit(conn, "deploy.refused", request, rule=rule, reason=reason)
        messages.post(conn, request, f"bypass-refused-{int(time.time())}",
                      f"{messages.head(request)} cannot start: {reason}", emoji=":no_entry:",
                      context=f"rule `{rule}` · bypass does not override locks")
        return f"refused by {rule}: {reason}"
    return refuse(conn, config, request["id"], rule, reason, evaluation)


def human(seconds: float) -> str:
    return humanize(seconds)


def finish(conn: Redis, config: Config, request_id: str, state: str, outcome: str, url: str = "",
           now: float | None = None) -> str:
    """End a running deploy (succeeded, failed, timed_out): lock released, room told, audited."""
    now = time.time() if now is None else now

    def end(request: dict) -> bool:
        if request["state"] != "deploying":
            raise reqs.Unchanged(False)
        request.update(state=state, finished=now, outcome=outcome)
        return True

    request, ended = reqs.update(conn, request_id, end, now=now)
    if not ended:
        return f"already {request['state']}"
    locks.release(conn, request["app"], request["env"], request_id)
    target = request.get("target") or {}
    with conn.pipeline(transaction=False) as pipe:
        facts.watch(pipe, {**request, "env": target.get("environment", request["env"])},
                    ("jenkins", "github"), add=False)
        pipe.delete(brain.key_deploy_progress(request_id))
        pipe.execute()
    took = human(now - request["started"]) if request.get("started") else ""
    _audit(conn, f"deploy.{state}", request, outcome=outcome, took=took)
    free = f"{request['env']} is free again."
    text, emoji = {
        "succeeded": (f"{messages.head(request)}: deployed in {took}. {free}", ":white_check_mark:"),
        "failed": (f"{messages.head(request)}: deploy failed: {outcome}. {free}", ":x:"),
        "timed_out": (f"{messages.head(request)}: {outcome}. {free}", ":alarm_clock:"),
    }[state]
    data = rules_in_force(conn, config).data
    app = apps.find(data, request["app"])
    messages.post(conn, request, state, text, emoji=emoji, url=url or target.get("url", ""),
                  mention=f"@{request['requester']}", app_room=app.room if app else "")
    return f"{state}: {outcome}"


# -- jobs queued by facts.py and the commands ------------------------------------------------------------

def _job_conn() -> Redis:
    return get_current_job().connection


def reconsider_job(request_id: str, signal_id: str) -> str:
    """RQ job: a fact a waiting request may wait for changed (CI, an alert): evaluate it again."""
    conn = _job_conn()
    request = reqs.get(conn, request_id)
    if request is None or request["state"] not in ("new", "waiting"):
        return "not waiting"
    signal = brain.load_signal(conn, signal_id) or {}
    return evaluate(conn, Config.from_env(), request_id, signal.get("kind", "fact"))


def push_job(request_id: str, signal_id: str) -> str:
    """RQ job: a new commit on a waiting request's branch voids its approvals; evaluate again."""
    conn, config = _job_conn(), Config.from_env()
    return pushed(conn, config, request_id, brain.load_signal(conn, signal_id) or {})


def pushed(conn: Redis, config: Config, request_id: str, signal: dict, now: float | None = None) -> str:
    labels = signal.get("labels") or {}
    sha = labels.get("sha", "")
    now = time.time() if now is None else now

    def move(request: dict) -> tuple[str, int]:
        if request["state"] not in ("new", "waiting") or not sha or sha == request["sha"] \
                or labels.get("branch") != request["ref"] or labels.get("repo") != request["repo"]:
            raise reqs.Unchanged(None)
        old, voided = request["sha"], len(request["approvals"])
        request.update(sha=sha, approvals=[], announced="")
        return old, voided

    request, moved = reqs.update(conn, request_id, move, now=now)
    if moved is None:
        return "nothing to do"
    old, voided = moved
    with conn.pipeline(transaction=False) as pipe:
        facts.watch(pipe, {**request, "sha": old}, ("sha",), add=False)
        facts.watch(pipe, request, ("sha",))
        pipe.execute()
    _audit(conn, "deploy.approvals_voided", request, old_sha=old, voided=voided, signal=signal.get("id", ""))
    app = apps.find(rules_in_force(conn, config).data, request["app"])
    messages.post(conn, request, f"push-{sha[:12]}",
                  f"{messages.head(request)}: new commit on {request['ref']} ({old[:7]} → {sha[:7]}), so it now "
                  f"deploys {sha[:7]}"
                  + (f"; {voided} approval{'s' if voided != 1 else ''} voided." if voided else "."),
                  emoji=":arrows_counterclockwise:", app_room=app.room if app else "")
    return evaluate(conn, config, request_id, "push", now=now)


def bypass_job(request_id: str) -> str:
    """RQ job: start a bypassed request (queued by `bypass`, which has already announced it)."""
    conn = _job_conn()
    return start(conn, Config.from_env(), request_id, "bypass", bypass=True)


def timeout_job(request_id: str, started: float) -> str:
    """RQ job (scheduled at start + the app's timeout): end a deploy that never reported back."""
    conn, config = get_current_job().connection, Config.from_env()
    request = reqs.get(conn, request_id)
    if request is None or request["state"] != "deploying" or abs(request.get("started", 0) - started) > 1e-3:
        return "finished before its timeout"
    return finish(conn, config, request_id, "timed_out",
                  f"no result after {human(time.time() - started)}: timed out "
                  f"(the deploy may still be running: check it)")
