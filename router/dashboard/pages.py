"""The dashboard's pages (SPEC §9): what each shows, read through the same functions as the API.

- `/`: firing alerts (who acked, which snoozes), active snoozes, deploys (approve/deny while
  pending), recent builds and test runs, stale items, rooms, the newest audit entries.
- `/rooms/<room>`: a built-in room's conversation and its chat box.
- `/rules`: the rules in force and the "test this payload" form.
- `/audit`: the audit trail, filtered and paged like `GET /api/audit`.
No reader lives here: alerts_api, snoozes_api, deploys_api, rules_api, chat_api, the stale
listing, the rooms and the brain are asked, so the dashboard cannot disagree with chat or /api.
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, render_template, request
from marshmallow import ValidationError

from router.api.alerts import firing_alerts
from router.api.am_shared import rules_in_force
from router.api.chat import AUDIT_FILTERS, AuditQuery
from router.api.deploys import view as deploy_view
from router.api.rules import rules_view
from router.api.snoozes import active_snoozes
from router.chat import rooms
from router.core import brain
from router.deploys import records as reqs
from router.engine.dryrun import V2_SOURCES
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


def overview_context() -> dict:
    sparky = _sparky()
    conn, now = sparky.conn, time.time()
    deploys = [deploy_view(r, now) for r in reqs.recent(conn, SHOWN["deploys"], now=now)]
    audit, _ = brain.audit_entries(conn, SHOWN["audit"])
    stale = stale_items(conn, "", sparky.config.rules_dir, now)
    rules = rules_view(conn, sparky.config)
    in_force = rules_in_force()
    return {
        "alerts": firing_alerts(conn, [], now, in_force.data if in_force is not None else None)[:SHOWN["alerts"]],
        "snoozes": active_snoozes(conn, now),
        "pending": [d for d in deploys if d["state"] in PENDING],
        "deploys": [d for d in deploys if d["state"] not in PENDING],
        "builds": builds_and_test_runs(conn, SHOWN["builds"]),
        "stale": stale[:SHOWN["stale"]], "stale_count": len(stale),
        "rooms": rooms.list_rooms(conn), "audit": audit,
        "rules_version": rules["version"], "rules_problems": rules.get("problems") or [],
    }


def show_overview(status: int = 200, **extra):
    return render_template("dashboard/overview.html", **overview_context(), **extra), status


def room_context(room: str) -> dict:
    return {"room": room, "messages": rooms.messages(_sparky().conn, room, SHOWN["messages"])}


def show_room(room: str, status: int = 200, **extra):
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
