"""Permission matrix: who may run which command, from which room, with which arguments.

people.yml and permissions.yml are the ones in tests/commands/conftest.py:
alice, bob = oncall; carol = leads; staff = oncall + leads + dave; erin is nobody.
`snooze`/`unsnooze` for oncall and carol, but production snoozes only for oncall from #ops and
production unsnoozes only for oncall; `ack` for staff; help, alerts, why, snoozes for everyone known.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from router.cli.main import main
from router.commands.channels import chat_signal
from router.commands.execute import execute
from router.core import brain
from tests.commands.conftest import fire, use_rules, write_rules


@pytest.fixture
def alerts(redis, env):
    fire(redis, "web-01/HTTP", env="production")
    fire(redis, "db-01/Disk", env="staging")


def snooze_of(redis, env: str) -> str:
    host = "web-01" if env == "production" else "db-01"
    snooze = {"id": brain.next_snooze_id(redis), "matchers": [{"name": "host", "op": "=", "value": host}],
              "ends_at": 4_000_000_000, "created_by": "bob", "reason": "", "created_at": "2026-01-01T00:00:00Z",
              "starts_at": 1_700_000_000, "text": f"host={host}", "envs": [env]}
    brain.put_snooze(redis, snooze)
    return snooze["id"]


PROD = "snooze host=web-01 for 1h because deploy"
STAGING = "snooze host=db-01 for 1h"
BOTH = "snooze host=~(web|db)-01 for 1h because deploy"

# (who, room, command text, allowed?, what the refusal says)
MATRIX = [
    ("alice", "#ops", PROD, True, ""),
    ("bob", "#ops", PROD, True, ""),
    ("alice", "#dev", PROD, False, "`snooze` with env=production may be run only in #ops, not in #dev."),
    ("carol", "#ops", PROD, False, "`snooze` with env=production is for oncall in #ops; carol is not one of them."),
    ("carol", "#dev", STAGING, True, ""),
    ("alice", "#dev", STAGING, True, ""),
    ("dave", "#ops", STAGING, False, "`snooze` is for carol, oncall; dave is not one of them."),
    ("alice", "#dev", BOTH, False, "`snooze` with env=production may be run only in #ops"),
    ("carol", "#ops", "snooze env=production alertname=Down for 1h because x", False, "is for oncall in #ops"),
    ("erin", "#ops", "help", False, "I don't know you (erin): ask an admin to add you to people.yml."),
    ("erin", "#ops", "alerts", False, "I don't know you (erin)"),
    ("U09NOBODY", "#ops", "snoozes", False, "I don't know you (U09NOBODY)"),
    ("dave", "#dev", "alerts", True, ""),
    ("dave", "#dev", "why 01ARZ3NDEKTSV4RRFFQ69G5FAV", True, ""),
    ("bob", "#dev", "snoozes", True, ""),
    ("U01DAVE", "#ops", "ack db-01/Disk", True, ""),           # a Slack id; staff through nested groups
    ("carol", "#dev", "ack web-01/HTTP", True, ""),
    ("erin", "#ops", "ack web-01/HTTP", False, "I don't know you (erin)"),
    ("bob", "#dev", "unsnooze {production}", True, ""),
    ("carol", "#ops", "unsnooze {production}", False, "`unsnooze` with env=production is for oncall; carol is not"),
    ("carol", "#ops", "unsnooze {staging}", True, ""),
    ("dave", "#ops", "unsnooze {staging}", False, "`unsnooze` is for carol, oncall; dave is not one of them."),
    ("alice", "", PROD, False, "`snooze` with env=production may be run only in #ops, not in the terminal."),
    ("alice", "", STAGING, True, ""),
]


@pytest.mark.parametrize("who, room, text, allowed, reason", MATRIX)
def test_matrix(redis, config, alerts, who, room, text, allowed, reason):
    text = text.format(production=snooze_of(redis, "production"), staging=snooze_of(redis, "staging"))
    reply = execute(redis, config, chat_signal("room" if room else "cli", text, room, who).to_dict())
    assert (reply.outcome == "ok") is allowed, reply.text
    entries, _ = brain.audit_entries(redis, limit=1, filters={"event": "command"})
    assert entries[0]["outcome"] == reply.outcome and entries[0]["what"] == text
    if not allowed:
        assert reply.text.startswith("Refused: ") and reason in reply.text
        assert reason in entries[0]["reason"] and entries[0]["rule"]   # audited with the entry that decided


@pytest.mark.parametrize("who, room, exit_code, first_line", [
    ("alice", "#ops", 0, "Snoozed `s1`: `host=web-01`"),
    ("alice", "", 1, "Refused: `snooze` with env=production may be run only in #ops, not in the terminal."),
    ("carol", "#ops", 1, "Refused: `snooze` with env=production is for oncall in #ops"),
    ("erin", "#ops", 1, "Refused: I don't know you (erin)"),
])
def test_the_cli_is_held_to_the_same_permissions(redis, alerts, who, room, exit_code, first_line):
    args = ["say", "--as", who, *(["--room", room] if room else []), PROD]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == exit_code and result.output.startswith(first_line), result.output


def test_slack_rooms_match_by_channel_name(redis, config, alerts):
    signal = chat_signal("slash", PROD, "C04OPS", "U01ALICE", room_name="ops").to_dict()
    assert execute(redis, config, signal).outcome == "ok"
    signal = chat_signal("slash", PROD, "C09DEV", "U01ALICE", room_name="dev").to_dict()
    assert "only in #ops, not in #dev" in execute(redis, config, signal).text


def test_help_lists_only_what_the_caller_may_run_here(redis, config, alerts):
    def listed(who, room):
        text = execute(redis, config, chat_signal("room", "help", room, who).to_dict()).text
        return [line.split("`")[1].split()[0] for line in text.splitlines() if line.startswith("• ")]

    assert listed("alice", "#ops") == ["ack", "alerts", "help", "snooze", "snoozes", "unsnooze", "why"]
    assert listed("dave", "#ops") == ["ack", "alerts", "help", "snoozes", "why"]
    refused = execute(redis, config, chat_signal("room", "help snooze", "#ops", "dave").to_dict())
    assert refused.text == "You cannot run `snooze` here: `snooze` is for carol, oncall; dave is not one of them."


def test_a_room_where_a_command_is_not_allowed_is_left_out_of_help(redis, config, rules_dir, alerts):
    write_rules(rules_dir, permissions_yml="""\
