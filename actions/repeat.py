"""`repeat: 4h` on notify and group: Alertmanager's repeat_interval, per alert.

When `notify` posts a firing alert (or `group` counts one) with `repeat`, a job is scheduled at
now + repeat (router/jobs/policy.py `schedule`, RQ's scheduler runs it; no sleeping thread). The
job re-announces the alert in its thread in that room (in the room when it has no thread there),
and schedules the next round, while the alert keeps firing:
- it stops when the alert resolved, fired again since (the new episode is notified, and repeats,
  on its own) or was acknowledged (an ack holds until the alert changes state, SPEC §6);
- a round is skipped, and the next one scheduled, while the alert is snoozed, inhibited
  (suppression.yml `inhibit_rules`) or a `mute_during` interval holds;
- a later notification of the same alert in the same room (a Nagios re-notification that was
  posted) starts the count again: only the latest chain per alert and room posts, as Alertmanager
  counts repeat_interval from the last notification.
Each round has its own delivery key, so a retried job posts once.

For `group` the repeats are the grouped alerts', one by one (Alertmanager repeats the group's
whole message): the group's message has no thread per alert.
"""
from __future__ import annotations

import dataclasses
import time

from redis import Redis
from rq import get_current_job

from actions.muting import muted, names_of
from router.alerts import inhibitors
from router.alerts import state as alerts
from router.chat import send as chat
from router.chat.compose import default_text, firing, message_for
from router.core import brain, durations
from router.core.config import Config
from router.core.times import from_epoch
from router.engine import RulesUnavailable, store
from router.jobs import guard, policy
from router.jobs.context import Context
from router.snoozes.facts import snoozed_by


def start(conn: Redis, signal: dict, room: str, every: object, ctx: Context, mute_during: object = ()) -> str:
    """Schedule the first repeat of a firing alert just posted to `room`; the outcome's tail."""
    if not every or not firing(signal) or not signal.get("fingerprint"):
        return ""
    seconds = int(durations.seconds(every))
    episode = alerts.state(conn, signal["fingerprint"]).get("firing_since", "")
    conn.set(brain.key_repeat_chain(signal["fingerprint"], room), ctx.key, ex=brain.REPEAT_CHAIN_TTL)
    _schedule(conn, time.time() + seconds, signal["id"], signal["fingerprint"], ctx, room, seconds, 1, episode,
              names_of(mute_during))
    return f"; again every {durations.humanize(seconds)} while it fires"


def _schedule(conn: Redis, at: float, signal_id: str, fingerprint: str, ctx: Context, room: str, every: int,
              round_: int, episode: str, mute_during: list) -> None:
    policy.schedule(conn, at, again, signal_id, fingerprint, ctx.identity(), room, every, round_, episode,
                    mute_during, job_id=f"rep-{brain.digest(ctx.key + room)}-{round_}",
                    description=f"repeat {fingerprint} in {room}, round {round_} ({ctx.scope})")


def again(signal_id: str, fingerprint: str, context: dict, room: str, every: int, round_: int, episode: str,
          mute_during: list) -> object:
    """RQ job: re-announce the alert unless it stopped firing, changed or was acked."""
    job = get_current_job()
    return again_with(job.connection, Config.from_env(), signal_id, fingerprint, context, room, every, round_,
                      episode, mute_during, time.time(), job=job)


def _quiet(conn: Redis, config: Config, signal: dict, alert: dict, mute_during: list, now: float) -> str:
    """Why this round posts nothing while the alert fires ("" when it posts)."""
    snooze = snoozed_by(conn, signal, now)
    if snooze:
        return f"snoozed by {snooze['id']}"
    try:
        data = store.current(conn, config.rules_dir, config.rules_poll).data
    except RulesUnavailable:
        data = {}
    by = inhibitors.inhibited_by(conn, [alert], now, data).get(alert["fingerprint"])
    if by:
        return f"inhibited by {', '.join(by)}"
    interval = muted(conn, config, mute_during, now)
    return f"muted: time interval {interval} holds" if interval else ""


def again_with(conn: Redis, config: Config, signal_id: str, fingerprint: str, context: dict, room: str,
               every: int, round_: int, episode: str, mute_during: list, now: float, job=None):
    ctx = Context(**context)

    def work() -> str:
        chain = conn.get(brain.key_repeat_chain(fingerprint, room))
        if chain is not None and chain.decode() != ctx.key:
            return "stopped: a later notification of the alert repeats instead"
        alert = alerts.state(conn, fingerprint)
        if not alerts.is_firing(alert):
            return f"stopped: {alert.get('status') or 'no longer known'}"
        if episode and alert.get("firing_since") != episode:
            return "stopped: fired again since; that episode repeats on its own"
        if alert.get("acked_by"):
            return f"stopped: acknowledged by {alert['acked_by']}"
        signal = brain.load_signal(conn, signal_id) or {
            "id": signal_id, "fingerprint": fingerprint, "kind": "alert", "status": "firing",
            "subject": alert.get("subject", ""), "summary": alert.get("summary", "")}
        signal = {**signal, "status": alert.get("status") or "firing"}
        alert.setdefault("fingerprint", fingerprint)
        _schedule(conn, now + every, signal_id, fingerprint, ctx, room, every, round_ + 1, episode, mute_during)
        quiet = _quiet(conn, config, signal, alert, mute_during, now)
        if quiet:
            return f"round {round_} not posted: {quiet}; next at {from_epoch(now + every)}"
        thread = chat.thread_of(conn, fingerprint, room)
        since = alert.get("firing_since", "")
        text = f"still firing (repeated every {durations.humanize(every)}" + \
            (f", since {since}" if since else "") + f"): {default_text(signal)}"
        message = message_for(signal, room, f"{ctx.key}/repeat/{round_}/{room}", text)
        message = dataclasses.replace(message, thread=thread, anchor="" if thread else message.anchor)
        return f"repeated (round {round_}): {chat.send(conn, config, message).describe()}"

    def finish(pipe, state: str, text: str) -> None:
        key = brain.key_action_outcomes(signal_id)
        pipe.hset(key, f"{ctx.scope}/repeat/{round_}", guard.outcome_record(ctx.action, state, text, job))
        pipe.expire(key, brain.ACTION_OUTCOME_TTL)

    body = {"signal_id": signal_id, "fingerprint": fingerprint, **context, "round": round_, "room": room}
    return guard.guarded(conn, config, job, f"action:{ctx.action}:repeat", body, work, finish)
