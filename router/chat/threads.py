"""An alert's threads: the firing message of each alert per room, so its resolution answers there.

Kept per fingerprint as a hash room → message id (Slack `ts`, built-in message id, XMPP stanza-id),
under the room's name as the rule wrote it. Escalations go to every room the alert was posted to.
"""
from __future__ import annotations

from redis import Redis

from router.core import brain


def remember_thread(pipe, fingerprint: str, room: str, ts: str) -> None:
    """Queue on `pipe`: the message `ts` is the firing message of this alert in `room`."""
    key = brain.key_alert_threads(fingerprint)
    pipe.hset(key, room, ts)
    pipe.expire(key, brain.ALERT_STATE_TTL)


def thread_of(conn: Redis, fingerprint: str, room: str) -> str:
    """The firing message of this alert in `room` ("" if none was posted there)."""
    value = conn.hget(brain.key_alert_threads(fingerprint), room)
    return value.decode() if value else ""


def threads_of(conn: Redis, fingerprint: str) -> dict[str, str]:
    """Every room the alert was posted to, with its firing message there."""
    return {k.decode(): v.decode() for k, v in conn.hgetall(brain.key_alert_threads(fingerprint)).items()}
