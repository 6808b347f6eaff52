"""The dashboard's pages (SPEC §9): what each shows, read through the same functions as the API.

- `/`: firing alerts (who acked, which snoozes), active snoozes, deploys (approve/deny while
  pending), recent builds and test runs, stale items, rooms, the newest audit entries.
  Alerts are filtered by `severity`, `source` and `match` (chat matchers) and grouped by
  `group=alertname|host`, all in the query string, so a filtered view is a link to share.
- `/alerts/<id>`: one alert's story: its signals, the rules' decisions and the room messages in
  time order, its source link, the rule that routed it, its escalation runs (where each stands,
  every page) and its timeline (as `GET /api/alerts/<id>/timeline`), and the forms to act on it.
- `/rooms/<room>`: a built-in room's conversation and its chat box.
- `/rules`: the rules in force and the "test this payload" form.
- `/audit`: the audit trail, filtered and paged like `GET /api/audit`.
No reader lives here: alerts_api, snoozes_api, deploys_api, rules_api, chat_api, the stale
listing, the rooms and the brain are asked, so the dashboard cannot disagree with chat or /api.
"""
from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, render_template, request, url_for
from marshmallow import ValidationError

from router.alerts import lookup
from router.alerts.lines import preview
from router.api.alerts import firing_alerts
from router.api.am_shared import rules_in_force
from router.api.chat import AUDIT_FILTERS, AuditQuery
from router.api.deploys import view as deploy_view
from router.api.oncall import run_view
from router.api.rules import rules_view
from router.api.snoozes import active_snoozes
from router.chat import rooms
from router.commands.declare import UsageError
from router.commands.parse import words
from router.core import brain, matchers
from router.dashboard import clock
from router.deploys import records as reqs
from router.engine.dryrun import V2_SOURCES
from router.oncall import timeline
from router.stale.listing import stale_items
from sources import ADAPTERS

bp = Blueprint("pages", __name__)

PENDING = ("new", "waiting")     # deploy states with Approve/Deny buttons
# Signals that are builds and test runs: (source, kind), as the adapters name them.
BUILDS = (("jenkins", "build"), ("github", "ci"), ("runscope", "test_run"))
SHOWN = {"alerts": 100, "deploys": 20, "builds": 15, "stale": 20, "audit": 15, "messages": 200}
AUDIT_SHOWN_FILTERS = ("who", "event", "command", "outcome", "channel", "room")


def _sparky():
    return current_app.extensions["sparky"]


def builds_and_test_runs(conn, limit: int) -> list[dict]:
    """The newest Jenkins builds, GitHub CI statuses and Runscope test runs, newest first."""
    found = [s for source, kind in BUILDS for s in brain.recent_signals(conn, source, kind, limit)]
    return sorted(found, key=lambda s: s.get("received_at", ""), reverse=True)[:limit]


GROUPS = ("alertname", "host")           # ?group= choices
SEVERITIES = ("critical", "error", "warning", "info")
# Labels a snooze form offers as "everything with this label value" (with its preview).
SNOOZE_BY = ("host", "alertname", "service", "job")


def alert_filters() -> dict:
    """The overview's alert filters as the query string gives them (the URL is the state)."""
    args = request.args
    return {"severity": [s for s in args.getlist("severity") if s], "source": [s for s in args.getlist("source") if s],
            "match": " ".join(args.get("match", "").split())[:500],
            "group": args.get("group", "") if args.get("group", "") in GROUPS else ""}


def rules_data() -> dict | None:
    """The rules in force' data (who inhibits what), or None while none are in force."""
    in_force = rules_in_force()
    return in_force.data if in_force is not None else None


