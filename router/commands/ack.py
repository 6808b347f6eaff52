"""`ack <alert> [reason]`: acknowledge an alert until it changes state.

Writes `acked_by`, `acked_at` and `ack_reason` on the alert's state hash (router/alerts/state.py),
which the escalation action and the suppression ruleset (`acked: true`) read; the alert state
machine clears them when the alert resolves or starts a new episode ("until it changes state").
"""
from __future__ import annotations

from router.alerts import lookup
from router.alerts.lines import name_of
from router.commands.context import Context
from router.commands.declare import Reply, UsageError, command
from router.commands.parse import words
from router.core import brain
from router.core.times import from_epoch

MAX_REF_WORDS = 8   # fingerprints may contain spaces (`web-01/Disk Space`): try the longest first

# Set the ack only while the alert is still in the episode the caller saw. KEYS: alert hash.
# ARGV: firing_since seen, who, at, reason. → 1 acked now, 0 already acked (by whom: HGET), -1 changed.
ACK = """
if redis.call('HGET', KEYS[1], 'firing_since') ~= ARGV[1] then return -1 end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'firing' and status ~= 'flapping' then return -1 end
if redis.call('HGET', KEYS[1], 'acked_by') then return 0 end
redis.call('HSET', KEYS[1], 'acked_by', ARGV[2], 'acked_at', ARGV[3], 'ack_reason', ARGV[4])
return 1
"""


def _resolve(ctx: Context, tokens: list[str]) -> tuple[list[dict], str, str]:
    """(alerts named by the longest leading run of words, that reference, the rest as the reason)."""
    firing = lookup.firing(ctx.conn)
    for n in range(min(len(tokens), MAX_REF_WORDS), 0, -1):
        ref = " ".join(tokens[:n])
        found = lookup.find(ctx.conn, ref, firing)
        if found:
            return found, ref, " ".join(tokens[n:])
    return [], tokens[0], " ".join(tokens[1:])


def one_alert(ctx: Context, args: str, verb: str) -> tuple[dict, str]:
    """The one firing alert `args` starts with, once the asker may act on its `env`, and the rest
    (a reason, "because" dropped); UsageError names none, or the several it could be."""
    tokens = words(args)
    if not tokens:
        raise UsageError(f"{verb.capitalize()} which alert? `alerts` lists them with their ids.")
    found, ref, rest = _resolve(ctx, tokens)
    if not found:
        raise UsageError(f"No alert `{ref[:60]}` is known. `alerts` lists the firing ones with their ids.")
    if len(found) > 1:
        ids = ", ".join(f"`{a['id']}` {name_of(a)}" for a in found[:5])
        raise UsageError(f"`{ref}` could be several alerts: {ids}. Use one id.")
    alert = found[0]
    env = (alert.get("labels") or {}).get("env", "")
    ctx.authorize(env=[env] if env else [])
    if rest.lower().startswith("because "):
        rest = rest[len("because "):]
    return alert, rest


@command("ack", public=True)
def ack(ctx: Context, args: str) -> Reply:
    """Acknowledge an alert: escalation and repeats stop until it changes state.

    Usage: ack <alert id or fingerprint> [reason]

    The alert id is the short id `alerts` shows; a fingerprint (web-01/HTTP) or the id of any
    of the alert's signals works too. The ack lasts until the alert resolves or fires anew.

    Examples:
      ack 3f9a2c1 looking into it
      ack web-01/HTTP restarting nginx
    """
    alert, reason = one_alert(ctx, args, "ack")
    if alert.get("status") not in ("firing", "flapping"):
        return Reply(f"{name_of(alert)} is {alert.get('status') or 'not firing'}: there is nothing to ack.")
    done = ctx.conn.eval(ACK, 1, brain.key_alert(alert["fingerprint"]), alert.get("firing_since", ""),
                         ctx.who.name, from_epoch(ctx.now), reason)
    if done == -1:
        return Reply(f"{name_of(alert)} changed state just now; look at `alerts {alert['id']}` and ack again.")
    if done == 0:
        by = (ctx.conn.hget(brain.key_alert(alert["fingerprint"]), "acked_by") or b"?").decode()
        return Reply(f"{name_of(alert)} is already acked by {by}.")
    ctx.audit("alert.acked", what=f"ack {name_of(alert)}", alert=alert["fingerprint"], alert_id=alert["id"],
              reason=reason, outcome="ok", rule=ctx.rule)
    return Reply(f"{ctx.who.name} acked `{alert['id']}` {name_of(alert)}" + (f": {reason}" if reason else "")
                 + ". Escalation and repeats stop until it resolves or fires anew.", public=True)
