"""A snooze's whole life, on a frozen clock, through the real hooks, rules, actions and worker:
alert posted → snoozed from chat → repeated PROBLEM recorded, not posted → reminder → snooze ends
→ the alert, still firing, is posted again (in its thread, broadcast) and the room is told."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode

from freezegun import freeze_time
from rq import Queue
from rq.scheduler import RQScheduler

from router.chat import rooms
from router.core import brain
from router.jobs.queues import QUEUES

T0 = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
OPS = quote("#ops", safe="")


def problem(at: dt.datetime, state: str = "CRITICAL", kind: str = "PROBLEM") -> bytes:
    return urlencode({"NOTIFICATIONTYPE": kind, "HOSTNAME": "web-01", "SERVICEDESC": "HTTP", "SERVICESTATE": state,
                      "SERVICEOUTPUT": f"{state} - Socket timeout after 10 seconds",
                      "TIMET": str(int(at.timestamp()))}).encode()


class Life:
    def __init__(self, client, redis, run_jobs):
        self.client, self.redis, self.run_jobs = client, redis, run_jobs

    def nagios(self, at, **kw) -> str:
        with freeze_time(at):
            answer = self.client.post("/hooks/nagios", data=problem(at, **kw),
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert answer.status_code == 202, answer.json
            (sid,) = answer.json["signals"]
            self.run_jobs()
        return sid

    def say(self, at, user: str, text: str) -> str:
        with freeze_time(at):
            answer = self.client.post(f"/api/rooms/{OPS}/messages", json={"user": user, "text": text})
            assert answer.status_code == 202
            self.run_jobs()
            (sid,) = answer.json["signals"]
        return next(m for m in rooms.messages(self.redis, "#ops", 200) if m.get("reply_to") == sid)["text"]

    def scheduled_jobs_run(self, at) -> None:
        """RQ's scheduler and a worker, at time `at` (what `worker.py --with-scheduler` does then)."""
        with freeze_time(at):
            scheduler = RQScheduler([Queue(q, connection=self.redis) for q in QUEUES], connection=self.redis)
            scheduler.acquire_locks()
            try:
                scheduler.enqueue_scheduled_jobs()
            finally:
                scheduler.release_locks()
            self.run_jobs()

    def sparky_says(self) -> list[dict]:
        return [m for m in rooms.messages(self.redis, "#ops", 200) if not m.get("author") or m["author"] == "sparky"]


