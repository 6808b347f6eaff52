"""A group's `message:` template: one message listing the window's alerts (Jinja), on a pinned clock."""
from __future__ import annotations

from datetime import datetime, timezone

from freezegun import freeze_time

from router.chat import rooms
from router.jobs import runner
from router.jobs.context import Context
from tests.actions.conftest import alert, store

T0 = datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc).timestamp()
MESSAGE = ("{{ total }} disk alerts on {{ label }}{% if counts.firing == total %}, all firing{% endif %}:\n"
           "{% for a in alerts | sort(attribute='text') %}- {{ a.text }}\n{% endfor %}")


def test_the_group_message_lists_its_alerts(redis, rooms_env, clock):
    signals = store(redis, *[alert(f"db-1/Disk{i}", labels={"host": "db-1"}, summary=f"disk {i} full")
                             for i in range(3)])
    with freeze_time(datetime.fromtimestamp(T0, timezone.utc)):
        for signal in signals:
            runner.execute(redis, rooms_env, Context(signal["id"], "routing", "disk", 0, "group"),
                           {"room": "#ops", "by": ["labels.host"], "wait": "1m", "message": MESSAGE})
    clock.run_at(T0 + 61)
    (message,) = rooms.messages(redis, "#ops", 10)
    assert message["text"] == "3 disk alerts on host=db-1, all firing:\n- disk 0 full\n- disk 1 full\n- disk 2 full"   # (the chat layer trims the last newline)
