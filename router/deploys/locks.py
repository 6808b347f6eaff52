"""Locks: a person's `lock <env> [reason]`, and one running deploy per app and environment.

- `lock production db migration` holds every app's production until `unlock production`
  (heaven's deploy:lock, branch-deploy's `.lock --reason`): the deploy rules see it as
  `labels.locked`, and a deploy that would start anyway is refused at the last moment.
- A deploy that starts takes `key_deploy_lock(app, env)` with SET-if-absent semantics (a Lua
  script, so the lock and the engine's `deploying` hash move together): of two deploys racing for
  one environment exactly one gets it; the other is refused, naming the holder. The lock expires
  on its own a little after the deploy's timeout, should every other release path fail.
"""
from __future__ import annotations

import json
import time

from redis import Redis

from router.core import brain
from router.core.brain import script
from router.core.times import from_epoch

# KEYS: lock, deploying hash. ARGV: request id, ttl, env. → "" when taken (or already ours), else the holder.
ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2])) end
return ''
"""

# KEYS: lock, deploying hash. ARGV: request id, env. → 1 when the lock was ours and is released.
RELEASE = """
local mine = redis.call('GET', KEYS[1]) == ARGV[1]
if mine then redis.call('DEL', KEYS[1]) end
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[2]) end
return mine and 1 or 0
"""

MARGIN = 600   # the lock outlives the deploy's timeout by this much


def acquire(conn: Redis, app: str, env: str, request_id: str, timeout: float) -> str:
    """Take the app/env lock for a request: "" on success, else the id of the deploy holding it."""
    holder = script(conn, ACQUIRE, [brain.key_deploy_lock(app, env), brain.key_deploying(app)],
                    [request_id, int(timeout + MARGIN), env])
    return holder.decode() if isinstance(holder, bytes) else holder


def release(conn: Redis, app: str, env: str, request_id: str) -> bool:
    return bool(script(conn, RELEASE, [brain.key_deploy_lock(app, env), brain.key_deploying(app)], [request_id, env]))


def holder(conn: Redis, app: str, env: str) -> str:
    value = conn.get(brain.key_deploy_lock(app, env))
    return value.decode() if value else ""


def lock_env(conn: Redis, env: str, by: str, reason: str, now: float | None = None) -> dict | None:
    """Lock `env` for every app. Returns None when done, else the lock someone else holds."""
    now = time.time() if now is None else now
    record = {"env": env, "by": by, "reason": reason, "at": now, "at_iso": from_epoch(now)}
    if conn.set(brain.key_env_lock(env), json.dumps(record), nx=True):
        conn.sadd(brain.key_env_locks(), env)
        return None
    current = env_lock(conn, env)
    if current and current["by"] == by:   # the same person again: the reason is updated
        conn.set(brain.key_env_lock(env), json.dumps({**record, "at": current["at"], "at_iso": current["at_iso"]}))
        return None
    return current


def unlock_env(conn: Redis, env: str) -> dict | None:
    """Remove the lock on `env`; returns it (None when there was none)."""
    current = env_lock(conn, env)
    with conn.pipeline(transaction=True) as pipe:
        pipe.delete(brain.key_env_lock(env))
        pipe.srem(brain.key_env_locks(), env)
        pipe.execute()
    return current


def env_lock(conn: Redis, env: str) -> dict | None:
    raw = conn.get(brain.key_env_lock(env))
    return json.loads(raw) if raw else None


def env_locks(conn: Redis) -> list[dict]:
    envs = sorted(e.decode() for e in conn.smembers(brain.key_env_locks()))
    found = [env_lock(conn, env) for env in envs]
    return [lock for lock in found if lock]


def describe(lock: dict) -> str:
    """`alice: db migration` (or just `alice`)."""
    return f"{lock['by']}: {lock['reason']}" if lock.get("reason") else lock["by"]