def filtered_alerts(conn, filters: dict, now: float) -> tuple[list[dict], list[dict], str]:
    """(alerts the filters keep, every firing alert, the problem with `match` or "")."""
    problem = ""
    data = rules_data()
    everything = firing_alerts(conn, [], now, data)
    try:
        found = firing_alerts(conn, filters["match"].split(), now, data) if filters["match"] else everything
    except UsageError as exc:
        found, problem = everything, f"Matcher: {exc}"
    if filters["severity"]:
        found = [a for a in found if a["severity"] in filters["severity"]]
    if filters["source"]:
        found = [a for a in found if a["source"] in filters["source"]]
    return found, everything, problem


def grouped(alerts: list[dict], by: str) -> list[tuple[str, list[dict]]]:
    """[(label value, its alerts)] in order of first appearance (most severe first); one group without `by`."""
    if not by:
        return [("", alerts)]
    groups: dict[str, list[dict]] = {}
    for a in alerts:
        groups.setdefault((a.get("labels") or {}).get(by, "") or f"(no {by})", []).append(a)
    return list(groups.items())


def snooze_choices(alert: dict, by_label: dict[tuple[str, str], list[dict]]) -> list[dict]:
    """What a row's Snooze can silence, each with the preview of what it matches now (SPEC §6).

    The choices are label equalities (`host=web-01`), so what they match is looked up in
    `by_label` (label_index), built once per page: not every row against every firing alert."""
    labels = alert.get("labels") or {}
    choices = [{"value": alert["id"], "label": "this alert", "hits": [alert]}]
    for name in SNOOZE_BY:
        if labels.get(name):
            shown = matchers.render([{"name": name, "op": "=", "value": labels[name]}])
            choices.append({"value": shown, "label": shown, "hits": by_label.get((name, labels[name]), [])})
    return [{**c, "preview": preview(c["hits"]), "count": len(c["hits"])} for c in choices]


