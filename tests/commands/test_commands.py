"""What each command does, and how it says no: guardrails, references, usage, apologies."""
from __future__ import annotations

import dataclasses
import logging

import pytest
from freezegun import freeze_time

from router.commands.channels import chat_signal
from router.commands.execute import execute
from router.core import brain
from router.pipeline.intake import evaluate as evaluate_with
from tests.commands.conftest import fire, use_rules, write_rules


def run(redis, config, text: str, who: str = "alice", room: str = "#ops"):
    return execute(redis, config, chat_signal("room", text, room, who).to_dict())


@pytest.fixture
def alerts(redis, env):
    return [fire(redis, "web-01/HTTP", env="production"), fire(redis, "web-02/HTTP", env="production"),
            fire(redis, "db-01/Disk Space", env="staging"), fire(redis, "db-02/Disk Space", env="staging"),
            fire(redis, "cache-01/Memory")]


# -- snooze guardrails -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, refusal", [
    ("snooze source=nagios for 1h", "Refused: `source=nagios` names no label, so it could silence every alert of "
                                    "its kind. Right now it matches 5 firing alerts: "),
    ("snooze host=~.* service=~.+ for 1h", "names no label"),
    ("snooze host!=nothing for 1h", "names no label"),
    ("snooze service=~.*(HTTP|Space|Memory) for 1h because x",
     # (which alert the preview names first depends on whether they fired in the same millisecond)
     "would silence 5 firing alerts, more than the limit of 3. Right now it matches 5 firing alerts: "),
    ("snooze host=web-01 for 2d because deploy", "Refused: production snoozes last at most 1d; `2d` is 2d."),
    ("snooze host=db-01 for 8d", "Refused: snoozes last at most 7d; `8d` is 8d."),
    ("snooze host=~(web|db)-01 for 2d because x", "production snoozes last at most 1d"),
    ("snooze host=web-01 for 1h", "Refused: snoozing production alerts needs a reason: say "
                                  "`snooze host=web-01 for 1h because <reason>`. "
                                  "Right now it matches 1 firing alert: web-01/HTTP."),
])
def test_snooze_guardrails_refuse_with_the_preview(redis, config, alerts, text, refusal):
    reply = run(redis, config, text)
    assert reply.outcome == "refused" and refusal in reply.text
    assert brain.active_snoozes(redis, 0) == []
    (entry,), _ = brain.audit_entries(redis, limit=1)
    assert entry["outcome"] == "refused" and entry["rule"] == "suppression.yml guardrails"


def test_snooze_takes_effect_at_once_with_preview_and_schedules_its_end(redis, config, alerts):
    from rq.registry import ScheduledJobRegistry

    reply = run(redis, config, "snooze host=~db-0[12] for 2h")
    assert reply.outcome == "ok" and reply.public
    assert "Right now it matches 2 firing alerts: db-01/Disk Space, db-02/Disk Space." in reply.text
    assert "I'll remind #ops 15m before it ends. End it early with `unsnooze s1`." in reply.text
    (snooze,) = brain.active_snoozes(redis, 0)
    assert snooze["matchers"] == [{"name": "host", "op": "=~", "value": "db-0[12]"}]
    assert snooze["remind_at"] == snooze["ends_at"] - 900 and snooze["created_by"] == "alice"
    jobs = ScheduledJobRegistry("sparky-actions", connection=redis).get_job_ids()
    assert sorted(jobs) == sorted(["sparky-snooze-s1-remind", f"sparky-snooze-s1-end-{int(snooze['ends_at'])}"])
    (created,), _ = brain.audit_entries(redis, filters={"event": "snooze.created"})
    assert created["who"] == "alice" and created["snooze"] == "s1" and created["matched"] == "2"


def test_a_snooze_may_match_nothing_yet(redis, config, alerts):
    reply = run(redis, config, "snooze host=lb-01 for 30m")
    assert "Right now it matches no firing alert." in reply.text and "remind" not in reply.text


