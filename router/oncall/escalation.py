"""Escalation chains: ordered steps (notify, wait, repeat) run for a firing alert until it is
acknowledged or resolved.

A policy (oncall.yml `escalations:`) is a list of steps:
- `notify: {oncall: ops/primary}` (the person on call on that layer *when the step runs*),
  `{person: alice}`, `{group: leads}` or `{room: "#managers"}`;
- `wait: 10m`;
- `repeat: N` (last): run the steps from the top N more times.
The `escalate` action starts a *run* of a policy for an alert (actions/escalate.py); its old form
(`after`, `mention`, `repeat`) is the chain of one `[wait: after, notify: mention]`.

How a run moves: notify steps page at once, in order, until a `wait`; the wait is an RQ job
scheduled for its end (router/jobs/policy.py `schedule`, job id = run, position and round, so
scheduling it twice keeps one job). The job first reads the alert: resolved, acknowledged, or
fired again since (a new episode, which escalates on its own) stop the run. Each page is a chat
message with a delivery key of its run, round and step, so a retried or duplicated job never
pages twice. `escalate <alert>` in chat pages the next notify step now; the job that was waiting
for it finds the run moved on and does nothing (a short lock per run keeps the two from moving
it at the same moment). Every page and stop is kept in the run's history
(`why`, `GET /api/alerts/<id>/escalation`) and the alert's timeline.

A notify step may say `during: <time interval>` (the rule files' `time_intervals:`): outside it
the step is skipped (noted in the history, not a page), as is a step whose schedule layer has
nobody on call right then (a restricted layer's gap, router/oncall/schedule.py).

When a step pages a person (`oncall` or `person`), their people.yml `notify:` rules are scheduled
too (router/oncall/personal.py: a DM, a webhook, each `after` a while), each its own job that
does nothing once the run is stopped by an ack, a resolve or a new episode.
"""
from __future__ import annotations

import time

from redis import Redis
from rq import get_current_job

from router.alerts import state as alerts
from router.chat import send as chat
from router.chat.compose import alert_buttons, context_line, default_text, firing
from router.core import brain, durations, intervals
from router.core.config import Config
from router.core.outcomes import Later, Permanent
from router.core.templates import render
from router.core.times import from_epoch
from router.engine import store
from router.jobs import guard, policy
from router.jobs.context import Context
from router.oncall import personal, rota

RUNNING = "running"
LOCK_SECONDS = 30     # a run is moved on by one job or one `escalate` at a time


class NoEscalation(LookupError):
    pass


def chain_of_one(after: object, mention: str) -> tuple[list[dict], str]:
    """The old one-step `escalate` (`after`, `mention`) as a chain: wait, then notify."""
    return [{"wait": int(durations.seconds(after))}, {"notify": {"mention": mention}}], ""


def chain_of(data: dict, name: str) -> tuple[list[dict], int]:
    """A named policy's steps (waits in seconds) and how often it repeats."""
    steps = (data.get("escalations") or {}).get(name)
    if steps is None:
        raise NoEscalation(f'no escalation policy "{name}" in oncall.yml')
    out, repeat = [], 0
    for step in steps:
        if "repeat" in step:
            repeat = int(step["repeat"])
        elif "wait" in step:
            out.append({"wait": int(durations.seconds(step["wait"]))})
        else:
            out.append({"notify": dict(step["notify"]), **({"during": step["during"]} if step.get("during") else {})})
    return out, repeat


def start(conn: Redis, config: Config, signal: dict, ctx: Context, steps: list[dict], repeat: int, *,
          policy_name: str = "", room: str = "", template: str = "", mute_during: list | None = None) -> str:
    """Start (once per action and episode) a run of `steps` for the firing alert of `signal`."""
    state = alerts.state(conn, signal["fingerprint"])
    if not state:  # the engine records alerts before evaluating; be safe if it did not
        alerts.record(conn, signal)
        state = alerts.state(conn, signal["fingerprint"])
    run_id = brain.digest(ctx.key, 16)
    existing = brain.escalation_run(conn, signal["fingerprint"], run_id)
    if existing:   # a retried action job: the run is under way
        return describe(existing)
    now = time.time()
    run = {"id": run_id, "policy": policy_name, "fingerprint": signal["fingerprint"], "signal_id": signal["id"],
           "episode": state.get("firing_since", ""), "context": ctx.identity(), "room": room,
           "template": template, "mute_during": list(mute_during or []), "steps": steps, "repeat": int(repeat), "position": 0, "round": 1, "pages": 0,
           "state": RUNNING, "started": now, "next_at": None, "history": []}
    brain.put_escalation(conn, run)
    _timeline(conn, run, now, "escalation.started", f"escalation {policy_name or 'chain'} started")
    return advance(conn, config, run, now)


