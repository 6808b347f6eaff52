"""Command packs: a YAML file in the rules dir's commands/ becomes a chat command — checked like a
rules file, hot-reloaded, permission-gated, listed by help, run with its brain, fetch or post."""
from __future__ import annotations

import json

import pytest

from router.commands.channels import chat_signal
from router.commands.execute import execute
from router.core import brain
from router.engine import store
from router.engine.check import check_dir
from tests.commands.conftest import use_rules
from tests.packs.conftest import LUNCH, write_pack


def run(redis, config, text: str, who: str = "alice", room: str = "#ops"):
    return execute(redis, config, chat_signal("room", text, room, who).to_dict())


@pytest.fixture
def lunch(redis, rules_dir, env):
    write_pack(rules_dir, "lunch.yml", LUNCH)
    use_rules(redis, rules_dir)
    return rules_dir


def test_a_pack_adds_commands_with_their_brain_list(redis, config, lunch):
    assert "empty" in run(redis, config, "lunch").text
    assert run(redis, config, "lunch add Thai Palace").text == "Added Thai Palace (1 places)."
    assert run(redis, config, "lunch add thai palace").text == "thai palace is on the list already."
    assert run(redis, config, "lunch").text == "How about Thai Palace?"
    # the pack's own namespace in the brain
    assert redis.lrange(brain.key_pack("lunch", "places"), 0, -1) == [b"Thai Palace"]
    refused = run(redis, config, "lunch remove Thai Palace", who="bob")
    assert refused.outcome == "refused" and "leads" in refused.text
    assert run(redis, config, "lunch remove Thai Palace", who="carol").text == "Removed Thai Palace."
    (entry,), _ = brain.audit_entries(redis, limit=1)
    assert entry["command"] == "lunch" and entry["outcome"] == "ok"


def test_help_lists_pack_commands_and_did_you_mean_covers_them(redis, config, lunch):
    listed = run(redis, config, "help").text
    assert "• `lunch`: Where the team goes for lunch today, picked at random" in listed
    detail = run(redis, config, "help lunch").text
    assert "lunch add <place…>: Add a place" in detail and "commands/lunch.yml" in detail
    unknown = run(redis, config, "lunhc")
    assert unknown.outcome == "unknown" and "Did you mean `lunch`" in unknown.text
    usage = run(redis, config, "lunch eat now")
    assert usage.outcome == "usage" and "lunch add <place…>" in usage.text


def test_a_pack_command_is_nobodys_until_granted(redis, config, rules_dir, env):
    write_pack(rules_dir, "lunch.yml", LUNCH.replace('    permission: {allow: ["*"]}\n', "")
               .replace("    permission: {allow: [leads]}\n", ""))
    use_rules(redis, rules_dir)
    refused = run(redis, config, "lunch")
    assert refused.outcome == "refused" and "nobody may run `lunch`" in refused.text
    assert "`lunch`" not in run(redis, config, "help", who="alice").text
    # permissions.yml can grant it by its word: every form without a grant of its own
    from tests.commands.conftest import PERMISSIONS, write_rules

    write_rules(rules_dir, permissions_yml=PERMISSIONS + "  - command: lunch\n    allow: [dave]\n")
    use_rules(redis, rules_dir)
    assert run(redis, config, "lunch", who="dave").outcome == "ok"
    assert run(redis, config, "lunch", who="alice").outcome == "refused"


def test_without_permissions_yml_pack_commands_still_need_a_grant(redis, config, rules_dir, env):
    from tests.commands.conftest import write_rules

    write_rules(rules_dir, permissions_yml=None)
    write_pack(rules_dir, "lunch.yml", LUNCH)
    use_rules(redis, rules_dir)
    assert run(redis, config, "lunch add Pho").outcome == "ok"       # granted to "*" by the pack
    assert run(redis, config, "lunch remove Pho", who="alice").outcome == "refused"   # leads only
    assert run(redis, config, "alerts").outcome == "ok"               # built-ins: permissions off


def test_a_broken_pack_is_refused_at_its_line_and_the_previous_packs_stay(redis, config, lunch):
    before = store.in_force(redis)
    write_pack(lunch, "lunch.yml", LUNCH.replace("op: pick random", "op: pick randomly"))
    write_pack(lunch, "bad.yml", "commands:\n  - name: x\n    formats: [\"help {x}\"]\n    description: d\n"
                                 "    reply: hi\n  - name: y\n    formats: [\"yo {a:colour}\"]\n    description: d\n"
                                 "    reply: hi\n")
    write_pack(lunch, "worse.yml", "commands:\n  - name: y\n    formats: [yo]\n    description: d\n"
                                   "    reply: hi\n    colour: red\n")
    result = store.reload(redis, lunch, by="test", engine=False)
    text = "\n".join(str(p) for p in result.problems)
    assert not result.ok and store.in_force(redis) == before
    assert "commands/lunch.yml:7: op: must be one of: get, set, incr" in text
    assert 'commands/worse.yml:6: unknown key "colour"' in text
    assert 'commands/bad.yml:7: command "y": format "yo {a:colour}": parameter "a": unknown type "colour"' in text
    assert "commands/bad.yml:3: " in text and "built-in command" in text
    assert run(redis, config, "lunch add Pho").text.startswith("Added Pho")   # the old pack still runs


