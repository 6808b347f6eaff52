"""Stale-resource nagging (SPEC §8): scheduled inventory scans and what follows from them.

Modules, in the order an item meets them:
    http         outbound HTTP: one session per system, Link-header pagination, failures classified
    github       open pull requests (with their real last activity) and repos, from the REST API
    chef         Chef nodes from the server API (signed requests) or `knife` output in a folder
    artifactory  artifacts not downloaded lately (AQL, or the usage search)
    inventory    `Item` → `inventory` signal; the last inventory of each scan, and `stale_items`
    scans        stale.yml's `scans:`, the scan job (collect → reception.accept), `sparky scan`
    cron         the RQ cron scheduler for the scans (one leader across workers)
    approvals    close/delete/archive requests: pending until a person approves them in chat
    listing      `stale_items(conn, owner)`: what `stale [owner]` shows
    api, cli     `POST /api/scans/<name>`, `GET /api/stale`; `sparky scan`, `sparky stale`
The `nag` action that talks to people is actions/nag.py (delivery, digests: actions/nag_delivery.py);
the chat commands are router/commands/stale.py and router/commands/approve.py. docs/stale.md has it all.
"""
