"""A pack's `every:` from a worker's maintenance: due slots claimed once, the reply posted."""
from __future__ import annotations

import datetime as dt

import time_machine
from rq import SimpleWorker

import worker as worker_module
from router.chat import rooms
from router.jobs.queues import QUEUES
from tests.commands.conftest import use_rules
from tests.packs.conftest import LUNCH, write_pack

EVERY_MINUTE = LUNCH.replace('''    brain: {op: pick random''', '''    every:
      - {cron: "* * * * *", room: "#lunch", say: lunch}
    brain: {op: pick random''', 1)


def test_the_worker_maintenance_queues_a_due_digest_once(redis, rules_dir, env, run_jobs):
    write_pack(rules_dir, "lunch.yml", EVERY_MINUTE)
    use_rules(redis, rules_dir)
    worker = worker_module.with_drain_kick(SimpleWorker)(list(QUEUES), connection=redis)
    with time_machine.travel(dt.datetime(2026, 12, 9, 12, 0, 20, tzinfo=dt.timezone.utc), tick=False):
        worker.run_maintenance_tasks()
        worker.run_maintenance_tasks()            # the same minute: already claimed
    run_jobs()
    assert [m["text"] for m in rooms.messages(redis, "#lunch", 10)] == [
        "The list is empty: `lunch add <place>` first."]
