"""`group`: alerts with the same `by` values within `wait` become one message (Alertmanager's
group_wait; later messages of a busy group at most every `interval`, its group_interval).

Built from the brain and RQ's scheduler, no sleeping thread. Each alert is counted into its
group's open window by one Lua script, which also records the alert's action as done, so a
retried job never counts an alert twice. The first alert of a window schedules a `flush` job at
max(now + wait, last flush + interval). The flush takes the window's counts into a snapshot (so a
crash mid-post loses nothing and a retry posts the same message once), posts one message, and
deletes the snapshot. A flood of any size becomes one message per window, and the counts of the
messages add up to the number of alerts.

Order per alert: a window remembers which fingerprints it counted as firing, and the flush drops
those whose alert state says resolved by then, so a `[FIRING]` message never follows the resolved
message of the same alert (Alertmanager, too, sends a group's alerts as they are at flush time).
Their number is said in the message's context; a window left with nothing firing posts nothing.
"""
from __future__ import annotations

import time

from redis import Redis
from rq import get_current_job

from actions import repeat as again
from actions.muting import muted
from router.chat import send as chat
from router.chat.compose import default_text, firing
from router.core import brain, durations
from router.core.config import Config
from router.core.templates import lookup, render, text_of
from router.core.times import from_epoch
from router.jobs import guard, policy
from router.jobs.context import Context

GRACE = 60            # a window whose flush is this late is taken for lost and flushed again
SAMPLE_LINES = brain.GROUP_SAMPLE_CAP

# KEYS: counts, sample, state, outcomes of the signal, groups index, firing members
# ARGV: status, line, now, wait, interval, ttl, outcome field, outcome record, grace, sample cap,
#       group id, room, mention, label, firing member ("" unless a firing alert: status NUL fingerprint),
#       the group's message template ("" for the default)
# → {counted now (1/0), flush time, new window (1/0)}
ADD = """
local added = 1
local prev = redis.call('HGET', KEYS[4], ARGV[7])
if prev and cjson.decode(prev)['state'] == 'done' then
  added = 0
else
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
  redis.call('LPUSH', KEYS[2], ARGV[2])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[10]) - 1)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
  if ARGV[15] ~= '' then
    redis.call('HINCRBY', KEYS[6], ARGV[15], 1)
    redis.call('EXPIRE', KEYS[6], tonumber(ARGV[6]))
  end
  redis.call('HSET', KEYS[4], ARGV[7], ARGV[8])
end
local now = tonumber(ARGV[3])
local at = redis.call('HGET', KEYS[3], 'flush_at')
local new = 0
if added == 1 and ((not at) or now > tonumber(at) + tonumber(ARGV[9])) then
  local last = tonumber(redis.call('HGET', KEYS[3], 'last_flush') or '0')
  local when = now + tonumber(ARGV[4])
  if last + tonumber(ARGV[5]) > when then when = last + tonumber(ARGV[5]) end
  at = tostring(when)
  redis.call('HSET', KEYS[3], 'flush_at', at, 'room', ARGV[12], 'mention', ARGV[13], 'label', ARGV[14],
             'message', ARGV[16])
  redis.call('ZADD', KEYS[5], when, ARGV[11])
  new = 1
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6]))
return {added, at or '', new}
"""

# KEYS: counts, sample, state, snapshot counts, snapshot sample, groups index, firing members,
#       snapshot firing members
# ARGV: now, group id, the flush time this job was scheduled for
# → {seq, counts (flat), sample, firing members (flat)} or nil when there is nothing to post
TAKE = """
local seq = redis.call('HGET', KEYS[3], 'snap_seq')
if not seq then
  local at = redis.call('HGET', KEYS[3], 'flush_at')
  if at and at ~= ARGV[3] then return false end
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('HDEL', KEYS[3], 'flush_at')
    redis.call('ZREM', KEYS[6], ARGV[2])
    return false
  end
  seq = tostring(redis.call('HINCRBY', KEYS[3], 'seq', 1))
  redis.call('HSET', KEYS[3], 'snap_seq', seq, 'last_flush', ARGV[1])
  redis.call('HDEL', KEYS[3], 'flush_at')
  redis.call('ZREM', KEYS[6], ARGV[2])
  redis.call('RENAME', KEYS[1], KEYS[4])
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('RENAME', KEYS[2], KEYS[5])
  else
    redis.call('DEL', KEYS[5])
  end
  if redis.call('EXISTS', KEYS[7]) == 1 then
    redis.call('RENAME', KEYS[7], KEYS[8])
  else
    redis.call('DEL', KEYS[8])
  end
end
return {seq, redis.call('HGETALL', KEYS[4]), redis.call('LRANGE', KEYS[5], 0, -1), redis.call('HGETALL', KEYS[8])}
"""