@pytest.mark.parametrize("text", [
    "snooze db-01/Disk Space for 1h", f"snooze {brain.alert_id('db-01/Disk Space')} for 1h",
    f"snooze {brain.alert_id('db-01/Disk Space')[:5]} 1h", 'snooze "db-01/disk space" until 23:59',
])
def test_snooze_an_alert_by_reference(redis, config, alerts, text):
    reply = run(redis, config, text)
    assert reply.outcome == "ok", reply.text
    (snooze,) = brain.active_snoozes(redis, 0)
    assert snooze["matchers"] == [{"name": "fingerprint", "op": "=", "value": "db-01/Disk Space"}]


@pytest.mark.parametrize("text, message", [
    ("snooze", "Snooze what?"),
    ("snooze host=web-01", "For how long? Add e.g. `for 2h` or `until 18:00`."),
    ("snooze host=web-01 for", "for how long?"),
    ("snooze host=web-01 for ages", '"ages" is not a duration'),
    ("snooze host=web-01 for 1h because", "`because` needs a reason after it."),
    ("snooze host=web-01 oops=~( for 1h", "bad regex"),
    ("snooze nosuch-alert for 1h", "No alert `nosuch-alert` is known."),
    ("snooze web for 1h", "No alert `web` is known."),
])
def test_snooze_usage(redis, config, alerts, text, message):
    reply = run(redis, config, text)
    assert reply.outcome == "usage" and message in reply.text
    assert reply.text.endswith("(more: `help snooze`)") and "Usage: snooze <matcher or alert id>" in reply.text


def test_unsnooze_of_unknown_and_ended_snoozes(redis, config, alerts):
    unknown = run(redis, config, "unsnooze s9")
    assert (unknown.outcome, unknown.text) == (
        "refused", "Refused: There is no snooze `s9`. `snoozes` lists the active ones.")
    run(redis, config, "snooze host=db-01 for 1h")
    assert run(redis, config, "unsnooze 1").outcome == "ok"
    ended = run(redis, config, "unsnooze s1")
    assert ended.outcome == "refused" and ended.text.startswith("Refused: Snooze `s1` has already ended")
    assert run(redis, config, "unsnooze banana").outcome == "usage"


def test_snoozes_lists_active_ones_soonest_first(redis, config, alerts):
    assert run(redis, config, "snoozes").text == "No active snoozes."
    run(redis, config, "snooze host=db-01 for 3h")
    run(redis, config, "snooze host=db-02 for 1h because swap")
    lines = run(redis, config, "snoozes", who="dave").text.splitlines()
    assert lines[0] == "2 active snoozes:"
    assert lines[1].startswith("`s2` `host=db-02` · by alice · until ") and "· because swap · silencing 1 firing" in lines[1]
    assert lines[2].startswith("`s1` `host=db-01`")


# -- ack -----------------------------------------------------------------------------------------------

def test_ack_by_short_id_with_a_reason(redis, config, alerts):
    short = brain.alert_id("web-01/HTTP")
    reply = run(redis, config, f"ack {short} because restarting nginx", who="dave")
    assert reply.text == f"dave acked `{short}` web-01/HTTP: restarting nginx. " \
                         "Escalation and repeats stop until it resolves or fires anew."
    state = redis.hgetall(brain.key_alert("web-01/HTTP"))
    assert state[b"acked_by"] == b"dave" and state[b"ack_reason"] == b"restarting nginx"


def test_ack_takes_the_longest_fingerprint_that_exists(redis, config, alerts):
    reply = run(redis, config, "ack db-01/Disk Space filling up", who="bob")
    assert reply.text.startswith("bob acked") and "db-01/Disk Space: filling up." in reply.text


def test_ack_twice_and_after_resolution(redis, config, alerts):
    run(redis, config, "ack web-02/HTTP", who="bob")
    assert run(redis, config, "ack web-02/HTTP", who="alice").text == "web-02/HTTP is already acked by bob."
    fire(redis, "web-02/HTTP", status="resolved", env="production")
    reply = run(redis, config, "ack web-02/HTTP", who="alice")
    assert reply.text == "web-02/HTTP is resolved: there is nothing to ack."
    # a new episode starts unacked: the ack held "until it changes state"
    fire(redis, "web-02/HTTP", env="production")
    assert run(redis, config, "ack web-02/HTTP", who="alice").text.startswith("alice acked")


