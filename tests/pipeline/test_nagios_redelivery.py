"""Nagios notifications through /hooks/nagios: a notification id alone never makes a duplicate.

Nagios numbers notifications per instance and starts again at 1 when it restarts without its
retention file, and two Nagios/Icinga servers hand out the same numbers. Every real notification
must be stored and evaluated; only a re-delivery of the same notification (the same body again,
e.g. a notification script's retry) is a duplicate.
"""
from __future__ import annotations

from urllib.parse import urlencode

from router.app import create_app
from router.core import brain
from tests.conftest import HOOK_TOKEN

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {HOOK_TOKEN}"}
T0 = 1772546709  # 2026-03-03T14:05:09Z


def notification(host: str, service: str, ntype: str, state: str, nid: int, timet: int) -> bytes:
    """The macros a notification script (tinyspeck nagios.pl style) posts for one notification."""
    return urlencode({
        "NOTIFICATIONTYPE": ntype, "HOSTNAME": host, "SERVICEDESC": service, "SERVICESTATE": state,
        "SERVICESTATETYPE": "HARD", "SERVICEOUTPUT": f"{state} - check output",
        "SERVICENOTIFICATIONID": str(nid), "TIMET": str(timet),
        "LONGDATETIME": "Tue Mar 3 14:05:09 UTC 2026",
    }).encode()


def post(client, body: bytes) -> dict:
    response = client.post("/hooks/nagios", data=body, headers=FORM)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()


def test_colliding_ids_restarts_and_redeliveries(config, redis, run_jobs):
    client = create_app(config.with_(hook_tokens=(HOOK_TOKEN,))).test_client()
    deliveries = [
        # server A, before its restart
        notification("web-01", "HTTP", "PROBLEM", "CRITICAL", 1, T0),
        notification("web-01", "HTTP", "RECOVERY", "OK", 2, T0 + 60),
        # server B numbers its own notifications from 1 as well
        notification("db-01", "Disk /", "PROBLEM", "WARNING", 1, T0 + 90),
        notification("db-01", "Disk /", "RECOVERY", "OK", 2, T0 + 150),
        # server A restarted without its retention file: 1 and 2 again, for the same service
        notification("web-01", "HTTP", "PROBLEM", "CRITICAL", 1, T0 + 3600),
        notification("web-01", "HTTP", "RECOVERY", "OK", 2, T0 + 3660),
    ]
    answers = [post(client, body) for body in deliveries]
    assert [a["accepted"] for a in answers] == [1] * 6
    assert not any(a.get("duplicate") for a in answers)
    ids = [a["signals"][0] for a in answers]
    assert len(set(ids)) == 6

    # every real notification is evaluated
    run_jobs()
    for sid in ids:
        assert client.get(f"/api/signals/{sid}/decision").status_code == 200, sid
    stored = [client.get(f"/api/signals/{sid}").get_json() for sid in ids]
    assert [(s["subject"], s["status"], s["occurred_at"]) for s in stored] == [
        ("web-01/HTTP", "firing", "2026-03-03T14:05:09.000Z"),
        ("web-01/HTTP", "resolved", "2026-03-03T14:06:09.000Z"),
        ("db-01/Disk /", "firing", "2026-03-03T14:06:39.000Z"),
        ("db-01/Disk /", "resolved", "2026-03-03T14:07:39.000Z"),
        ("web-01/HTTP", "firing", "2026-03-03T15:05:09.000Z"),
        ("web-01/HTTP", "resolved", "2026-03-03T15:06:09.000Z"),
    ]

    # a true re-delivery (the script retried the same notification) is still a duplicate
    for body, original in ((deliveries[4], ids[4]), (deliveries[2], ids[2])):
        again = post(client, body)
        assert again == {"accepted": 0, "signals": [], "duplicate": True, "duplicate_of": [original]}
    assert redis.llen(brain.key_signal_index(source="nagios")) == 6
