"""A snooze's life after it is made: a reminder before a long one ends, and its end.

Both are RQ jobs scheduled at their time (router/jobs/policy.py `enqueue(at=...)`, run by the scheduler of
`worker.py`), not sleeping threads. At the end:
1. the snooze is retired once (history entry for `why`, `snooze.ended` in the audit stream);
2. every alert it matches that is still firing — and is neither acked nor covered by another
   active snooze — is posted again: in the thread of its firing message, in every room it was
   posted to (broadcast to the room), or in the snooze's room when it was never posted;
3. the snooze's room is told it ended, and what still fires.
Each message has its own delivery key, so a re-run job posts nothing twice.

Choices where SPEC is silent: a snooze of 1 h or more is "long" and gets a reminder 15 minutes
before it ends (1 hour before, for snoozes of a day or more); acked alerts are listed in the end
notice but not posted again (the suppression ruleset keeps their repeats quiet too).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time

from redis import Redis
from rq import get_current_job

from router.alerts import lookup
from router.alerts.lines import name_of, preview
from router.chat import send as chat
from router.chat.compose import default_text, message_for
from router.core import brain
from router.core.config import Config
from router.core.durations import humanize, local_time
from router.core.outcomes import Later
from router.core.times import from_epoch, zone
from router.jobs import policy

log = logging.getLogger("sparky.commands")

LONG_SNOOZE = 3600
REMIND_BEFORE = 15 * 60
REMIND_BEFORE_LONG = 3600        # for snoozes of a day or more


def reminder_time(snooze: dict) -> float | None:
    length = snooze["ends_at"] - snooze["starts_at"]
    if length < LONG_SNOOZE:
        return None
    return snooze["ends_at"] - (REMIND_BEFORE_LONG if length >= 86400 else REMIND_BEFORE)


def _at(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def _end_job_id(snooze: dict, suffix: str = "") -> str:
    return f"sparky-snooze-{snooze['id']}-end-{int(snooze['ends_at'])}{suffix}"


def schedule(conn: Redis, snooze: dict) -> None:
    """The end job at `ends_at`, and the reminder when the snooze is long."""
    if snooze.get("remind_at"):
        policy.enqueue(conn, remind, snooze["id"], at=snooze["remind_at"], job_id=f"sparky-snooze-{snooze['id']}-remind",
                       description=f"reminder before snooze {snooze['id']} ends")
    policy.enqueue(conn, end, snooze["id"], at=snooze["ends_at"], job_id=_end_job_id(snooze),
                   description=f"end of snooze {snooze['id']}")


def end_now(conn: Redis, snooze: dict, by: str, note: str, now: float) -> None:
    """`unsnooze`: inactive at once for the rules engine, the rest of the end on a worker."""
    snooze = {**snooze, "ended_at": from_epoch(now), "ended_by": by, "end_note": note}
    pipe = conn.pipeline(transaction=True)
    pipe.zrem(brain.key_snoozes(), snooze["id"])
    pipe.set(brain.key_snooze(snooze["id"]), json.dumps(snooze), keepttl=True)
    pipe.execute()
    policy.enqueue(conn, end, snooze["id"], job_id=_end_job_id(snooze, "-now"), description=f"unsnooze {snooze['id']}")


def _deferred(work):
    """Run a job body; a chat pacing wait (router.core.outcomes.Later) becomes an RQ retry at that time."""
    try:
        return work()
    except Later as later:
        job = get_current_job()
        if job is None:
            raise
        return policy.waited(later, job)


def remind(snooze_id: str) -> object:
    """RQ job: tell the snooze's room it ends soon."""
    conn = get_current_job().connection
    return _deferred(lambda: remind_with(conn, Config.from_env(), snooze_id, time.time()))


def remind_with(conn: Redis, config: Config, snooze_id: str, now: float) -> str:
    snooze = brain.load_snooze(conn, snooze_id)
    if snooze is None or not brain.is_active_snooze(conn, snooze_id) or snooze["ends_at"] <= now:
        return f"snooze {snooze_id} is over; no reminder"
    tz = zone(snooze.get("tz", "")) or zone("UTC")
    hits = [a for a in lookup.firing(conn) if lookup.matches(snooze["matchers"], a, now)]

    text = (f"Reminder: snooze `{snooze_id}` (`{snooze.get('text', '')}`, by {snooze.get('created_by', '?')}"
            + (f", because {snooze['reason']}" if snooze.get("reason") else "")
            + f") ends at {local_time(snooze['ends_at'], tz, now)}, in {humanize(snooze['ends_at'] - now)}. "
            + f"It matches {preview(hits)}; what still fires then is posted again. "
            + f"To keep them quiet longer, snooze again; to end it now, `unsnooze {snooze_id}`.")
    return chat.notice(conn, config, snooze.get("room", ""), snooze.get("transport", "chat"),
                                f"snooze/{snooze_id}/reminder", text)


