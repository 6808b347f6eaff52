"""Actions and rooms: outcomes, delivery markers, in-flight jobs, threads, pacing, groups, facts."""
from __future__ import annotations

from router.core.brain.base import PREFIX, digest

# -- actions and rooms ------------------------------------------------------------------------------

ACTION_OUTCOME_TTL = 7 * 24 * 3600   # outcomes and delivery markers live as long as a signal
ALERT_STATE_TTL = 30 * 24 * 3600     # alert state and threads, refreshed on every signal
GROUP_SAMPLE_CAP = 10                # subjects kept per group window for the message body
FACT_INDEX_CAP = 10_000              # fact names kept in the index


def key_action_outcomes(signal_id: str) -> str:
    """Hash per signal: "<ruleset>/<rule>/<index>" → JSON outcome of that action (also the dedupe mark)."""
    return f"{PREFIX}outcomes:{signal_id}"


def key_delivery(delivery_key: str) -> str:
    """One message's delivery marker: sending (uncertain) or sent, so a retried job never posts twice."""
    return f"{PREFIX}delivery:{digest(delivery_key)}"


def key_actions_inflight() -> str:
    """Sorted set of action job ids not finished yet, scored by enqueue time (crash recovery)."""
    return f"{PREFIX}actions:inflight"


def key_alert_threads(fingerprint: str) -> str:
    """Hash per alert fingerprint: room → id/ts of the firing message (resolved answers in its thread)."""
    return f"{PREFIX}alert-threads:{digest(fingerprint)}"


def key_escalation(fingerprint: str) -> str:
    """Hash per alert fingerprint: episode (firing_since) an escalation was last scheduled for."""
    return f"{PREFIX}escalation:{digest(fingerprint)}"


def key_rate_next(room: str) -> str:
    """When the next message to a Slack channel may go (SPARKY_SLACK_RATE), as epoch seconds."""
    return f"{PREFIX}rate:{room}"


def key_rate_slots(room: str) -> str:
    """Hash per Slack channel: delivery key → the send time reserved for it."""
    return f"{PREFIX}rate-slots:{room}"


def key_group(group_id: str, part: str) -> str:
    """A `group` window: part is `members` (set), `sample` (list), `state` (hash), or `snap-*`."""
    return f"{PREFIX}group:{group_id}:{part}"


def key_groups() -> str:
    """Sorted set of `group` windows waiting for their message, scored by when it is due."""
    return f"{PREFIX}groups"


def key_fact(name: str) -> str:
    return f"{PREFIX}fact:{name}"


def key_facts() -> str:
    """Sorted set of fact names written by the `set` action, scored by write time."""
    return f"{PREFIX}facts"
