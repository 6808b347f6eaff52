"""Python plugins: examples/sparky-plugin-hello really installed (pip, into a directory of its own,
no network), enabled by SPARKY_PLUGINS only, and driven through Slack, the rooms API, `sparky say`
and its own /hooks/hello source; its own tests run with Sparky's `sparky_bot` fixture."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.assembly import PluginError, allowed_plugins, build
from router.core import brain
from router.core.config import PROJECT_ROOT
from router.core.registry import install, installed
from tests.commands.conftest import (  # noqa: F401  (fixtures)
    PERMISSIONS,
    config,
    env,
    response_url,
    slack_clock,
    use_rules,
    write_rules,
)
from tests.commands.test_channels import Channels
from tests.conftest import HOOK_TOKEN

SAMPLE = PROJECT_ROOT / "examples" / "sparky-plugin-hello"


@pytest.fixture(scope="session")
def hello_site(tmp_path_factory) -> Path:
    """The sample plugin pip-installed into a site directory of its own, put on sys.path (and on
    PYTHONPATH for child processes). --no-build-isolation: built with the venv's setuptools, so
    the install needs no network; --no-deps: Sparky is already here."""
    site = tmp_path_factory.mktemp("hello-site")
    build_dir = tmp_path_factory.mktemp("hello-build")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                           "--no-build-isolation", "--no-index", "--target", str(site), str(SAMPLE)],
                          capture_output=True, text=True, cwd=build_dir, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(site.glob("sparky_plugin_hello-*.dist-info/entry_points.txt"))
    sys.path.insert(0, str(site))
    yield site
    sys.path.remove(str(site))


@pytest.fixture
def rules_dir(tmp_path, request):
    """The commands' rules dir, with `hello` granted to everyone known (permissions.yml) — unless
    the test is about a Sparky without the plugin, whose permissions.yml cannot name it."""
    if request.node.get_closest_marker("without_hello"):
        return write_rules(tmp_path / "rules", permissions_yml=PERMISSIONS)
    return write_rules(tmp_path / "rules", permissions_yml=PERMISSIONS + '  - command: hello\n    allow: ["*"]\n')


@pytest.fixture
def with_hello(hello_site, monkeypatch):
    """This process assembled with SPARKY_PLUGINS=hello, as `create_app`, the worker and the CLI do."""
    monkeypatch.setenv("SPARKY_PLUGINS", "hello")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(hello_site), os.environ.get("PYTHONPATH")])))
    before = installed()
    install(build())
    yield
    install(before)


def test_only_allow_listed_plugins_are_loaded(hello_site):
    assert allowed_plugins({"SPARKY_PLUGINS": " hello, ,hello,other "}) == ["hello", "other"]
    assert "hello" not in build(plugins=[]).commands
    registry = build(plugins=["hello"])
    assert registry.commands["hello"].summary.startswith("Say hello") and "hello" in registry.sources
    assert registry.plugins[-1] == "plugin:hello"
    with pytest.raises(PluginError, match="SPARKY_PLUGINS names nope, but no installed package declares it "
                                          r"in the entry-point group sparky.plugins \(installed: hello"):
        build(plugins=["nope"])


def test_the_sample_plugin_from_slack_the_rooms_api_and_sparky_say(with_hello, client, redis, run_jobs,
                                                                    response_url, slack_clock):  # noqa: F811
    say = Channels(client, redis, run_jobs, response_url, slack_clock)
    assert say.slash("hello world") == "Hello, world! (the first time)"
    assert say.room("hello world") == "Hello, world! (2 times now)"
    assert say.cli("hello world") == "Hello, world! (3 times now)"
    assert redis.get(brain.key_plugin("hello", "greeted:world")) == b"3"
    assert "• `hello [name]`: Say hello" in say.room("help")
    assert say.room("helo").endswith("Did you mean `hello` or `help`? Type `help` for the commands you can run.")


def test_the_sample_plugin_source_and_action(with_hello, client, redis, run_jobs, rules_dir):
    (rules_dir / "greetings.yml").write_text("""\
ruleset: greetings
rules:
  - name: greet-back
    when: {source: hello, kind: greeting}
    then:
      - greet: {whom: "{actor}"}
""")
    use_rules(redis, rules_dir)
    refused = client.post("/hooks/hello", json={"text": "hi"}, headers={"Authorization": f"Bearer {HOOK_TOKEN}"})
    assert refused.status_code == 400 and "from" in refused.json["error"]
    answer = client.post("/hooks/hello", json={"from": "carol", "text": "hi"},
                         headers={"Authorization": f"Bearer {HOOK_TOKEN}"})
    assert answer.status_code == 202, answer.json
    (sid,) = answer.json["signals"]
    run_jobs()
    signal = client.get(f"/api/signals/{sid}").json
    assert (signal["source"], signal["kind"], signal["actor"]) == ("hello", "greeting", "carol")
    decision = client.get(f"/api/signals/{sid}/decision").json
    assert [m["rule"] for m in decision["rulesets"]["greetings"]["matched"]] == ["greet-back"]
    assert redis.get(brain.key_plugin("hello", "greeted:carol")) == b"1"     # the plugin's action ran


@pytest.mark.without_hello
def test_sparky_say_without_the_allowlist_does_not_know_the_plugin(hello_site, env, monkeypatch):  # noqa: F811
    from router.cli.main import main

    monkeypatch.delenv("SPARKY_PLUGINS", raising=False)
    before = installed()
    try:
        said = CliRunner().invoke(main, ["say", "--as", "alice", "hello world"])
    finally:
        install(before)
    assert said.exit_code == 1 and "I don't know the command `hello`" in said.output


def test_the_sample_plugins_own_tests_pass_with_the_sparky_bot_fixture(hello_site, tmp_path):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hello_site), str(PROJECT_ROOT)])}
    environment.pop("SPARKY_PLUGINS", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(SAMPLE),
                           "--basetemp", str(tmp_path / "t"), str(SAMPLE / "tests")],
                          capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 passed" in done.stdout, done.stdout


def test_a_plugin_that_is_not_installed_stops_the_cli_with_its_name(monkeypatch):
    from router.cli.main import main

    monkeypatch.setenv("SPARKY_PLUGINS", "nope")
    before = installed()
    try:
        said = CliRunner().invoke(main, ["config"])
    finally:
        install(before)
    assert said.exit_code == 1 and "Error: SPARKY_PLUGINS names nope, but no installed package" in said.output