def group_id(ctx: Context, room: str, values: list[str]) -> str:
    return brain.digest("\x00".join([ctx.scope, room, *values]))


def _keys(gid: str) -> dict[str, str]:
    parts = ("counts", "sample", "state", "snap-counts", "snap-sample", "firing", "snap-firing")
    return {part: brain.key_group(gid, part) for part in parts}


def group(signal: dict, conn: Redis, config: Config, *, room: str, by: list[str] | str | None = None,
          wait: object = "30s", interval: object = "5m", mention: str = "", template: str = "",
          mute_during: object = (), repeat: object = None, message: str = "", ctx: Context | None = None) -> str:
    """Count the signal into its group's open window; the window's first signal schedules the flush."""
    ctx = ctx or Context(signal["id"], action="group")
    quiet = muted(conn, config, mute_during, time.time())
    if quiet:
        return f"muted: time interval {quiet} holds (mute_during); not grouped for {room}"
    wait, interval = durations.seconds(wait), durations.seconds(interval)
    by = [by] if isinstance(by, str) else by
    by = list(by or [])
    values = [text_of(lookup(signal, path)) for path in by]
    label = ", ".join(f"{path.rsplit('.', 1)[-1]}={value}" for path, value in zip(by, values)) \
        or f"rule {ctx.rule or ctx.scope}"
    gid = group_id(ctx, room, values)
    keys = _keys(gid)
    line = render(template, signal) if template else default_text(signal)
    ttl = int(max(wait, interval)) + 86400
    outcome = guard.outcome_record("group", "done", f"grouped into [{label}] for {room}", None)
    status = signal.get("status") or "firing"
    member = f"{status}{MEMBER_SEP}{signal['fingerprint']}" if firing(signal) else ""
    added, at, new = brain.script(
        conn, ADD, [keys["counts"], keys["sample"], keys["state"], brain.key_action_outcomes(ctx.signal_id),
                    brain.key_groups(), keys["firing"]],
        [status, _sample_line(signal, line), time.time(), wait, interval, ttl, ctx.scope, outcome,
         GRACE, SAMPLE_LINES, gid, room, render(mention, signal).strip(), label, member, message or ""])
    at = at.decode() if isinstance(at, bytes) else at
    if at and (new or not added):
        # A re-run (not added) schedules again too: the first run may have died before it could.
        schedule_flush(conn, gid, at)
    when = from_epoch(float(at)) if at else "now"
    prefix = "grouped" if added else "already grouped"
    tail = again.start(conn, signal, room, repeat, ctx, mute_during) if added else ""
    return f"{prefix} into [{label}]: one message to {room} at {when}{tail}"


MEMBER_SEP = "\x00"   # status NUL fingerprint, in a window's firing members
SAMPLE_SEP = "\x1f"   # fingerprint US line, in a window's sample


def _sample_line(signal: dict, line: str) -> str:
    return f"{signal.get('fingerprint') or ''}{SAMPLE_SEP}{line[:300]}"


def _split_sample(raw: bytes) -> tuple[str, str]:
    """(fingerprint, line) of a sample entry; a window written before fingerprints were kept has none."""
    text = raw.decode()
    fp, sep, line = text.partition(SAMPLE_SEP)
    return (fp, line) if sep else ("", text)


def _resolved_since(conn: Redis, members: dict[str, int]) -> dict[tuple[str, str], int]:
    """The window's firing members whose alert is resolved now: (status, fingerprint) → count."""
    if not members:
        return {}
    keyed = [(tuple(member.split(MEMBER_SEP, 1)), n) for member, n in members.items() if MEMBER_SEP in member]
    with conn.pipeline(transaction=False) as pipe:
        for (_, fp), _ in keyed:
            pipe.hget(brain.key_alert(fp), "status")
        now = pipe.execute()
    return {member: n for (member, n), status in zip(keyed, now) if status == b"resolved"}