@pytest.mark.parametrize("text, message", [
    ("ack", "Ack which alert?"), ("ack nothing-here", "No alert `nothing-here` is known."),
])
def test_ack_usage(redis, config, alerts, text, message):
    reply = run(redis, config, text)
    assert reply.outcome == "usage" and message in reply.text


def test_ambiguous_short_ids_are_not_guessed(redis, config, env):
    firing = [fire(redis, f"host-{i}/check") for i in range(300)]
    ids = [brain.alert_id(s.fingerprint) for s in firing]
    prefix = next(p[:4] for p in ids if sum(i.startswith(p[:4]) for i in ids) > 1)
    reply = run(redis, config, f"ack {prefix}")
    assert reply.outcome == "usage" and "could be several alerts" in reply.text


# -- alerts ----------------------------------------------------------------------------------------------

def test_alerts_show_acks_and_snoozes(redis, config, alerts):
    run(redis, config, "ack web-01/HTTP", who="bob")
    run(redis, config, "snooze host=db-01 for 2h")
    text = run(redis, config, "alerts", who="dave").text
    assert text.splitlines()[0] == "5 firing:"
    assert "web-01/HTTP: CRITICAL web-01/HTTP: connection refused · firing 0s · env=production · acked by bob" in text
    assert "db-01/Disk Space" in text and "· snoozed by alice (s1) until " in text
    assert run(redis, config, "alerts host=nothing").text == "Nothing firing matches `host=nothing`."


def test_alerts_when_nothing_fires(redis, config, env):
    assert run(redis, config, "alerts").text == "Nothing is firing. :tada:"
    fire(redis, "web-01/HTTP", status="resolved")
    assert run(redis, config, "alerts web-01/HTTP").text == "web-01/HTTP is resolved, not firing."


# -- why --------------------------------------------------------------------------------------------

def test_why_names_the_snooze_and_the_ack_that_applied(redis, config, env, run_jobs):
    first = fire(redis, "web-01/HTTP", env="production")
    evaluate_with(redis, [first.id])
    run(redis, config, "snooze host=web-01 for 1h because deploy")
    again = fire(redis, "web-01/HTTP", env="production")
    evaluate_with(redis, [again.id])
    run(redis, config, "ack web-01/HTTP on it", who="bob")
    text = run(redis, config, f"why {again.id.lower()}", who="dave").text
    assert "*suppression*: matched `snoozed` → drop snoozed" in text
    assert "Suppressed by `suppression/snoozed`: recorded, not posted." in text
    assert "notify (alerts-to-ops): suppressed" in text
    assert "Snooze `s1` applied: `host=web-01` by alice because deploy." in text
    assert "Acked later by bob at " in text
    first_text = run(redis, config, f"why {first.id}").text
    assert "Snooze" not in first_text and "*routing*: matched `alerts-to-ops` → notify #ops" in first_text


def test_why_counts_a_snooze_made_in_the_same_millisecond_as_the_signal(redis, config, env, run_jobs):
    # Signal times are kept to the millisecond; the snooze's start to the microsecond.
    with freeze_time("2026-11-25 10:00:00.123456"):
        run(redis, config, "snooze host=web-01 for 1h because deploy")
        again = fire(redis, "web-01/HTTP", env="production")
        evaluate_with(redis, [again.id])
        text = run(redis, config, f"why {again.id}", who="dave").text
    assert "Snooze `s1` applied: `host=web-01` by alice because deploy." in text


