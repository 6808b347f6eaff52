"""Snoozes written back to an Alertmanager as silences (issue 14 §5), so people who still look at
its UI see what Sparky has silenced. Off unless ALERTMANAGER_URL is set.

Making a snooze queues `silence(snooze_id)`; ending it early (`unsnooze`, or a replacement through
the Alertmanager API) queues `expire(snooze_id)`. A snooze that runs its course needs nothing:
its silences end at the same time.

Which alerts came from that Alertmanager: Sparky asks it. The `silence` job reads its alerts
(`GET /api/v2/alerts`) and takes each through the adapter that makes Alertmanager's alerts
signals (sources/alertmanager.py), so each has the fingerprint, severity and subject it has in
Sparky, whether it came by `/hooks/alertmanager` (Alertmanager's fingerprint) or Prometheus
pushed it to both. The snooze's matchers are tested on those with Sparky's own test; when none
holds, nothing is written. (Remembering, at receipt, which Alertmanager sent an alert was the
other way: the webhook's `externalURL` is the address people browse, rarely the one Sparky can
reach, and an alert Prometheus pushes to both never comes through the webhook.)

What is written: when every matcher of the snooze names a label Alertmanager can read (and its
regex is RE2's too), one silence with the same matchers; otherwise (`snooze <alert id>` stores
`fingerprint=…`; a matcher may name a signal field such as `source`) one silence per matching
alert, on all its labels, as Alertmanager's UI silences one alert. A silence ends when the
snooze does; `createdBy` is the snooze's author, `comment` `Sparky snooze s12: <reason>`.

Each id Alertmanager answers is kept in the brain per snooze under its matchers, so a retried
job writes no silence twice and `expire` knows what to end; an Alertmanager that no longer knows
one (500 `silence not found`: restarted without its storage) has nothing left to end.

Failures never touch the snooze: a 5xx or a refused connection is retried (router/jobs/policy.py
ACTION: 10, 30, 60 s), a 4xx or the last attempt goes to the dead-letter list, and every outcome
is in the audit trail as `snooze.upstream`.
"""
from __future__ import annotations

import json
import logging
import time

from redis import Redis
from rq import get_current_job

from router.core import am_matchers, brain
from router.core.config import Config
from router.core.http import Client
from router.core.matchers import Matcher, holds
from router.core.outcomes import Retryable
from router.core.signal import flat
from router.core.times import from_epoch
from router.jobs import guard, policy
from sources import alertmanager
from sources.common import Refused

log = logging.getLogger("sparky.snoozes")

SYSTEM = "alertmanager"
GONE = "silence not found"        # what Alertmanager answers (500) for an id it does not know
TIMEOUT = 10.0
KEEP_AFTER_END = 86400            # the ids stay this long after the snooze's end


def follow(conn: Redis, config: Config, snooze: dict) -> None:
    """A snooze was made: write it back, when an Alertmanager is configured."""
    if config.alertmanager_url:
        policy.enqueue(conn, silence, snooze["id"], job_id=f"sparky-snooze-{snooze['id']}-upstream",
                       description=f"snooze {snooze['id']} as a silence in Alertmanager")


def unfollow(conn: Redis, config: Config, snooze: dict) -> None:
    """A snooze was ended early: expire its silences there too."""
    if config.alertmanager_url:
        policy.enqueue(conn, expire, snooze["id"], job_id=f"sparky-snooze-{snooze['id']}-upstream-expire",
                       description=f"expire snooze {snooze['id']}'s silences in Alertmanager")


def _client(config: Config) -> Client:
    headers = {"Authorization": f"Bearer {config.alertmanager_token}"} if config.alertmanager_token else {}
    return Client(SYSTEM, config.alertmanager_url, headers=headers, timeout=TIMEOUT,
                  secrets=(config.alertmanager_token,))


def _active(conn: Redis, snooze_id: str, now: float) -> dict | None:
    snooze = brain.load_snooze(conn, snooze_id)
    if snooze is None or not brain.is_active_snooze(conn, snooze_id) or snooze["ends_at"] <= now:
        return None
    return snooze


def _signal(alert: object, now: float) -> dict | None:
    """An alert Alertmanager lists, as the signal Sparky makes of it; None when it makes none."""
    try:
        signals = alertmanager.parse_v2([alert], {})
    except Refused:
        return None
    return flat(signals[0].to_dict(), now) if signals else None


