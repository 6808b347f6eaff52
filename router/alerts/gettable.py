"""Sparky's firing alerts as Alertmanager's API v2 shows alerts (`gettableAlert`), its filters and groups.

An alert's state (router/alerts/state.py) becomes:
- `labels`: its labels, as received; `annotations`: `summary` (and `description`, the signal's
  text, when the latest signal is still kept); `generatorURL`: the signal's link;
- `startsAt`: when the episode began; `updatedAt`: when Sparky last heard of it; `endsAt`: when
  it resolves unless re-sent (alerts Prometheus pushes, as in Alertmanager), else
  SPARKY_RESOLVE_TIMEOUT from now: the sources that say themselves when an alert ends (Nagios,
  Alertmanager's webhook) have no end to show, and Alertmanager's clients need a time;
- `fingerprint`: Sparky's (Alertmanager's own for Alertmanager alerts);
- `receivers`: the rooms the routing tree sends it to (router/alerts/routes.py);
- `status`: `suppressed` when a snooze silences it (`silencedBy`: those snoozes as silences) or an
  alert inhibits it (`inhibitedBy`, router/alerts/inhibitors.py), else `active`. An alert is in
  Sparky's state only once the rules have seen it, so none is ever `unprocessed`.

Filters and groups are Alertmanager 0.25's (api/v2/api.go): resolved alerts are never listed;
`active=false` leaves out the active ones, `silenced=false` and `inhibited=false` the silenced
and inhibited ones; `unprocessed` is accepted and means nothing; every `filter` matcher must hold
for the labels; `receiver` is a regex one of the alert's receivers must match whole. Alerts are
sorted by fingerprint; a group is a receiver and the values of its route's `group_by` labels.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from router.alerts.routes import EVERY_ALERT, Route, Tree, receivers, routes_of
from router.core.matchers import Matcher, holds
from router.core.times import from_epoch


@dataclass(frozen=True)
class Filters:
    """What a `GET /api/v2/alerts[/groups]` asks for (every flag defaults to true, as in Alertmanager)."""

    matchers: tuple[Matcher, ...] = ()
    active: bool = True
    silenced: bool = True
    inhibited: bool = True
    receiver: re.Pattern | None = None


def _time(value: str) -> str:
    """A stored ISO time as Alertmanager writes one (already UTC, milliseconds, `Z`)."""
    return value or from_epoch(0)


def view(alert: dict, signal: dict | None, receivers: list[str], silenced_by: list[str],
         inhibited_by: list[str], resolve_timeout: float, now: float) -> dict:
    """One alert state as a `gettableAlert`."""
    signal = signal or {}
    annotations = {"summary": alert.get("summary") or alert.get("subject") or ""}
    if signal.get("text"):
        annotations["description"] = signal["text"]
    expires = alert.get("expires")
    shown = {
        "labels": alert.get("labels") or {},
        "annotations": annotations,
        "startsAt": _time(alert.get("firing_since", "")),
        "endsAt": from_epoch(float(expires)) if expires else from_epoch(now + resolve_timeout),
        "updatedAt": _time(alert.get("last_seen", "")),
        "fingerprint": alert["fingerprint"],
        "receivers": [{"name": name} for name in receivers],
        "status": {"state": "suppressed" if silenced_by or inhibited_by else "active",
                   "silencedBy": silenced_by, "inhibitedBy": inhibited_by},
    }
    if signal.get("url"):
        shown["generatorURL"] = signal["url"]
    return shown


def wanted(shown: dict, filters: Filters) -> bool:
    """Does a shown alert pass the filters (Alertmanager's `alertFilter`)?"""
    status = shown["status"]
    if not filters.active and status["state"] == "active":
        return False
    if not filters.silenced and status["silencedBy"]:
        return False
    if not filters.inhibited and status["inhibitedBy"]:
        return False
    if filters.matchers:
        labels = {"labels." + k: v for k, v in shown["labels"].items()}
        # Every filter names a label (router/core/am_matchers.py), so only labels are read.
        if not holds([_as_label(m) for m in filters.matchers], labels):
            return False
    if filters.receiver is not None:
        return any(filters.receiver.fullmatch(r["name"]) for r in shown["receivers"])
    return True


def _as_label(matcher: Matcher) -> dict:
    name = matcher.name if matcher.name.startswith("labels.") else "labels." + matcher.name
    return {"name": name, "op": matcher.op, "value": matcher.value}


def _shown(firing: list[dict], signals: dict[str, dict], routes: Tree, silenced: dict[str, list[str]],
           inhibited: dict[str, list[str]], filters: Filters, resolve_timeout: float,
           now: float) -> list[tuple[dict, list[Route]]]:
    kept = []
    for alert in sorted(firing, key=lambda a: a["fingerprint"]):
        fp = alert["fingerprint"]
        matched = routes_of(routes, alert, now)
        one = view(alert, signals.get(alert.get("signal", "")), receivers(matched), silenced.get(fp, []),
                   inhibited.get(fp, []), resolve_timeout, now)
        if wanted(one, filters):
            kept.append((one, matched))
    return kept


def alerts(firing: list[dict], signals: dict[str, dict], routes: Tree, silenced: dict[str, list[str]],
           inhibited: dict[str, list[str]], filters: Filters, resolve_timeout: float, now: float) -> list[dict]:
    """The firing alerts the filters keep, as `gettableAlert`s sorted by fingerprint."""
    return [one for one, _ in _shown(firing, signals, routes, silenced, inhibited, filters, resolve_timeout, now)]


def groups(firing: list[dict], signals: dict[str, dict], routes: Tree, silenced: dict[str, list[str]],
           inhibited: dict[str, list[str]], filters: Filters, resolve_timeout: float, now: float) -> list[dict]:
    """The same alerts in Alertmanager's groups: per route they take, per value of its `group_by` labels."""
    found: dict[tuple, dict] = {}
    order = {id(route): i for i, route in enumerate([*routes.routes, routes.root])}
    for one, matched in _shown(firing, signals, routes, silenced, inhibited, filters, resolve_timeout, now):
        for route in matched:
            labels = one["labels"] if EVERY_ALERT in route.group_by else {
                name: one["labels"][name] for name in route.group_by if name in one["labels"]}
            key = (order[id(route)], tuple(sorted(labels.items())))
            group = found.setdefault(key, {"labels": dict(sorted(labels.items())),
                                           "receiver": {"name": route.receiver}, "alerts": []})
            group["alerts"].append(one)
    return [found[key] for key in sorted(found)]
