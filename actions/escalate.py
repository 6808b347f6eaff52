"""`escalate`: unless the alert is acked or resolved within `after`, post it again with `mention`.

No thread sleeps: the action schedules a `check` job at now + `after` (RQ's scheduler runs it).
The check reads the alert's state (router/alerts/state.py) and stops when the alert was resolved,
acknowledged, or fired again since (the new episode has its own escalation); otherwise it posts
the escalation, in the firing message's thread and broadcast to the room, and schedules the next
round while `repeat` allows. Each round has its own delivery key, so a retried check posts once.
"""
from __future__ import annotations

import time

from redis import Redis
from rq import get_current_job

from actions.muting import muted, names_of
from router.alerts import state as alerts
from router.chat import send as chat
from router.chat.compose import alert_buttons, context_line, default_text, firing
from router.core import brain, durations
from router.core.config import Config
from router.core.outcomes import Permanent
from router.core.templates import render
from router.core.times import from_epoch
from router.jobs import guard, policy
from router.jobs.context import Context


def escalate(signal: dict, conn: Redis, config: Config, *, after: object, mention: str, repeat: int = 0,
             room: str = "", template: str = "", mute_during: object = (), ctx: Context | None = None) -> str:
    """Schedule the first check of a firing alert `after` ("15m") from now; `repeat` more rounds."""
    ctx = ctx or Context(signal["id"], action="escalate")
    after = int(durations.seconds(after))
    if not firing(signal):
        return f"not escalated: {signal.get('kind')} {signal.get('status')} is not a firing alert"
    state = alerts.state(conn, signal["fingerprint"])
    if not state:  # the engine records alerts before evaluating; be safe if it did not
        alerts.record(conn, signal)
        state = alerts.state(conn, signal["fingerprint"])
    episode = state.get("firing_since", "")
    at, who = time.time() + after, render(mention, signal).strip()
    _schedule(conn, at, signal, ctx, room, who, template, after, repeat, 1, episode, names_of(mute_during))
    return f"escalation to {who} at {from_epoch(at)} unless acked or resolved"


def _schedule(conn: Redis, at: float, signal: dict, ctx: Context, room: str, mention: str, template: str,
              after: int, repeat: int, round_: int, episode: str, mute_during: list | None = None) -> None:
    job_id = f"esc-{brain.digest(ctx.key)}-{round_}"
    policy.schedule(conn, at, check, signal["id"], signal["fingerprint"], ctx.identity(), room, mention,
                  template, after, repeat, round_, episode, mute_during or [], job_id=job_id,
                  description=f"escalate {signal['fingerprint']} round {round_} ({ctx.scope})")


def check(signal_id: str, fingerprint: str, context: dict, room: str, mention: str, template: str,
          after: int, repeat: int, round_: int, episode: str, mute_during: list | None = None) -> object:
    """RQ job: escalate now unless the alert was acked, resolved or fired again."""
    job = get_current_job()
    return check_with(job.connection, Config.from_env(), signal_id, fingerprint, context, room, mention,
                      template, after, repeat, round_, episode, job=job, mute_during=mute_during)


def check_with(conn: Redis, config: Config, signal_id: str, fingerprint: str, context: dict, room: str,
               mention: str, template: str, after: int, repeat: int, round_: int, episode: str, job=None,
               mute_during: list | None = None):
    ctx = Context(**context)
    field = f"{ctx.scope}/escalation/{round_}"

    def work() -> str:
        state = alerts.state(conn, fingerprint)
        if not alerts.is_firing(state):
            return f"stopped: {state.get('status') or 'no longer known'}"
        if state.get("acked_by"):
            return f"stopped: acknowledged by {state['acked_by']}"
        if episode and state.get("firing_since") != episode:
            return "stopped: fired again since; that episode escalates on its own"
        quiet = muted(conn, config, mute_during, time.time())
        if quiet:
            if round_ <= repeat:
                _schedule(conn, time.time() + after, {"id": signal_id, "fingerprint": fingerprint}, ctx, room,
                          mention, template, after, repeat, round_ + 1, episode, mute_during)
            return f"muted: time interval {quiet} holds (mute_during); round {round_} not posted"
        signal = brain.load_signal(conn, signal_id) or {
            "id": signal_id, "fingerprint": fingerprint, "kind": "alert", "status": "firing",
            "subject": state.get("subject", ""), "summary": state.get("summary", "")}
        threads = chat.threads_of(conn, fingerprint)
        targets = [room] if room else sorted(threads)
        if not targets:
            raise Permanent("escalate: no room given and the alert was not posted anywhere")
        minutes = max(1, after * round_ // 60)
        text = render(template, signal) if template else \
            f"still firing after {minutes}m, not acknowledged: {default_text(signal)}"
        posted = []
        for target in targets:
            message = chat.Message(
                room=target, key=f"{ctx.key}/escalation/{round_}/{target}", text=text, mention=mention,
                emoji=":rotating_light:", context=context_line(signal), url=signal.get("url", ""),
                buttons=alert_buttons(signal) if firing(signal) else (), thread=threads.get(target, ""),
                broadcast=bool(threads.get(target)), signal=signal_id)
            posted.append(chat.send(conn, config, message).describe())
        if round_ <= repeat:
            _schedule(conn, time.time() + after, signal, ctx, room, mention, template, after, repeat,
                      round_ + 1, episode, mute_during)
        return f"escalated to {mention} (round {round_}): " + "; ".join(posted)

    def finish(pipe, state: str, text: str) -> None:
        key = brain.key_action_outcomes(signal_id)
        pipe.hset(key, field, guard.outcome_record("escalate", state, text, job))
        pipe.expire(key, brain.ACTION_OUTCOME_TTL)

    body = {"signal_id": signal_id, "fingerprint": fingerprint, **context, "round": round_, "room": room}
    return guard.guarded(conn, config, job, "action:escalate", body, work, finish)