def test_snooze_lifecycle(client, redis, env, run_jobs):
    life = Life(client, redis, run_jobs)

    # 09:00 the alert fires and is posted to #ops (routing: alerts-to-ops)
    first = life.nagios(T0)
    posted = [m for m in life.sparky_says() if "Socket timeout" in m["text"]]
    assert len(posted) == 1 and posted[0]["buttons"][0]["value"] == "ack web-01/HTTP"
    assert redis.sismember(brain.key_firing(), "web-01/HTTP")   # the evaluation recorded the alert state

    # 09:05 alice snoozes it from the room; the preview names it
    reply = life.say(T0 + dt.timedelta(minutes=5), "alice", "snooze web-01/HTTP for 2h because deploying 1.4")
    assert reply.startswith("Snoozed `s1`: `fingerprint=web-01/HTTP` until 12:05 CET (2h) because deploying 1.4")
    assert "Right now it matches 1 firing alert: web-01/HTTP." in reply
    (snooze,) = brain.active_snoozes(redis, (T0 + dt.timedelta(minutes=6)).timestamp())

    # 09:30 the PROBLEM repeats: recorded and decided, not posted
    before = len(life.sparky_says())
    repeat = life.nagios(T0 + dt.timedelta(minutes=30))
    assert len(life.sparky_says()) == before
    assert client.get(f"/api/signals/{repeat}").status_code == 200
    decision = client.get(f"/api/signals/{repeat}/decision").json
    assert decision["suppressed_by"] == {"ruleset": "suppression", "rule": "snoozed"}
    assert [a["state"] for a in decision["actions"] if a["ruleset"] == "routing"] == ["suppressed"]
    why = life.say(T0 + dt.timedelta(minutes=31), "bob", f"why {repeat}")
    assert "Snooze `s1` applied: `fingerprint=web-01/HTTP` by alice because deploying 1.4." in why

    # 10:50 the reminder, 15 minutes before the end (a reminder job, not a sleeping thread)
    life.scheduled_jobs_run(dt.datetime.fromtimestamp(snooze["remind_at"], dt.timezone.utc))
    reminder = life.sparky_says()[-1]["text"]
    assert reminder.startswith("Reminder: snooze `s1` (`fingerprint=web-01/HTTP`, by alice, because deploying 1.4) "
                               "ends at 12:05 CET, in 15m. It matches 1 firing alert: web-01/HTTP;")

    # 11:05 the snooze ends: the still-firing alert is posted again, in its thread and to the room
    life.scheduled_jobs_run(dt.datetime.fromtimestamp(snooze["ends_at"], dt.timezone.utc))
    assert brain.active_snoozes(redis, snooze["ends_at"] + 1) == []
    again, notice = life.sparky_says()[-2:]
    assert again["text"].startswith("still firing after snooze s1 ended: ") and "Socket timeout" in again["text"]
    assert again["thread"] == posted[0]["id"] and again["buttons"]
    assert notice["text"] == ("Snooze `s1` (`fingerprint=web-01/HTTP`, by alice) ended. "
                              "Still firing, posted again: web-01/HTTP.")

    # the audit trail tells the story
    events = [e["event"] for e in reversed(brain.audit_entries(redis, limit=50)[0]) if e["event"] != "command"]
    assert events[-2:] == ["snooze.created", "snooze.ended"]

    # a job that runs again posts nothing twice
    life.scheduled_jobs_run(dt.datetime.fromtimestamp(snooze["ends_at"] + 60, dt.timezone.utc))
    from router.core.config import Config
    from router.snoozes.lifecycle import end_with

    end_with(redis, Config.from_env(), "s1", snooze["ends_at"] + 120)
    assert life.sparky_says()[-2:] == [again, notice]
    assert client.get(f"/api/signals/{first}/decision").json["actions"][0]["state"] == "queued"


def test_unsnooze_reposts_at_once_what_still_fires(client, redis, env, run_jobs):
    life = Life(client, redis, run_jobs)
    life.nagios(T0)
    life.say(T0 + dt.timedelta(minutes=1), "bob", "snooze host=web-01 for 1h because deploy")
    reply = life.say(T0 + dt.timedelta(minutes=2), "bob", "unsnooze s1 deploy done")
    assert reply == ("Ended snooze `s1` (`host=web-01`, by bob): deploy done. "
                     "Still firing, posted again shortly: web-01/HTTP.")
    again, notice = life.sparky_says()[-2:]
    assert again["text"].startswith("still firing after snooze s1 ended")
    assert notice["text"] == "Snooze `s1` (`host=web-01`, by bob) ended early by bob. Still firing, posted again: web-01/HTTP."
    # the end job scheduled for 10:01 finds nothing left to do
    life.scheduled_jobs_run(T0 + dt.timedelta(hours=2))
    assert life.sparky_says()[-2:] == [again, notice]


def test_an_acked_alert_is_not_posted_again_when_the_snooze_ends(client, redis, env, run_jobs):
    life = Life(client, redis, run_jobs)
    life.nagios(T0)
    life.say(T0 + dt.timedelta(minutes=1), "bob", "snooze host=web-01 for 30m")
    life.say(T0 + dt.timedelta(minutes=2), "bob", "ack web-01/HTTP on it")
    life.scheduled_jobs_run(T0 + dt.timedelta(minutes=32))
    notice = life.sparky_says()[-1]["text"]
    assert notice == "Snooze `s1` (`host=web-01`, by bob) ended. Still firing but acked: web-01/HTTP (by bob)."
