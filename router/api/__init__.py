"""The JSON API (SPEC §9), one module per resource, each a blueprint; `init_app` registers them all.

    gate       SPARKY_ADMIN_TOKEN on /api        health     /healthz, /readyz, /metrics
    signals    signals, decisions, dead letters  alerts     what is firing
    snoozes    Sparky's silences                 deploys    deploy requests
    rules      rules in force, test, reload      rooms      built-in rooms
    chat       say in a room, the audit trail    stale      scans and stale items
    oncall     schedules, their .ics feeds
    acting     what the writes share: a named person acts, as in chat
    am_alerts, am_silences, am_status   Alertmanager's API v2 (amtool, Grafana, karma) and its
               /-/ probes, over the same alerts and snoozes; am_shared: what they share
    openapi    /openapi.json, generated from the routes and their schemas
    errors     the JSON error shape every blueprint answers with
    hardening  security headers on every answer; /api writes: size bound, Unicode policy
"""
from __future__ import annotations

from flask import Flask

from router.api import (
    alerts,
    am_alerts,
    am_silences,
    am_status,
    chat,
    deploys,
    gate,
    hardening,
    health,
    oncall,
    openapi,
    rooms,
    rules,
    signals,
    snoozes,
    stale,
)


def init_app(app: Flask) -> None:
    app.before_request(gate.require_admin_token)
    app.before_request(hardening.check_write)
    app.after_request(hardening.security_headers)
    for resource in (signals, health, openapi, rooms, rules, chat, stale, alerts, snoozes, deploys, am_alerts,
                     am_silences, am_status, oncall):
        app.register_blueprint(resource.bp)