def label_index(firing: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """(label, value) → the firing alerts with it, for the labels a Snooze offers (SNOOZE_BY, none
    of them a signal field, so `host=web-01` in a snooze matches exactly these)."""
    index: dict[tuple[str, str], list[dict]] = {}
    for a in firing:
        for name in SNOOZE_BY:
            value = (a.get("labels") or {}).get(name)
            if value:
                index.setdefault((name, value), []).append(a)
    return index


def preview_of(target: str) -> str:
    """What snoozing `target` (matchers or an alert reference) would silence right now."""
    conn, now = _sparky().conn, clock.now()
    firing = lookup.firing(conn)
    tokens = words(target)
    try:
        if tokens and all(matchers.looks_like_matcher(w) for w in tokens):
            wanted = [m.as_dict() for m in matchers.parse(tokens)]
        else:
            found = lookup.find(conn, target, firing)
            if len(found) != 1:
                return f"`{target}` names {'no' if not found else 'more than one'} alert: use a matcher or one id."
            wanted = [{"name": "fingerprint", "op": "=", "value": found[0]["fingerprint"]}]
    except matchers.MatcherError as exc:
        return f"`{target}`: {exc}"
    hits = [a for a in firing if lookup.matches(wanted, a, now)]
    return f"`{target}` matches {preview(hits)} right now."


def overview_context() -> dict:
    sparky = _sparky()
    conn, now = sparky.conn, clock.now()
    filters = alert_filters()
    alerts, everything, problem = filtered_alerts(conn, filters, now)
    alerts, by_label = alerts[:SHOWN["alerts"]], label_index(everything)
    deploys = [deploy_view(r, now) for r in reqs.recent(conn, SHOWN["deploys"], now=now)]
    audit, _ = brain.audit_entries(conn, SHOWN["audit"])
    stale = stale_items(conn, "", sparky.config.rules_dir, now)
    rules = rules_view(conn, sparky.config)
    return {
        "alerts": alerts, "groups": grouped(alerts, filters["group"]), "filters": filters,
        "shown_inline": [f"alert:{a['id']}" for a in alerts],
        "filter_problem": problem, "firing_count": len(everything),
        "alert_sources": sorted({a["source"] for a in everything}), "severities": SEVERITIES, "group_choices": GROUPS,
        "choices": {a["id"]: snooze_choices(a, by_label) for a in alerts},
        "snoozes": active_snoozes(conn, now),
        "pending": [d for d in deploys if d["state"] in PENDING],
        "deploys": [d for d in deploys if d["state"] not in PENDING],
        "builds": builds_and_test_runs(conn, SHOWN["builds"]),
        "stale": stale[:SHOWN["stale"]], "stale_count": len(stale),
        "rooms": rooms.list_rooms(conn), "audit": audit,
        "rules_version": rules["version"], "rules_problems": rules.get("problems") or [],
    }


def show_overview(status: int = 200, **extra):
    extra.setdefault("live_url", request.full_path.rstrip("?") if request.method == "GET" else "/")
    return render_template("dashboard/overview.html", **overview_context(), **extra), status


STORY_SIGNALS = 500   # newest signals of the alert's source scanned for its own (no index per fingerprint)


def find_alert(conn, ref: str, firing: list[dict]) -> dict:
    """The one alert `ref` (short id, fingerprint or signal id) names, firing or not; 404 otherwise."""
    found = lookup.find(conn, ref, firing)
    if len(found) != 1:
        abort(404, f"No single alert {ref[:60]!r} is known (it may have resolved and expired).")
    return found[0]


def alert_room(conn, ref: str) -> str:
    """The room an alert was posted in (the first, by name), where acting on it is acting "from":
    permissions.yml `rooms:` are checked against it, as for a click in that room; "" if none."""
    found = lookup.find(conn, ref)
    if len(found) != 1:
        return ""
    posted = sorted(r.decode() if isinstance(r, bytes) else r
                    for r in conn.hkeys(brain.key_alert_threads(found[0]["fingerprint"])))
    return posted[0] if posted else ""


def story(conn, alert: dict) -> list[dict]:
    """The alert's signals, each rule decision and the room messages about it, oldest first."""
    fingerprint = alert["fingerprint"]
    signals = [s for s in brain.recent_signals(conn, alert.get("source", ""), "alert", STORY_SIGNALS)
               if s.get("fingerprint") == fingerprint]
    if alert.get("signal") and alert["signal"] not in {s["id"] for s in signals}:
        signals += [s for s in brain.load_signals(conn, [alert["signal"]])]
    entries = []
    for s in signals:
        entries.append({"at": s.get("received_at", ""), "kind": "signal", "signal": s})
        raw = conn.get(brain.key_decision(s["id"]))
        if raw:
            decision = json.loads(raw)
            entries.append({"at": decision.get("evaluated_at") or s.get("received_at", ""), "kind": "decision",
                            "signal": s, "decision": decision, "order": 1,
                            "matched": [(name, m) for name, out in (decision.get("rulesets") or {}).items()
                                        for m in out.get("matched") or []]})
    ids = {s["id"] for s in signals}
    for r in rooms.list_rooms(conn):
        for m in rooms.messages(conn, r["room"], SHOWN["messages"]):
            if m.get("signal") in ids:
                entries.append({"at": m.get("ts", ""), "kind": "message", "message": m, "order": 2})
    return sorted(entries, key=lambda e: (e["at"], e.get("order", 0)))


def routed_by(entries: list[dict]) -> list[str]:
    """`ruleset/rule` of the rules that sent the alert somewhere (a `notify` action) in its newest
    decision; when none notified, every rule that matched (a drop, an escalation)."""
    for e in reversed(entries):
        if e["kind"] == "decision":
            matched = [(f"{name}/{m['rule']}", m.get("actions") or []) for name, m in e["matched"]]
            notified = [rule for rule, actions in matched if any("notify" in (a or {}) for a in actions)]
            return notified or [rule for rule, _ in matched]
    return []


def alert_context(ref: str) -> dict:
    conn, now = _sparky().conn, clock.now()
    everything = firing_alerts(conn, [], now, rules_data())
    found = find_alert(conn, ref, everything)
    shown = next((a for a in everything if a["fingerprint"] == found["fingerprint"]), None)
    alert = shown or {**found, "acked": bool(found.get("acked_by")), "snoozed": False, "snoozed_by": []}
    entries = story(conn, alert)
    latest = brain.load_signal(conn, alert.get("signal", "")) if alert.get("signal") else None
    return {"alert": alert, "firing": shown is not None, "shown_inline": [f"alert:{alert['id']}"] if shown else [], "entries": entries, "routed_by": routed_by(entries),
            "url": (latest or {}).get("url", ""), "choices": {alert["id"]: snooze_choices(alert, label_index(everything))},
            # the same data as GET /api/alerts/<id>/timeline and /escalation
            "timeline": timeline.timeline(conn, alert["fingerprint"]),
            "escalations": [run_view(r) for r in brain.escalations(conn, alert["fingerprint"])]}


def show_alert(ref: str, status: int = 200, **extra):
    context = alert_context(ref)
    extra.setdefault("live_url", url_for("dashboard.pages.alert", alert_id=context["alert"]["id"]))
    return render_template("dashboard/alert.html", **context, **extra), status


def room_context(room: str) -> dict:
    """The room's messages, each about an alert marked with the alert it is about (its fingerprint
    names the host), so two alerts whose messages read alike can be told apart and opened."""
    conn = _sparky().conn
    messages = rooms.messages(conn, room, SHOWN["messages"])
    ids = sorted({m["signal"] for m in messages if m.get("signal")})
    about = {s["id"]: s for s in brain.load_signals(conn, ids) if s.get("kind") == "alert" and s.get("fingerprint")}
    for m in messages:
        signal = about.get(m.get("signal", ""))
        if signal:
            m["about"] = {"id": brain.alert_id(signal["fingerprint"]), "fingerprint": signal["fingerprint"]}
    return {"room": room, "messages": messages}


def show_room(room: str, status: int = 200, **extra):
    extra.setdefault("live_url", url_for("dashboard.pages.room", room=room))
    return render_template("dashboard/room.html", **room_context(room), **extra), status


def sources() -> list[str]:
    return sorted([*ADAPTERS, *V2_SOURCES])


def show_rules(status: int = 200, **extra):
    sparky = _sparky()
    extra.setdefault("form", {})
    return render_template("dashboard/rules.html", rules=rules_view(sparky.conn, sparky.config), sources=sources(),
                           **extra), status


@bp.get("/")
def overview():
    """Everything at a glance: alerts, snoozes, deploys, builds, stale items, rooms, audit."""
    return show_overview()


@bp.get("/rooms/<path:room>")
def room(room: str):
    """A built-in room: its messages (buttons say their command) and a chat box."""
    return show_room(room)


@bp.get("/alerts/<path:alert_id>")
def alert(alert_id: str):
    """One alert: its story (signals, decisions, messages), its source link and the forms to act on it."""
    return show_alert(alert_id)


@bp.get("/rules")
def rules():
    """The rules in force and the "test this payload" form."""
    return show_rules()


@bp.get("/audit")
def audit():
    """The audit trail, newest first, filtered by exact field values, paged with `before`."""
    try:
        query = AuditQuery().load({k: v for k, v in request.args.items() if v})
    except ValidationError as exc:
        query, error = AuditQuery().load({}), f"Bad filter: {exc.messages}"
    else:
        error = ""
    filters = {name: query[name] for name in AUDIT_FILTERS if query[name]}
    entries, cursor = brain.audit_entries(_sparky().conn, query["limit"], query["before"] or "+", filters)
    return render_template("dashboard/audit.html", entries=entries, cursor=cursor, query=query, error=error,
                           shown_filters=AUDIT_SHOWN_FILTERS, filters_given=filters), 400 if error else 200