permissions:
  - command: "*"
    allow: [oncall]
    rooms: ["#ops"]
  - command: help
    allow: ["*"]
""")
    use_rules(redis, rules_dir)
    text = execute(redis, config, chat_signal("room", "help", "#dev", "alice").to_dict()).text
    assert "`help [command]`" in text and "snooze" not in text
    reply = execute(redis, config, chat_signal("room", "alerts", "#dev", "alice").to_dict())
    assert reply.text == "Refused: `alerts` may be run only in #ops, not in #dev."


def test_without_permissions_file_everything_is_allowed_and_help_says_so(redis, config, rules_dir, alerts):
    write_rules(rules_dir, permissions_yml=None)
    use_rules(redis, rules_dir)
    reply = execute(redis, config, chat_signal("room", "help", "#dev", "erin").to_dict())
    assert "(No permissions.yml in the rules dir: everyone may run every command.)" in reply.text
    assert execute(redis, config, chat_signal("room", STAGING, "#dev", "erin").to_dict()).outcome == "ok"


def test_a_slack_display_name_is_not_an_identity(redis, config, alerts):
    """Slack users pick their own display names: only the Slack id in people.yml counts."""
    impostor = chat_signal("slash", STAGING, "C04OPS", "U09MALLORY", room_name="ops", user_name="alice").to_dict()
    assert execute(redis, config, impostor).text == \
        "Refused: I don't know you (U09MALLORY): ask an admin to add you to people.yml."
    by_name = chat_signal("slash", STAGING, "C04OPS", "alice", room_name="ops").to_dict()
    assert execute(redis, config, by_name).outcome == "refused"
