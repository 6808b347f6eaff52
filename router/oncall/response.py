"""Response times: how long alerts waited for an ack (MTTA) and to be resolved (MTTR), per route.

Measured per alert episode when it resolves (a `resolved` signal, from its source, by expiry, or
`resolve` in chat), before the alert state records the resolution: the episode's `firing_since`,
its `acked_at` (if it was acked), the resolution's time. The *route* is the first rule that
matched the episode's signals — in the `routing` ruleset when one matched there, else in any
other (not `suppression`) — written `ruleset/rule`. Each sample goes to
- `/metrics`: summaries `sparky_alert_time_to_acknowledge_seconds{route}` and
  `sparky_alert_time_to_resolve_seconds{route}` (rate(_sum)/rate(_count) over a range is the mean);
- a sorted set by resolution time, for `GET /api/reports/response?since=&until=`.
An episode resolved without an ack gives an MTTR sample only. Counted once per episode.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from redis import Redis

from router.core import brain, metrics
from router.core.times import epoch_of, from_epoch

ROUTING = "routing"
LOOKBACK = 20          # signals of the episode looked at for its route, newest first


def record(conn: Redis, signals: list[dict]) -> int:
    """Take a sample for each alert episode these signals resolve; returns how many."""
    taken = 0
    for signal in signals:
        if signal.get("kind") != "alert" or signal.get("status") != "resolved" or not signal.get("fingerprint"):
            continue
        state = brain.load_alert(conn, signal["fingerprint"])
        started = epoch_of(state.get("firing_since"))
        if state.get("status") not in brain.FIRING_STATES or started is None:
            continue
        if not conn.set(brain.key_response_counted(signal["fingerprint"], state["firing_since"]), "1",
                        nx=True, ex=30 * 86400):
            continue
        ended = epoch_of(signal.get("occurred_at")) or epoch_of(signal.get("received_at")) or started
        acked = epoch_of(state.get("acked_at"))
        sample = {"route": route_of(conn, signal["fingerprint"], state), "fingerprint": signal["fingerprint"],
                  "firing_since": state["firing_since"], "acked_at": state.get("acked_at") or None,
                  "resolved_at": from_epoch(ended), "ttr": max(0.0, ended - started),
                  "tta": max(0.0, acked - started) if acked is not None else None}
        pipe = conn.pipeline(transaction=False)
        pipe.zadd(brain.key_response_samples(), {json.dumps(sample, sort_keys=True): ended})
        pipe.zremrangebyscore(brain.key_response_samples(), "-inf", ended - brain.RESPONSE_KEEP)
        pipe.zremrangebyrank(brain.key_response_samples(), 0, -brain.RESPONSE_CAP - 1)
        metrics.observe(pipe, "sparky_alert_time_to_resolve_seconds", sample["ttr"], route=sample["route"])
        if sample["tta"] is not None:
            metrics.observe(pipe, "sparky_alert_time_to_acknowledge_seconds", sample["tta"], route=sample["route"])
        pipe.execute()
        taken += 1
    return taken


def route_of(conn: Redis, fingerprint: str, state: dict) -> str:
    """`ruleset/rule` that routed the episode: its signals' decisions, newest first."""
    ids = [e["signal"] for e in brain.timeline(conn, fingerprint) if e.get("event") == "signal"]
    ids = list(dict.fromkeys(reversed(ids + ([state["signal"]] if state.get("signal") else []))))[:LOOKBACK]
    fallback = ""
    for signal_id in ids:
        raw = conn.get(brain.key_decision(signal_id))
        if not raw:
            continue
        rulesets = json.loads(raw).get("rulesets") or {}
        routing = (rulesets.get(ROUTING) or {}).get("matched") or []
        if routing:
            return f"{ROUTING}/{routing[0]['rule']}"
        for name, outcome in rulesets.items():
            if name != "suppression" and outcome.get("matched") and not fallback:
                fallback = f"{name}/{outcome['matched'][0]['rule']}"
    return fallback or "unrouted"


@dataclass
class Route:
    route: str
    alerts: int = 0
    acked: int = 0
    tta_sum: float = 0.0
    ttr_sum: float = 0.0

    def as_dict(self) -> dict:
        return {"route": self.route, "alerts": self.alerts, "acked": self.acked,
                "mtta_seconds": round(self.tta_sum / self.acked, 3) if self.acked else None,
                "mttr_seconds": round(self.ttr_sum / self.alerts, 3) if self.alerts else None}


def report(conn: Redis, since: float, until: float) -> list[dict]:
    """MTTA and MTTR per route of the episodes resolved in [since, until], most alerts first."""
    routes: dict[str, Route] = {}
    for raw in conn.zrangebyscore(brain.key_response_samples(), since, until):
        sample = json.loads(raw)
        route = routes.setdefault(sample["route"], Route(sample["route"]))
        route.alerts += 1
        route.ttr_sum += sample["ttr"]
        if sample.get("tta") is not None:
            route.acked += 1
            route.tta_sum += sample["tta"]
    return [r.as_dict() for r in sorted(routes.values(), key=lambda r: (-r.alerts, r.route))]
