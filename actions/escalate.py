"""`escalate`: run an escalation chain for a firing alert until it is acknowledged or resolved.

Two forms (router/oncall/escalation.py runs both):
- `escalate: {policy: ops-critical, room: "#ops"}` — a named policy of oncall.yml `escalations:`
  (notify the on-call of a layer, a person, a group or a room; wait; repeat);
- `escalate: {after: 15m, mention: "@oncall-secondary", repeat: 2}` — the one-step form, which is
  the chain of one `[wait: after, notify: mention]`, repeated `repeat` more times.
No thread sleeps: each wait is a job RQ's scheduler runs when it is over. Pages go to `room`, else
to every room the alert was posted in (in its thread, broadcast to the room).
"""
from __future__ import annotations

from redis import Redis

from actions.muting import names_of
from router.chat.compose import firing
from router.core.config import Config
from router.core.outcomes import Permanent
from router.core.templates import render
from router.engine import store
from router.jobs.context import Context
from router.oncall import escalation


def escalate(signal: dict, conn: Redis, config: Config, *, after: object = None, mention: str = "",
             repeat: int = 0, room: str = "", template: str = "", policy: str = "", mute_during: object = (),
             ctx: Context | None = None) -> str:
    """Start the escalation run of a firing alert (once per decision: a retried job finds it running)."""
    ctx = ctx or Context(signal["id"], action="escalate")
    if not firing(signal):
        return f"not escalated: {signal.get('kind')} {signal.get('status')} is not a firing alert"
    if policy:
        data = store.current(conn, config.rules_dir, poll=config.rules_poll).data
        try:
            steps, repeat = escalation.chain_of(data, policy)
        except escalation.NoEscalation as exc:
            raise Permanent(str(exc)) from None
    else:
        steps, _ = escalation.chain_of_one(after, render(mention, signal).strip())
    return escalation.start(conn, config, signal, ctx, steps, repeat, policy_name=policy, room=room,
                            template=template,
                            mute_during=names_of(mute_during))