def test_examples_that_do_not_hold_refuse_the_pack(tmp_path, rules_dir):
    write_pack(rules_dir, "lunch.yml", LUNCH.replace("reply: Added Thai Palace (1 places).",
                                                     "reply: Added Thai Palace."))
    result = check_dir(rules_dir, engine=False)
    (problem,) = result.problems
    assert str(problem).endswith('commands/lunch.yml:22: command "lunch-add": example 1 ("lunch add Thai Palace"): '
                                 'expected "Added Thai Palace.", got "Added Thai Palace (1 places)."')


def test_a_new_pack_file_is_picked_up_by_the_poll(redis, config, rules_dir, env):
    assert run(redis, config, "lunch").outcome == "unknown"
    write_pack(rules_dir, "lunch.yml", LUNCH)
    store._polls.clear()
    store.maybe_poll(redis, rules_dir, 0.01)
    assert run(redis, config, "lunch").outcome == "ok"


FETCH = """\
pack: status
env: [STATUS_TOKEN]
commands:
  - name: status
    formats: ["status {service}", "status"]
    description: What the status page says
    permission: {allow: [oncall]}
    fetch:
      url: "{{ env.STATUS_URL_BASE }}/api/{{ service or 'all' }}"
      headers: {Authorization: "Bearer {{ env.STATUS_TOKEN }}"}
      timeout: 2
      CACHE
    reply: "{{ result.name }} is {{ result.state }}"
    fallback: "The status page did not answer; try {{ service or 'again' }} later."
    examples:
      - say: status web
        response: {json: {name: web, state: up}}
        reply: web is up
      - say: status web
        response: {status: 500, text: oops}
        reply: The status page did not answer; try web later.
"""


def test_a_fetch_pack_calls_the_api_with_the_secret_and_never_echoes_it(redis, config, rules_dir, env, api,
                                                                        monkeypatch, caplog):
    pack = FETCH.replace("CACHE", "cache: 5m").replace("env.STATUS_URL_BASE", f"'{api.url}'")
    write_pack(rules_dir, "status.yml", pack)
    use_rules(redis, rules_dir)
    monkeypatch.setenv("STATUS_TOKEN", "s3cret-token")
    api.answers["/api/web"] = (200, {"name": "web", "state": "up"})
    assert run(redis, config, "status web").text == "web is up"
    assert api.requests[-1]["headers"]["Authorization"] == "Bearer s3cret-token"
    assert run(redis, config, "status web").text == "web is up"
    assert len(api.requests) == 1                      # cached
    api.answers["/api/all"] = (200, {"name": "s3cret-token", "state": "up"})   # an API echoing the secret
    assert run(redis, config, "status").text == "[redacted] is up"
    failed = run(redis, config, "status db")            # 404 from the API
    assert failed.text == "The status page did not answer; try db later." and failed.outcome == "error"
    assert "s3cret" not in caplog.text and "Traceback" not in failed.text


def test_a_fetch_pack_without_its_secret_says_it_is_not_configured(redis, config, rules_dir, env, api, monkeypatch):
    write_pack(rules_dir, "status.yml", FETCH.replace("      CACHE\n", "").replace("env.STATUS_URL_BASE", f"'{api.url}'"))
    use_rules(redis, rules_dir)
    monkeypatch.delenv("STATUS_TOKEN", raising=False)
    reply = run(redis, config, "status web")
    assert reply.text == "`status` is not configured in this Sparky: ask an admin to set STATUS_TOKEN."
    assert api.requests == []


def test_a_reply_may_not_read_the_secrets(rules_dir):
    write_pack(rules_dir, "status.yml", FETCH.replace("      CACHE\n", "").replace(
        "reply: \"{{ result.name }}", "reply: \"{{ env.STATUS_TOKEN }}"))
    problems = [str(p) for p in check_dir(rules_dir, engine=False).problems]
    assert any("commands/status.yml:12: " in p and "may not read env" in p for p in problems), problems