def advance(conn: Redis, config: Config, run: dict, now: float, written: list[str] | None = None) -> str:
    """Page every notify step from the run's position up to the next wait, and schedule that wait."""
    posted = written if written is not None else []
    steps = run["steps"]
    loops = 0
    while True:
        while run["position"] < len(steps):
            step = steps[run["position"]]
            if "wait" in step:
                due = now + step["wait"]
                run["position"] += 1
                run["next_at"] = from_epoch(due)
                brain.put_escalation(conn, run)
                _schedule(conn, run, due)
                return "; ".join(posted) or describe(run)
            posted.append(page(conn, config, run, run["position"], now))
            run["position"] += 1
        if run["round"] > run["repeat"] or loops > len(steps) + 1:
            break
        run["round"] += 1
        run["position"] = 0
        loops += 0 if any("wait" in s for s in steps) else 1
    run["state"], run["next_at"] = "done", None
    brain.put_escalation(conn, run)
    return "; ".join(posted) or describe(run)


def _schedule(conn: Redis, run: dict, due: float) -> None:
    job_id = f"esc-{run['id']}-{run['round']}-{run['position']}"
    ctx = Context(**run["context"])
    policy.schedule(conn, due, step_job, run["fingerprint"], run["id"], run["position"], run["round"],
                    job_id=job_id, description=f"escalate {run['fingerprint']} round {run['round']} "
                                              f"step {run['position'] + 1} ({ctx.scope})")


