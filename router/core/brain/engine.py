"""The rules engine: versions, evaluation claims, and the snoozes it reads."""
from __future__ import annotations

import json
import time

from redis import Redis

from router.core.brain.base import PREFIX
from router.core.brain.shared import key_lock, key_snooze, key_snoozes

# -- rules engine --------------------------------------------------------------------------------
# Written by router/engine: rule versions, evaluation claims, count windows, `repeat` history.
# Read by it: snoozes, alert state (acked_by), firing sets, deploy locks (written elsewhere).

RULES_HISTORY_CAP = 20           # published rule versions kept (older ones are deleted)
EVAL_CLAIM_TTL = 60              # seconds a process may take to evaluate a claimed signal
EVAL_FAILURE_TTL = 7 * 24 * 3600  # failed evaluations of a signal are counted this long (router/pipeline/quarantine.py)
REPEAT_WINDOW = 3600             # `repeat` counts firings of a fingerprint in the last hour


def key_rules_history() -> str:
    """List of published rule versions, newest first (capped at RULES_HISTORY_CAP)."""
    return f"{PREFIX}rules:history"


def key_rules_publish_lock() -> str:
    return key_lock("rules-publish")


def key_eval_claim(signal_id: str) -> str:
    """Held while one process evaluates a signal, so a re-run job does not evaluate it twice."""
    return f"{PREFIX}evaluating:{signal_id}"


def key_eval_failures(signal_id: str) -> str:
    """How many times evaluating this signal alone has failed (router/pipeline/quarantine.py)."""
    return f"{PREFIX}evaluating:{signal_id}:failures"


def count_eval_failure(conn: Redis, signal_id: str) -> int:
    """Count one more failed evaluation of the signal; returns the count so far."""
    pipe = conn.pipeline(transaction=True)
    pipe.incr(key_eval_failures(signal_id))
    pipe.expire(key_eval_failures(signal_id), EVAL_FAILURE_TTL)
    return int(pipe.execute()[0])


def key_snooze_prefix() -> str:
    return key_snooze("")


# A snooze, as stored at key_snooze(id) (JSON) and indexed in key_snoozes() by end time:
#   {"id": "...", "matchers": [{"name": "host", "op": "=", "value": "web-01"}, ...],
#    "ends_at": <epoch seconds>, "created_by": "alice", "reason": "...", "created_at": "<iso>"}
# `name` is a signal field (source, kind, fingerprint, ...) or a label name; `op` is =, !=, =~, !~
# (regexes match the whole value). The rules engine reads the active ones for `snoozed`.

_ACTIVE_SNOOZES = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local out = {}
for i, id in ipairs(ids) do
  local raw = redis.call('GET', ARGV[2] .. id)
  if raw then out[#out + 1] = raw end
end
return out
"""


def put_snooze(conn: Redis, snooze: dict) -> None:
    """Store (or replace) a snooze; it stays active until its `ends_at` (epoch seconds)."""
    ttl = max(1, int(snooze["ends_at"] - time.time()) + 3600)
    pipe = conn.pipeline(transaction=True)
    pipe.set(key_snooze(snooze["id"]), json.dumps(snooze), ex=ttl)
    pipe.zadd(key_snoozes(), {snooze["id"]: snooze["ends_at"]})
    pipe.execute()


def delete_snooze(conn: Redis, snooze_id: str) -> None:
    pipe = conn.pipeline(transaction=True)
    pipe.delete(key_snooze(snooze_id))
    pipe.zrem(key_snoozes(), snooze_id)
    pipe.execute()


def queue_active_snoozes(pipe, now: float) -> None:
    """Queue, on a pipeline, the read of every snooze active at `now` (a list of JSON strings)."""
    pipe.eval(_ACTIVE_SNOOZES, 1, key_snoozes(), now, key_snooze_prefix())


def active_snoozes(conn: Redis, now: float) -> list[dict]:
    pipe = conn.pipeline(transaction=False)
    queue_active_snoozes(pipe, now)
    return [json.loads(raw) for raw in pipe.execute()[0]]


def key_rules_problems() -> str:
    """Why the last reload was refused (JSON), cleared when a version is published."""
    return f"{PREFIX}rules:refused"
