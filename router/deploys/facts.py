"""The facts deploy gates need, kept in the brain as signals are evaluated.

`record(conn, data, signals)` runs for every evaluation batch, before the rules (a fact provider's
record step, registered by router/deploys/plugin.py). One pipeline for the whole batch, and
nothing at all for a batch with no CI, build, alert, push or deployment signal:

- GitHub `ci` (statuses, check runs/suites, workflow runs) and Jenkins `build` signals with a sha:
  the latest state per CI context of that commit (`jenkins/<job>` for Jenkins), in
  `key_deploy_ci(sha)`. Builds of the jobs that deploy apps (deploy.yml) are deploy progress.
- Alerts: their state is the evaluation's own (router/alerts/state.py, recorded just before this);
  the gates read the ones firing per `app` label from it.
- Pushes to a branch: the branch's head, for resolving refs when GitHub is unreachable.
Then the requests these facts concern (brain.key_deploy_watch) get a job (plugin.py): waiting requests are
evaluated again (CI finished, an alert of the app changed), a push to a waiting request's branch voids its
approvals, and Jenkins builds / GitHub deployment statuses move running deploys on
(router/deploys/lifecycle.py).

Order: facts are applied in the order signals are evaluated (receipt order); a CI context's
latest state wins, as GitHub shows it.
"""
from __future__ import annotations

import json
import logging
import re

from redis import Redis

from router.core import brain
from router.deploys import apps

log = logging.getLogger("sparky.deploys")

GREEN = frozenset({"success", "succeeded", "passed"})
RED = frozenset({"failure", "error", "failed", "unstable", "aborted", "cancelled", "timed_out",
                 "action_required", "startup_failure"})
PENDING = frozenset({"pending", "queued", "started", "in_progress", "waiting", "requested", "running"})
FIRING = frozenset({"firing", "flapping"})


def record(conn: Redis, data: dict, signals: list[dict]) -> list[tuple[dict, str, str]]:
    """Keep the gate facts of a batch of signals; returns what they concern: (signal, watch kind,
    request id) per deploy request to move on (router/deploys/plugin.py queues those jobs)."""
    pipe = conn.pipeline(transaction=False)
    watches: list[tuple[dict, str, str]] = []   # (signal, watch kind, watch value)
    deploy_jobs = None
    for signal in signals:
        kind, labels = signal.get("kind"), signal.get("labels") or {}
        if kind == "ci" and signal.get("source") == "github":
            if labels.get("sha") and labels.get("context"):
                _ci(pipe, labels["sha"], labels["context"], signal)
                watches.append((signal, "sha", labels["sha"]))
        elif kind == "build" and signal.get("source") == "jenkins" and labels.get("job"):
            deploy_jobs = apps.deploy_jobs(data) if deploy_jobs is None else deploy_jobs
            if labels["job"] in deploy_jobs:
                watches.append((signal, "jenkins", labels["job"]))
            elif labels.get("sha"):
                _ci(pipe, labels["sha"], f"jenkins/{labels['job']}", signal)
                watches.append((signal, "sha", labels["sha"]))
        elif kind == "alert" and labels.get("app"):
            watches.append((signal, "app", labels["app"]))
        elif kind == "push" and signal.get("status") == "branch" and labels.get("repo") and labels.get("branch"):
            if labels.get("sha"):
                pipe.set(brain.key_deploy_head(labels["repo"], labels["branch"]), labels["sha"],
                         ex=brain.DEPLOY_FACT_TTL)
            watches.append((signal, "ref", f"{labels['repo']}@{labels['branch']}"))
        elif kind == "deployment" and labels.get("repo") and labels.get("env"):
            watches.append((signal, "github", f"{labels['repo']}@{labels['env']}"))
    if not watches:
        if len(pipe):
            pipe.execute()
        return []
    first = len(pipe)
    for _, kind, value in watches:
        pipe.smembers(brain.key_deploy_watch(kind, value))
    found = pipe.execute()[first:]
    return [(signal, kind, request_id.decode())
            for (signal, kind, _), ids in zip(watches, found) for request_id in ids]


def _ci(pipe, sha: str, context: str, signal: dict) -> None:
    key = brain.key_deploy_ci(sha)
    pipe.hset(key, context, json.dumps({"state": signal.get("status", ""), "url": signal.get("url", ""),
                                        "signal": signal.get("id", ""), "at": signal.get("occurred_at", "")}))
    pipe.expire(key, brain.DEPLOY_FACT_TTL)


# -- reading them back (router/deploys/gates.py) ----------------------------------------------------

def ci_summary(raw: dict, required: tuple[str, ...] = ()) -> tuple[str, list[str], list[str]]:
    """(green | red | pending | unknown, red contexts, pending contexts) of one commit's CI.

    With `required` (regexes, matched whole), each required context must be green, and others
    are ignored; without, every context seen counts and one green result is needed.
    """
    states = {}
    for context, value in raw.items():
        context = context.decode() if isinstance(context, bytes) else context
        try:
            states[context] = json.loads(value)["state"]
        except (ValueError, KeyError, TypeError):
            continue
    if required:
        patterns = [re.compile(r) for r in required]
        states = {c: s for c, s in states.items() if any(p.fullmatch(c) for p in patterns)}
        unseen = [r for r, p in zip(required, patterns) if not any(p.fullmatch(c) for c in states)]
    else:
        unseen = []
    red = sorted(c for c, s in states.items() if s in RED)
    pending = sorted(c for c, s in states.items() if s in PENDING) + unseen
    green = [c for c, s in states.items() if s in GREEN]
    if red:
        return "red", red, pending
    if pending:
        return "pending", red, pending
    if green:
        return "green", red, pending
    return "unknown", red, pending


def critical(states: list[dict]) -> list[str]:
    """Subjects of the firing critical alerts among alert states (router/alerts/state.py)."""
    return sorted(a.get("subject", "") for a in states
                  if a.get("status") in FIRING and a.get("severity") == "critical")


def watch(pipe, request: dict, kinds: tuple[str, ...], add: bool = True) -> None:
    """Queue on `pipe`: (un)register a request for the facts it depends on."""
    values = {"sha": request["sha"], "app": request["app"], "ref": f"{request['repo']}@{request['ref']}",
              "jenkins": (request.get("target") or {}).get("job", ""),
              "github": f"{request['repo']}@{request['env']}"}
    for kind in kinds:
        if not values.get(kind):
            continue
        key = brain.key_deploy_watch(kind, values[kind])
        if add:
            pipe.sadd(key, request["id"])
            pipe.expire(key, brain.DEPLOY_TTL)
        else:
            pipe.srem(key, request["id"])


# -- the `deploying` fact ------------------------------------------------------------------------------

FIELDS = {"deploying": False}   # a deploy of `labels.app` is in progress (key_deploying exists)


def gather(pipe, ctxs: list[dict], needed: set[str], now: float, write: bool) -> list:
    reads: list = []
    for ctx in ctxs:
        app = ctx.get("labels.app")
        ctx["deploying"] = False
        if app:
            pipe.exists(brain.key_deploying(app))
            reads.append(lambda n, ctx=ctx: ctx.__setitem__("deploying", bool(n)))
    return reads