def page(conn: Redis, config: Config, run: dict, index: int, now: float) -> str:
    """Post step `index` of the run (a notify step); once per run, round and step (delivery key)."""
    target = run["steps"][index]["notify"]
    quiet = _muted(conn, config, run, now)
    if quiet:   # `mute_during:` (Alertmanager's mute_time_intervals): this page is not sent, not later either
        what = f"muted: time interval {quiet} holds (mute_during); step {index + 1} round {run['round']} not posted"
        run["history"].append({"at": from_epoch(now), "step": index + 1, "round": run["round"], "who": "",
                               "mention": "", "rooms": [], "what": what})
        brain.put_escalation(conn, run)
        return what
    skipped = _outside(conn, config, run["steps"][index], now)
    mention, who, rooms = _whom(conn, config, run, target, now)
    if not skipped and "oncall" in target and not who:
        skipped = f"nobody is on call on {target['oncall']} now (outside its layer's during:)"
    if skipped:
        what = f"skipped step {index + 1} (round {run['round']}): {skipped}"
        run["history"].append({"at": from_epoch(now), "step": index + 1, "round": run["round"], "who": "",
                               "mention": "", "rooms": [], "what": what, "skipped": True})
        brain.put_escalation(conn, run)
        _timeline(conn, run, now, "escalation.skipped", what)
        return what
    signal = brain.load_signal(conn, run["signal_id"]) or _from_state(conn, run)
    if not rooms:
        raise Permanent("escalate: no room given and the alert was not posted anywhere")
    threads = chat.threads_of(conn, run["fingerprint"])
    ctx = Context(**run["context"])
    minutes = int((now - run["started"]) // 60)
    template = target.get("template") or run.get("template")
    if template:
        text = render(template, signal)
    elif minutes or not run.get("policy"):    # the one-step form always comes after its wait
        text = f"still firing after {max(1, minutes)}m, not acknowledged: {default_text(signal)}"
    else:
        text = f"paging: {default_text(signal)}"
    run["pages"] += 1
    out = []
    for room in rooms:
        message = chat.Message(
            room=room, key=f"{ctx.key}/escalation/{run['round']}/{index}/{room}", text=text, mention=mention,
            emoji=":rotating_light:", context=context_line(signal), url=signal.get("url", ""),
            buttons=alert_buttons(signal) if firing(signal) else (), thread=threads.get(room, ""),
            broadcast=bool(threads.get(room)), signal=run["signal_id"])
        out.append(chat.send(conn, config, message).describe())
    what = f"paged {mention or 'the room'} (step {index + 1}, round {run['round']}): " + "; ".join(out)
    run["history"].append({"at": from_epoch(now), "step": index + 1, "round": run["round"], "who": who,
                           "mention": mention, "rooms": rooms, "what": what})
    brain.put_escalation(conn, run)
    _timeline(conn, run, now, "escalation.paged", what, who=who)
    if "oncall" in target or "person" in target:
        _personal(conn, config, run, index, who, now)
    return f"escalated to {mention or ', '.join(rooms)} (round {run['round']}): " + "; ".join(out)


def _outside(conn: Redis, config: Config, step: dict, now: float) -> str:
    """Why a step limited to a time interval (`during:`) is skipped now ("" when it runs)."""
    if not step.get("during"):
        return ""
    raw = store.current(conn, config.rules_dir, config.rules_poll).data.get("time_intervals")
    return "" if intervals.holds(raw, step["during"], now) else f"only during {step['during']}, which does not hold now"


def _personal(conn: Redis, config: Config, run: dict, index: int, person: str, now: float) -> None:
    """Schedule the paged person's people.yml `notify:` rules, each at the page + its `after`."""
    data = store.current(conn, config.rules_dir, config.rules_poll).data
    for number, rule in enumerate(personal.rules_of(data, person)):
        job_id = f"{personal.JOB_PREFIX}-{run['id']}-{run['round']}-{index}-{number}"
        policy.schedule(conn, now + rule["after"], personal_job, run["fingerprint"], run["id"], run["round"],
                        index, person, number, job_id=job_id,
                        description=f"notify {person} (rule {number + 1}) for {run['fingerprint']}")


def personal_job(fingerprint: str, run_id: str, round_: int, index: int, person: str, number: int) -> str:
    """RQ job: one of a paged person's notification rules, unless the run was stopped since."""
    job = get_current_job()
    return personal_with(job.connection, Config.from_env(), fingerprint, run_id, round_, index, person, number)


def personal_with(conn: Redis, config: Config, fingerprint: str, run_id: str, round_: int, index: int,
                  person: str, number: int) -> str:
    run = brain.escalation_run(conn, fingerprint, run_id)
    if run is None:
        return "not sent: the escalation run is gone"
    why = stopped_by(conn, run)
    if why:
        return f"not sent: {why}"
    data = store.current(conn, config.rules_dir, config.rules_poll).data
    rules = personal.rules_of(data, person)
    if number >= len(rules):
        return f"not sent: {person}'s notify rules changed since"
    now = time.time()
    signal = brain.load_signal(conn, run["signal_id"]) or _from_state(conn, run)
    key = f"{Context(**run['context']).key}/personal/{round_}/{index}/{person}/{number}"
    what = personal.deliver(conn, config, data, run, person, rules[number], key, signal, now)
    _timeline(conn, run, now, "escalation.notified", what, who=person)
    return what


def _muted(conn: Redis, config: Config, run: dict, now: float) -> str:
    """The first of the run's `mute_during` intervals that holds at `now` ("" when none does)."""
    names = run.get("mute_during") or []
    if not names:
        return ""
    raw = store.current(conn, config.rules_dir, config.rules_poll).data.get("time_intervals")
    return next((name for name in names if intervals.holds(raw, name, now)), "")


def _whom(conn: Redis, config: Config, run: dict, target: dict, now: float) -> tuple[str, str, list[str]]:
    """(mention, who it is, rooms) of a notify step, now."""
    threads = chat.threads_of(conn, run["fingerprint"])
    default_rooms = [run["room"]] if run.get("room") else sorted(threads)
    if "room" in target:
        return "", "", [target["room"]]
    if "oncall" in target:
        data = store.current(conn, config.rules_dir, poll=config.rules_poll).data
        schedule, layer = rota.target(data, *(target["oncall"].split("/") + [""])[:2])
        person = rota.person(conn, data, schedule, layer, now)
        return f"@{person}", person, default_rooms
    if "person" in target:
        return f"@{target['person']}", target["person"], default_rooms
    if "group" in target:
        return f"@{target['group']}", target["group"], default_rooms
    mention = target.get("mention", "")
    return mention, mention.lstrip("@"), default_rooms


def _from_state(conn: Redis, run: dict) -> dict:
    state = alerts.state(conn, run["fingerprint"])
    return {"id": run["signal_id"], "fingerprint": run["fingerprint"], "kind": "alert", "status": "firing",
            "subject": state.get("subject", ""), "summary": state.get("summary", "")}


def stopped_by(conn: Redis, run: dict) -> str:
    """Why the run must stop now ("" if it goes on): the alert's state decides."""
    if run["state"] != RUNNING:
        return f"stopped: {run['state']}"
    state = alerts.state(conn, run["fingerprint"])
    if not alerts.is_firing(state):
        return f"stopped: {state.get('status') or 'no longer known'}"
    if state.get("acked_by"):
        return f"stopped: acknowledged by {state['acked_by']}"
    if run["episode"] and state.get("firing_since") != run["episode"]:
        return "stopped: fired again since; that episode escalates on its own"
    return ""


def stop(conn: Redis, run: dict, why: str, now: float) -> None:
    state = "resolved" if "resolved" in why else "acked" if "acknowledged" in why else "stopped"
    run["state"], run["next_at"] = state, None
    run["history"].append({"at": from_epoch(now), "what": why})
    brain.put_escalation(conn, run)
    _timeline(conn, run, now, "escalation.stopped", why)


def step_job(fingerprint: str, run_id: str, position: int, round_: int) -> object:
    """RQ job: a wait is over; go on with the run unless the alert was acked, resolved or fired again."""
    job = get_current_job()
    return step_with(job.connection, Config.from_env(), fingerprint, run_id, position, round_, job=job)


def step_with(conn: Redis, config: Config, fingerprint: str, run_id: str, position: int, round_: int, job=None):
    run = brain.escalation_run(conn, fingerprint, run_id)
    if run is None:
        return "stopped: the escalation run is gone"
    ctx = Context(**run["context"])
    waits = sum(1 for s in run["steps"] if "wait" in s) or 1
    number = (round_ - 1) * waits + sum(1 for s in run["steps"][:position] if "wait" in s)
    field = f"{ctx.scope}/escalation/{number}"

    def work() -> str:
        if not conn.set(brain.key_escalation_lock(run_id), "1", nx=True, ex=LOCK_SECONDS):
            raise Later(2, "the run is being moved on by hand right now")
        try:
            fresh = brain.escalation_run(conn, fingerprint, run_id)
            if (fresh["position"], fresh["round"]) != (position, round_) and fresh["state"] == RUNNING:
                return "skipped: the run moved on (escalated by hand)"
            why = stopped_by(conn, fresh)
            if why:
                if fresh["state"] == RUNNING:
                    stop(conn, fresh, why, time.time())
                return why
            return advance(conn, config, fresh, time.time())
        finally:
            conn.delete(brain.key_escalation_lock(run_id))

    def finish(pipe, state: str, text: str) -> None:
        key = brain.key_action_outcomes(run["signal_id"])
        pipe.hset(key, field, guard.outcome_record("escalate", state, text, job))
        pipe.expire(key, brain.ACTION_OUTCOME_TTL)

    body = {"signal_id": run["signal_id"], "fingerprint": fingerprint, **run["context"], "round": round_,
            "position": position, "room": run.get("room", "")}
    return guard.guarded(conn, config, job, "action:escalate", body, work, finish)


def escalate_now(conn: Redis, config: Config, fingerprint: str, who: str, now: float) -> tuple[list[str], list[str]]:
    """Page the next notify step of every running run of the alert now (`escalate <alert>`):
    (what was paged, the runs a step job is moving on at this moment)."""
    out, busy = [], []
    for run in brain.escalations(conn, fingerprint):
        if stopped_by(conn, run):
            continue
        if not conn.set(brain.key_escalation_lock(run["id"]), "1", nx=True, ex=LOCK_SECONDS):
            busy.append(describe(run))
            continue
        try:
            done = _page_next(conn, config, brain.escalation_run(conn, fingerprint, run["id"]), who, now)
        finally:
            conn.delete(brain.key_escalation_lock(run["id"]))
        if done:
            out.append(done)
    return out, busy


def _page_next(conn: Redis, config: Config, run: dict, who: str, now: float) -> str:
    steps, position = run["steps"], run["position"]
    while position < len(steps) and "wait" in steps[position]:
        position += 1
    if position >= len(steps):
        if run["round"] > run["repeat"]:
            return ""
        run["round"], position = run["round"] + 1, 0
        while position < len(steps) and "wait" in steps[position]:
            position += 1
    run["history"].append({"at": from_epoch(now), "what": f"escalated by hand by {who}"})
    run["position"] = position
    _timeline(conn, run, now, "escalation.manual", f"{who} escalated by hand", who=who)
    return advance(conn, config, run, now)


def describe(run: dict) -> str:
    """One line: where the run is."""
    name = run.get("policy") or "escalation"
    pages = len([h for h in run["history"] if h.get("step") and not h.get("skipped")])
    if run["state"] == RUNNING:
        upcoming = _next_notify(run)
        then = f"; next: {upcoming} at {run['next_at']}" if run.get("next_at") and upcoming else ""
        return f"{name}: running, {pages} page(s) so far (round {run['round']}){then}"
    return f"{name}: {run['state']} after {pages} page(s)"


def _next_notify(run: dict) -> str:
    steps = run["steps"]
    for index in range(run["position"], len(steps)):
        if "notify" in steps[index]:
            target = steps[index]["notify"]
            kind, value = next(iter(target.items()))
            return f"step {index + 1} ({value if kind == 'mention' else f'{kind} {value}'})"
    return "the steps again" if run["round"] <= run["repeat"] else ""


def _timeline(conn: Redis, run: dict, now: float, event: str, what: str, who: str = "") -> None:
    brain.add_timeline(conn, run["fingerprint"], {"at": from_epoch(now), "event": event, "who": who,
                                                  "what": what, "policy": run.get("policy", ""),
                                                  "run": run["id"]})