def test_a_post_pack_sends_a_signal_through_the_rules(redis, config, rules_dir, env, run_jobs):
    from router.chat import rooms

    write_pack(rules_dir, "release.yml", """\
commands:
  - name: shipit
    formats: ["shipit {app}"]
    description: Say a release is going out
    permission: {allow: [oncall]}
    post: {kind: release, subject: "{{ app }} ships", labels: {app: "{{ app }}"}}
    reply: "Posted {{ app }}'s release ({{ result }})."
""")
    (rules_dir / "releases.yml").write_text("""\
ruleset: releases
rules:
  - name: announce
    when: {source: pack, kind: release}
    then:
      - notify: {room: "#releases", template: "{labels.app} ships (said by {labels.by})"}
""")
    use_rules(redis, rules_dir)
    reply = run(redis, config, "shipit web")
    assert reply.outcome == "ok"
    signal_id = reply.text.split("(")[1].rstrip(").")
    stored = json.loads(redis.get(brain.key_signal(signal_id)))
    assert stored["kind"] == "release" and stored["labels"]["app"] == "web" and stored["labels"]["pack"] == "release"
    assert stored["actor"] == "alice"
    run_jobs()                                    # the drain: the rules decide, the notify job posts
    assert [m["text"] for m in rooms.messages(redis, "#releases", 10)] == ["web ships (said by alice)"]


def test_sparky_commands_test_and_rules_check_run_the_examples(rules_dir, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from router.cli.main import main

    monkeypatch.setenv("SPARKY_DATA_DIR", str(tmp_path / "no-brain"))
    write_pack(rules_dir, "lunch.yml", LUNCH)
    runner = CliRunner()
    ok = runner.invoke(main, ["commands", "test", str(rules_dir)])
    assert ok.exit_code == 0 and ok.output == "ok: 1 packs, 1 commands (3 forms), 3 examples passed\n", ok.output
    write_pack(rules_dir, "lunch.yml", LUNCH.replace("reply: How about Thai Palace?", "reply: Burritos!"))
    for argv in (["commands", "test", str(rules_dir)], ["rules", "check", str(rules_dir)]):
        failed = runner.invoke(main, argv)
        assert failed.exit_code == 1
        assert failed.output.strip().endswith('commands/lunch.yml:10: command "lunch-pick": example 1 ("lunch"): '
                                              'expected "Burritos!", got "How about Thai Palace?"'), failed.output


def test_a_digest_must_say_a_pack_command_that_fits(rules_dir):
    write_pack(rules_dir, "lunch.yml", LUNCH.replace('''    reply: "{% if result %}How''', '''    every:
      - {cron: "0 12 * * 1-5", room: "#lunch", say: lunch now please, tz: Europe/Berlin}
    reply: "{% if result %}How'''))
    (problem,) = check_dir(rules_dir, engine=False).problems
    assert str(problem).endswith('commands/lunch.yml:3: command "lunch-pick": every: "lunch now please" is no pack '
                                 'command: That does not fit `lunch`, `lunch add <place…>`, `lunch remove <place…>`.')


def test_a_fetch_may_read_only_the_variables_its_pack_lists(rules_dir):
    write_pack(rules_dir, "status.yml", FETCH.replace("      CACHE\n", "").replace("env.STATUS_URL_BASE", "env.HOME"))
    problems = [str(p) for p in check_dir(rules_dir, engine=False).problems]
    assert any("commands/status.yml:9: " in p and "env.HOME is not in the pack's `env:` list" in p
               for p in problems), problems


def test_an_example_that_breaks_is_a_problem_not_a_crash(rules_dir):
    write_pack(rules_dir, "count.yml", """\
commands:
  - name: bump
    formats: [bump]
    description: Count
    brain: {op: incr, key: n}
    reply: "{{ result }}"
    examples:
      - say: bump
        brain: {n: lots}
        reply: "1"
""")
    (problem,) = check_dir(rules_dir, engine=False).problems
    assert str(problem).endswith('commands/count.yml:8: command "bump": example 1 ("bump") failed: ValueError: '
                                 "invalid literal for int() with base 10: 'lots'")


def test_a_pack_command_may_be_kept_to_some_rooms(redis, config, rules_dir, env):
    write_pack(rules_dir, "lunch.yml", LUNCH.replace('''    permission: {allow: ["*"]}
    brain: {op: pick random''', '''    permission: {allow: ["*"]}
    rooms: ["#lunch"]
    brain: {op: pick random'''))
    use_rules(redis, rules_dir)
    refused = run(redis, config, "lunch", room="#ops")
    assert refused.outcome == "refused" and "`lunch` with form=lunch-pick may be run only in #lunch, not in #ops" \
        in refused.text, refused.text
    assert run(redis, config, "lunch", room="#lunch").outcome == "ok"
    assert run(redis, config, "lunch add Pho", room="#ops").outcome == "ok"     # the other forms: anywhere
