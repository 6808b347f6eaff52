"""A deploy request through the deploy ruleset: the gate facts as labels of a `deploy` signal.

Each evaluation of a request is a signal `{source: sparky, kind: deploy, status: requested}`
whose labels carry what is asked and everything the gates know at that moment:

`request app repo env ref sha short_sha requester room evaluation trigger` (what is asked),
`ci ci_failing ci_pending` (the commit's CI), `critical_alerts alerts` (for the app),
`freeze freeze_until business_hours weekday local_time timezone` (the calendar), `locked running`
(locks) and `approvals approved_by`. docs/deploy.md says what each holds.

Why labels and not brain-derived fields (`snoozed`, `deploying`, ...) computed by the engine:
the engine fills brain fields for every signal of a batch whenever any ruleset reads them, so a
CI lookup would be paid by every alert; labels are computed once, for deploy requests only. They
also make every decision reproducible — `why <signal>` and `sparky rules test` show exactly what
the gates saw, and a rule file's inline tests set them like any label — and templates can quote
them in a refusal (`{labels.freeze}`), which brain fields cannot. The engine needs no new field.

`run()` stores the signal and has the evaluation job's own code decide it in this process
(`router.engine.decide`: decision stored, the `deploy` action queued, exactly once), so a caller
knows at once whether any deploy rule matched.
"""
from __future__ import annotations

import json
import time

from redis import Redis

from router.core import brain
from router.core.config import Config
from router.core.signal import Signal, new_id
from router.deploys import apps, calendar, facts, locks
from router.deploys import records as reqs
from router.engine import decide, store

SOURCE, KIND, STATUS = "sparky", "deploy", "requested"
SIGNALS_KEPT = 20   # evaluation signal ids remembered per request


def is_request_signal(signal: dict) -> bool:
    return (signal.get("source") == SOURCE and signal.get("kind") == KIND
            and bool((signal.get("labels") or {}).get("request")))


def labels(conn: Redis, data: dict, request: dict, evaluation: int, trigger: str, now: float) -> dict[str, str]:
    """The gate facts of a request at `now`, as signal labels (empty ones left out)."""
    app = apps.find(data, request["app"])
    cal = data.get("calendar") or {}
    with conn.pipeline(transaction=False) as pipe:
        pipe.hgetall(brain.key_deploy_ci(request["sha"]))
        pipe.smembers(brain.key_firing_by("app", request["app"]))
        pipe.get(brain.key_env_lock(request["env"]))
        pipe.get(brain.key_deploy_lock(request["app"], request["env"]))
        ci_raw, firing, env_lock, running = pipe.execute()
    ci, red, pending = facts.ci_summary(ci_raw, app.required_contexts if app else ())
    critical = facts.critical(_alert_states(conn, sorted(f.decode() for f in firing)))
    freeze = calendar.freeze_at(cal, request["env"], now)
    hours = calendar.business_hours(cal, request["env"], now)
    local = calendar.local(now, cal)
    running = running.decode() if running else ""
    approved = reqs.approved_by(request, now)
    out = {
        "request": request["id"], "app": request["app"], "repo": request["repo"], "env": request["env"],
        "ref": request["ref"], "sha": request["sha"], "short_sha": request["sha"][:7],
        "requester": request["requester"], "room": request["room"],
        "evaluation": str(evaluation), "trigger": trigger,
        "ci": ci, "ci_failing": ", ".join(red), "ci_pending": ", ".join(pending),
        "critical_alerts": str(len(critical)), "alerts": ", ".join(critical[:3]),
        "freeze": freeze.reason if freeze else "", "freeze_until": calendar.show(freeze.end) if freeze else "",
        "business_hours": "" if hours is None else str(hours).lower(),
        "weekday": calendar.DAYS[local.weekday()], "local_time": f"{local:%H:%M}", "timezone": str(local.tzinfo),
        "locked": locks.describe(json.loads(env_lock)) if env_lock else "",
        "running": running if running != request["id"] else "",
        "approvals": str(len(approved)), "approved_by": ", ".join(approved),
    }
    return {k: v for k, v in out.items() if v != ""}


def _alert_states(conn: Redis, fingerprints: list[str]) -> list[dict]:
    if not fingerprints:
        return []
    with conn.pipeline(transaction=False) as pipe:
        for fingerprint in fingerprints:
            pipe.hmget(brain.key_alert(fingerprint), "status", "severity", "subject")
        rows = pipe.execute()
    return [{"status": (s or b"").decode(), "severity": (v or b"").decode(), "subject": (j or b"").decode()}
            for s, v, j in rows]


def run(conn: Redis, config: Config, request_id: str, trigger: str, now: float | None = None
        ) -> tuple[dict, dict, dict] | None:
    """Evaluate an open request (new or waiting) once more: (request, signal, decision), or None
    when it is not open any more."""
    now = time.time() if now is None else now
    rules = store.current(conn, config.rules_dir, poll=config.rules_poll)
    signal_id = new_id()

    def bump(request: dict) -> int:
        if request["state"] not in ("new", "waiting"):
            raise reqs.Unchanged(None)
        request["evaluations"] += 1
        request["signals"] = (request["signals"] + [signal_id])[-SIGNALS_KEPT:]
        return request["evaluations"]

    request, evaluation = reqs.update(conn, request_id, bump, now=now)
    if evaluation is None:
        return None
    facts_now = labels(conn, rules.data, request, evaluation, trigger, now)
    signal = Signal(source=SOURCE, kind=KIND, status=STATUS, severity="info", id=signal_id,
                    subject=f"{request['app']}@{request['sha'][:7]} to {request['env']}",
                    fingerprint=f"deploy:{request['app']}:{request['env']}", labels=facts_now,
                    summary=f"{request['requester']} asks to deploy {request['app']} {request['ref']}@"
                            f"{request['sha'][:7]} to {request['env']} ({request['id']}, {trigger})",
                    actor=request["requester"]).to_dict()
    with conn.pipeline(transaction=True) as pipe:
        brain.store_signals(pipe, [signal], config.signal_ttl)
        pipe.execute()
    decide(conn, [signal_id], config)
    raw = conn.get(brain.key_decision(signal_id))
    return request, signal, json.loads(raw) if raw else {}
