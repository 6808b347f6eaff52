"""Per-person notification rules (people.yml `notify:`): how a person wants to be reached when an
escalation step pages them, on top of the room page.

    people:
      alice:
        slack: U01ALICE
        notify:
          - dm: true                                   # at once: a direct message
          - after: 5m
            webhook: https://pager.example/hooks/alice # 5 minutes later, unless acked or resolved

Each rule is `dm: true` or `webhook: <url>`, with an optional `after` (a duration; default 0).
When a notify step pages a person (`{oncall: …}` or `{person: …}`; not a group or a room), each of
their rules is scheduled at the page's time + `after` as its own job (router/jobs/policy.py
`schedule`, job id per run, round, step and rule, so it is scheduled once); the job first asks the
escalation whether it stopped (ack, resolve, a new episode) and then does nothing. A DM goes to
the person's Slack id (`slack:U…`, the app's DM) when Slack is configured, else their XMPP JID,
else the built-in room `@<name>`; its delivery key makes it one message however often the job
runs. A webhook is a JSON POST through router/core/http.py (retried like every action: 5xx and
timeouts back off, 4xx is a dead letter) with an `Idempotency-Key`. Each delivery is an
`escalation.notified` event on the alert's timeline.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from redis import Redis

from router.chat import send as chat
from router.chat.compose import default_text
from router.core import brain, durations
from router.core.config import Config
from router.core.http import Client
from router.core.times import from_epoch

JOB_PREFIX = "pn"


def rules_of(data: dict, person: str) -> list[dict]:
    """The person's `notify:` rules with `after` in seconds, in the file's order."""
    entry = (data.get("people") or {}).get(person) or {}
    return [{**rule, "after": int(durations.seconds(rule.get("after") or 0))} for rule in entry.get("notify") or []]


def dm_room(config: Config, data: dict, person: str) -> str:
    entry = (data.get("people") or {}).get(person) or {}
    if entry.get("slack") and config.slack_bot_token:
        return f"slack:{entry['slack']}"
    if entry.get("xmpp"):
        return f"xmpp:{entry['xmpp']}"
    return f"builtin:@{person}"


def host_of(url: str) -> str:
    """A webhook URL as shown: its host only (paths and queries often carry tokens)."""
    return urlsplit(url).hostname or "?"


def deliver(conn: Redis, config: Config, data: dict, run: dict, person: str, rule: dict, key: str,
            signal: dict, now: float) -> str:
    """Do one rule now: a DM or a webhook POST. Raises the outcomes of router/core/outcomes.py."""
    alert_id = brain.alert_id(run["fingerprint"])
    if rule.get("dm"):
        room = dm_room(config, data, person)
        sent = chat.send(conn, config, chat.Message(
            room=room, key=f"{key}/dm", signal=run["signal_id"],
            text=f"you are paged: {default_text(signal)} (`ack {alert_id}` to stop the escalation)"))
        return f"DM to {person}: {sent.describe()}"
    url = str(rule["webhook"])
    body = {"person": person, "alert": {"id": alert_id, "fingerprint": run["fingerprint"],
                                        "subject": signal.get("subject", ""), "summary": signal.get("summary", ""),
                                        "severity": signal.get("severity", ""), "url": signal.get("url", "")},
            "policy": run.get("policy", ""), "run": run["id"], "paged_at": from_epoch(now)}
    with Client("notification webhook", url, timeout=config.webhook_timeout) as client:
        client.request("POST", url, json=body, headers={"Idempotency-Key": brain.digest(key, 40)})
    return f"webhook for {person} to {host_of(url)}: posted"