def test_why_takes_an_alert_id_or_fingerprint_for_its_latest_signal(redis, config, env, run_jobs):
    first = fire(redis, "db-01/Disk Space", env="staging")
    evaluate_with(redis, [first.id])
    latest = fire(redis, "db-01/Disk Space", env="staging")
    evaluate_with(redis, [latest.id])
    alert_id = brain.alert_id("db-01/Disk Space")
    assert f"`{alert_id}`" in run(redis, config, "alerts").text            # what chat shows, then asks about
    by_id = run(redis, config, f"why {alert_id}", who="dave")
    assert by_id.outcome == "ok"
    assert by_id.text.startswith(f"Alert `{alert_id}` db-01/Disk Space (firing), its latest signal:\n"
                                 f"`{latest.id}` nagios alert firing: db-01/Disk Space (rules version ")
    assert "*routing*: matched `alerts-to-ops` → notify #ops" in by_id.text
    assert run(redis, config, "why db-01/Disk Space").text == by_id.text      # the fingerprint, spaces and all
    assert run(redis, config, f"why {alert_id[:5]}").text == by_id.text       # a prefix, as ack takes
    assert run(redis, config, f"why {first.id}").text.startswith(f"`{first.id}` nagios alert firing")


@pytest.mark.parametrize("text, message", [
    ("why", "Why what? Give an alert id or fingerprint"),
    ("why banana", "No alert `banana` is known, and it is not a signal id"),
    ("why a b", "No alert `a b` is known"),
])
def test_why_usage(redis, config, env, text, message):
    reply = run(redis, config, text)
    assert reply.outcome == "usage" and message in reply.text


def test_why_of_an_unknown_signal_id_says_so(redis, config, env):
    assert run(redis, config, "why 01ARZ3NDEKTSV4RRFFQ69G5FAV").text.startswith(
        "No signal `01ARZ3NDEKTSV4RRFFQ69G5FAV`: unknown, or expired")


def test_why_before_evaluation(redis, config, env):
    signal = fire(redis, "web-01/HTTP")
    assert run(redis, config, f"why {signal.id}").text.endswith("Not evaluated yet: it is waiting in the queue.")


# -- the forgiving and exact parts ---------------------------------------------------------------------

@pytest.mark.parametrize("text, answer", [
    ("snoze host=web-01 for 1h", "I don't know the command `snoze`. Did you mean `snooze`, `snoozes` or `unsnooze`?"),
    ("alrets", "Did you mean `alerts`?"),
    ("say hello", "`say` is not available in this Sparky yet."),
    ("xyzzy", "I don't know the command `xyzzy`. Type `help` for the commands you can run."),
])
def test_unknown_commands_get_did_you_mean(redis, config, env, text, answer):
    reply = run(redis, config, text)
    assert reply.outcome == "unknown" and answer in reply.text


def test_empty_text_is_help(redis, config, env):
    assert run(redis, config, "  ").text.startswith("Commands alice can run in #ops:")


def test_a_failing_command_apologises_with_an_error_id_and_logs_the_traceback(redis, config, env, monkeypatch,
                                                                               caplog, registry):
    def broken(ctx, args):
        raise KeyError("labels")

    # a plugin's command that fails, registered as every command is
    monkeypatch.setitem(registry.commands, "alerts", dataclasses.replace(registry.commands["alerts"], func=broken))
    with caplog.at_level(logging.ERROR, logger="sparky.commands"):
        reply = run(redis, config, "alerts")
    assert reply.outcome == "error" and "Traceback" not in reply.text and "KeyError" not in reply.text
    assert reply.text == f"Sorry, something went wrong running that command (error {reply.error_id}, logged)."
    assert reply.error_id in caplog.text and "Traceback" in caplog.text and "KeyError" in caplog.text
    (entry,), _ = brain.audit_entries(redis, limit=1)
    assert entry["outcome"] == "error" and entry["error"] == reply.error_id


def test_broken_rules_with_none_in_force_turn_commands_off_with_a_reason(redis, config, rules_dir, env):
    redis.flushdb()
    write_rules(rules_dir, permissions_yml="permissions:\n  - command: snoze\n    allow: ['*']\n")
    reply = run(redis, config, "help")
    assert reply.outcome == "refused" and "Sparky's rules cannot be loaded right now" in reply.text
    assert 'unknown command "snoze"' in reply.text


def test_rules_are_read_hot(redis, config, rules_dir, env):
    assert run(redis, config, "snoozes", who="dave").outcome == "ok"
    write_rules(rules_dir, permissions_yml="permissions:\n  - command: help\n    allow: ['*']\n")
    use_rules(redis, rules_dir)
    assert run(redis, config, "snoozes", who="dave").outcome == "refused"