def schedule_flush(conn: Redis, gid: str, at: str) -> None:
    policy.schedule(conn, float(at), flush, gid, at, job_id=f"grp-{gid}-{at.replace('.', '_')}",
                  description=f"group flush {gid} at {at}")


def flush(gid: str, at: str) -> object:
    """RQ job: post the window's message."""
    job = get_current_job()
    return flush_with(job.connection, Config.from_env(), gid, at, job=job)


def flush_with(conn: Redis, config: Config, gid: str, at: str, job=None):
    keys = _keys(gid)

    def done() -> None:
        with conn.pipeline(transaction=False) as pipe:
            pipe.delete(keys["snap-counts"], keys["snap-sample"], keys["snap-firing"])
            pipe.hdel(keys["state"], "snap_seq")
            pipe.execute()

    def work() -> str:
        taken = brain.script(conn, TAKE, [keys["counts"], keys["sample"], keys["state"], keys["snap-counts"],
                                         keys["snap-sample"], brain.key_groups(), keys["firing"],
                                         keys["snap-firing"]], [time.time(), gid, at])
        if not taken:
            return "nothing to post"
        seq, flat, sample, members = taken
        counts = {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}
        gone = _resolved_since(conn, {members[i].decode(): int(members[i + 1]) for i in range(0, len(members), 2)})
        dropped = 0
        for (status, _), n in gone.items():
            counts[status] = counts.get(status, 0) - n
            dropped += n
        counts = {status: n for status, n in counts.items() if n > 0}
        gone_fingerprints = {fp for _, fp in gone}
        state = {k.decode(): v.decode() for k, v in conn.hgetall(keys["state"]).items()}
        total = sum(counts.values())
        if not total:
            done()
            return f"nothing to post: the {dropped} alerts of this window resolved before it was due"
        head = ", ".join(f"{status.upper()}:{n}" for status, n in sorted(counts.items()))
        shown = [line for fp, line in map(_split_sample, sample) if fp not in gone_fingerprints]
        lines = [f"• {line}" for line in shown]
        if total > len(lines):
            lines.append(f"… and {total - len(lines)} more")
        text = "\n".join([f"[{head}] {state.get('label', '')}", *lines])
        if state.get("message"):      # the rule's own message: Jinja over the window (see group_view)
            text = render(state["message"], group_view(state.get("label", ""), counts, total, shown, dropped))
        context = f"{total} alerts grouped" + (f"; {dropped} resolved since, not shown" if dropped else "")
        message = chat.Message(
            room=state.get("room", ""), key=f"group:{gid}:{seq.decode() if isinstance(seq, bytes) else seq}",
            text=text, mention=state.get("mention", ""), emoji=":package:",
            context=context, meta={"count": total, "counts": counts, "resolved_since": dropped})
        sent = chat.send(conn, config, message)
        done()
        return f"{total} alerts in one message: {sent.describe()}"

    def finish(pipe, state: str, text: str) -> None:
        pipe.hset(keys["state"], "last_outcome", guard.outcome_record("group", state, text, job))

    return guard.guarded(conn, config, job, "action:group", {"group": gid, "flush_at": at}, work, finish)


def group_view(label: str, counts: dict[str, int], total: int, shown: list[str], resolved_since: int) -> dict:
    """What a group's `message` template reads: `label` (host=db-1), `counts` ({"firing": 3}),
    `total`, `alerts` (each `{text}`: the alert's line, its `template`), `more` (alerts counted but
    not in the sample), `resolved_since` (left out: resolved before the message)."""
    return {"label": label, "counts": counts, "total": total, "alerts": [{"text": line} for line in shown],
            "more": max(0, total - len(shown)), "resolved_since": resolved_since}


def reschedule_late(conn: Redis, now: float | None = None) -> int:
    """Schedule again the flush of windows that are more than GRACE late (their job was lost)."""
    now = time.time() if now is None else now
    late = conn.zrangebyscore(brain.key_groups(), "-inf", now - GRACE)
    for raw in late:
        gid = raw.decode()
        at = conn.hget(brain.key_group(gid, "state"), "flush_at")
        if at is None:
            conn.zrem(brain.key_groups(), gid)
            continue
        schedule_flush(conn, gid, at.decode())
    return len(late)