def wanted_silences(snooze: dict, alerts: list, now: float) -> list[list[dict]]:
    """The silences (their API matchers) that say in Alertmanager what the snooze says in Sparky."""
    stored = [Matcher(m["name"], m["op"], m["value"]) for m in snooze.get("matchers") or []]
    hits = [a for a in alerts if (view := _signal(a, now)) is not None and holds(snooze["matchers"], view)]
    if not hits:
        return []
    if all(m.is_label and am_matchers.go_compatible(m) for m in stored):
        return [[am_matchers.to_api(m) for m in stored]]
    found = {}
    for alert in hits:
        labels = alert.get("labels") or {}
        matchers = [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(labels.items())]
        found[json.dumps(matchers, sort_keys=True)] = matchers
    return list(found.values())


def _audit(conn, snooze_id: str, state: str, text: str) -> None:
    brain.audit(conn, "snooze.upstream", who="sparky", snooze=snooze_id, what=f"snooze {snooze_id}: {text}",
                outcome={"done": "ok"}.get(state, state))


def silence(snooze_id: str) -> object:
    """RQ job: write a snooze back as silences."""
    job = get_current_job()
    return silence_with(job.connection, Config.from_env(), snooze_id, job)


def silence_with(conn: Redis, config: Config, snooze_id: str, job=None) -> object:
    def work() -> str:
        if not config.alertmanager_url:
            return "ALERTMANAGER_URL is unset: nothing to write back"
        now = time.time()
        snooze = _active(conn, snooze_id, now)
        if snooze is None:
            return "ended before it reached Alertmanager"
        with _client(config) as client:
            alerts = client.json("GET", "/api/v2/alerts") or []
            wanted = wanted_silences(snooze, alerts if isinstance(alerts, list) else [], now)
            if not wanted:
                return f"no alert of {config.alertmanager_url} matches; nothing to silence there"
            made = brain.upstream_silences(conn, snooze_id)
            for matchers in wanted:
                key = json.dumps(matchers, sort_keys=True)
                if key in made:
                    continue
                answer = client.json("POST", "/api/v2/silences", json={
                    "matchers": matchers, "startsAt": from_epoch(now), "endsAt": from_epoch(snooze["ends_at"]),
                    "createdBy": snooze.get("created_by") or "sparky",
                    "comment": f"Sparky snooze {snooze_id}: {snooze.get('reason') or snooze.get('text', '')}"})
                made[key] = str((answer or {}).get("silenceID", "")) if isinstance(answer, dict) else ""
                if not made[key]:
                    raise Retryable(f"{SYSTEM}: POST /api/v2/silences: no silenceID in the answer")
                brain.add_upstream_silence(conn, snooze_id, key, made[key],
                                           int(snooze["ends_at"] - now) + KEEP_AFTER_END)
            if _active(conn, snooze_id, time.time()) is None:      # ended while we wrote
                _expire_all(conn, client, snooze_id)
                return f"silenced and expired again (the snooze ended meanwhile): {', '.join(made.values())}"
        return f"silenced in {config.alertmanager_url}: {', '.join(sorted(made.values()))}"

    return guard.guarded(conn, config, job, "alertmanager:silence", {"snooze": snooze_id,
                                                                      "url": config.alertmanager_url},
                         work, lambda pipe, state, text: _audit(pipe, snooze_id, state, text))


def _expire_all(conn: Redis, client: Client, snooze_id: str) -> list[str]:
    ended = []
    for key, silence_id in sorted(brain.upstream_silences(conn, snooze_id).items()):
        response = client.request("DELETE", f"/api/v2/silence/{silence_id}", ok=(500,))
        if response.status_code == 500 and GONE not in response.text:
            raise Retryable(f"{SYSTEM}: DELETE /api/v2/silence/{silence_id}: 500 {response.text[:200]}")
        brain.forget_upstream_silence(conn, snooze_id, key)
        ended.append(silence_id)
    return ended


def expire(snooze_id: str) -> object:
    """RQ job: expire the silences a snooze was written back as."""
    job = get_current_job()
    return expire_with(job.connection, Config.from_env(), snooze_id, job)


def expire_with(conn: Redis, config: Config, snooze_id: str, job=None) -> object:
    def work() -> str:
        if not config.alertmanager_url or not brain.upstream_silences(conn, snooze_id):
            return "no silence in Alertmanager to expire"
        with _client(config) as client:
            ended = _expire_all(conn, client, snooze_id)
        return f"expired in {config.alertmanager_url}: {', '.join(ended)}"

    return guard.guarded(conn, config, job, "alertmanager:expire", {"snooze": snooze_id,
                                                                     "url": config.alertmanager_url},
                         work, lambda pipe, state, text: _audit(pipe, snooze_id, state, text))