def end(snooze_id: str) -> object:
    """RQ job: retire a snooze whose time is up (or that was unsnoozed) and re-post what still fires."""
    conn = get_current_job().connection
    return _deferred(lambda: end_with(conn, Config.from_env(), snooze_id, time.time()))


def end_with(conn: Redis, config: Config, snooze_id: str, now: float) -> str:
    snooze = brain.load_snooze(conn, snooze_id)
    if snooze is not None:
        if brain.is_active_snooze(conn, snooze_id) and snooze["ends_at"] > now + 1:
            return f"snooze {snooze_id} ends at {from_epoch(snooze['ends_at'])}, not now"
        snooze.setdefault("ended_at", from_epoch(snooze["ends_at"]))
        if brain.retire_snooze(conn, snooze):
            brain.audit(conn, "snooze.ended", who=snooze.get("ended_by") or "sparky", snooze=snooze_id,
                        what=f"snooze {snooze_id} ended: {snooze.get('text', '')}",
                        room=snooze.get("where", ""), reason=snooze.get("end_note") or
                        ("unsnoozed" if snooze.get("ended_by") else "expired"), outcome="ok")
    else:
        snooze = brain.ended_snooze(conn, snooze_id)
        if snooze is None:
            return f"no snooze {snooze_id}"
    return _repost(conn, config, snooze, now)


def _repost(conn: Redis, config: Config, snooze: dict, now: float) -> str:
    others = [s for s in brain.active_snoozes(conn, now) if s["id"] != snooze["id"]]
    hits = [a for a in lookup.firing(conn) if lookup.matches(snooze["matchers"], a, now)]
    posted, acked, still_snoozed = [], [], []
    for alert in hits:
        if any(lookup.matches(s["matchers"], alert, now) for s in others):
            still_snoozed.append(alert)
        elif alert.get("acked_by"):
            acked.append(alert)
        else:
            _post_alert(conn, config, snooze, alert)
            posted.append(alert)
    how = f"ended early by {snooze['ended_by']}" if snooze.get("ended_by") else "ended"
    text = f"Snooze `{snooze['id']}` (`{snooze.get('text', '')}`, by {snooze.get('created_by', '?')}) {how}."
    if posted:
        text += f" Still firing, posted again: {', '.join(name_of(a) for a in posted[:10])}."
    if acked:
        text += " Still firing but acked: " + ", ".join(f"{name_of(a)} (by {a['acked_by']})" for a in acked[:10]) + "."
    if still_snoozed:
        text += f" Still snoozed by another snooze: {', '.join(name_of(a) for a in still_snoozed[:10])}."
    if not hits:
        text += " Nothing it matched is firing."
    chat.notice(conn, config, snooze.get("room", ""), snooze.get("transport", "chat"),
                         f"snooze/{snooze['id']}/ended", text)
    return f"snooze {snooze['id']} ended: {len(posted)} re-posted, {len(acked)} acked, {len(still_snoozed)} still snoozed"


def _post_alert(conn: Redis, config: Config, snooze: dict, alert: dict) -> None:
    signal = brain.load_signal(conn, alert.get("signal", "")) or lookup.as_signal(alert)
    signal = {**signal, "fingerprint": alert["fingerprint"], "status": alert.get("status") or "firing"}
    threads = chat.threads_of(conn, alert["fingerprint"])
    targets = threads or ({snooze["room"]: ""} if snooze.get("room") else {})
    text = f"still firing after snooze {snooze['id']} ended: {default_text(signal)}"
    for room, thread in sorted(targets.items()):
        message = message_for(signal, room, f"snooze/{snooze['id']}/ended/{alert['fingerprint']}/{room}", text)
        message = dataclasses.replace(message, thread=thread, broadcast=bool(thread),
                                      anchor="" if thread else message.anchor)
        chat.send(conn, config, message)
