"""Who inhibits an alert: the seam the Alertmanager API reads for `inhibitedBy` and `inhibited=`.

Inhibition (issue 14 §2: `inhibit_rules` in the suppression ruleset, the `inhibited` and
`inhibited_by` facts) is not built yet, so no alert is inhibited and every answer is empty.
When it lands, this is the one function to fill: the fingerprints of the firing alerts that
inhibit each alert given, read from the state the `inhibited_by` fact keeps. Its callers
(router/api/am_alerts.py: `status.inhibitedBy`, `status.state`, the `inhibited` filter) need
no change.
"""
from __future__ import annotations

from redis import Redis


def inhibited_by(conn: Redis, alerts: list[dict], now: float) -> dict[str, list[str]]:
    """For each alert's fingerprint, the fingerprints of the alerts inhibiting it ([] for none)."""
    return {alert["fingerprint"]: [] for alert in alerts}
