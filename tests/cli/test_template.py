"""`sparky template render` as a user runs it, and `rules check` compiling the Jinja templates
of rule files (file:line on a syntax error); a group's `message:` listing its alerts."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from router.cli.main import main
from tests.conftest import PAYLOADS
from tests.engine.helpers import problems_of

ALERT = {"source": "alertmanager", "kind": "alert", "status": "firing", "severity": "critical",
         "summary": "db1 is down", "labels": {"instance": "db1:9100", "team": "db"}}
PAGE = """\
{% if severity == "critical" %}:rotating_light: {% endif %}{{ summary }}
{% for name, value in labels | dictsort %}• {{ name }}={{ value }}
{% endfor %}"""


@pytest.fixture
def runner():
    return CliRunner()


def test_render_a_jinja_template_for_one_signal(runner, tmp_path):
    (tmp_path / "page.j2").write_text(PAGE)
    (tmp_path / "alert.json").write_text(json.dumps(ALERT))
    result = runner.invoke(main, ["template", "render", str(tmp_path / "page.j2"), "--signal", str(tmp_path / "alert.json")])
    assert result.exit_code == 0, result.output
    assert result.output == ":rotating_light: db1 is down\n• instance=db1:9100\n• team=db\n\n"


def test_placeholders_and_a_real_payload(runner, tmp_path):
    (tmp_path / "line.txt").write_text("{labels.host}/{labels.service} is {status}\n")
    result = runner.invoke(main, ["template", "render", str(tmp_path / "line.txt"), "--source", "nagios",
                                  "--signal", str(PAYLOADS / "nagios" / "slack_nagios_pl.service_problem.form")])
    assert result.exit_code == 0, result.output
    assert result.output == "web-01/HTTP is firing\n"


def test_a_group_message_lists_its_alerts(runner, tmp_path):
    (tmp_path / "group.j2").write_text(
        "{{ total }} alerts on {{ label }}:\n{% for a in alerts %}{{ loop.index }}. {{ a.text }}\n{% endfor %}")
    (tmp_path / "alerts.json").write_text(json.dumps([ALERT, {**ALERT, "summary": "db1 disk full", "severity": "warning"}]))
    result = runner.invoke(main, ["template", "render", str(tmp_path / "group.j2"), "--group", "--label",
                                  "instance=db1:9100", "--signal", str(tmp_path / "alerts.json")])
    assert result.exit_code == 0, result.output
    assert result.output == "2 alerts on instance=db1:9100:\n1. db1 is down\n2. db1 disk full\n\n"


def test_a_template_that_does_not_compile_exits_1_naming_the_line(runner, tmp_path):
    (tmp_path / "bad.j2").write_text("ok\n{% for a in alerts %}{{ a.text }\n")
    (tmp_path / "alert.json").write_text(json.dumps(ALERT))
    result = runner.invoke(main, ["template", "render", str(tmp_path / "bad.j2"), "--signal", str(tmp_path / "alert.json")])
    assert result.exit_code == 1
    assert "bad.j2: unexpected '}' (line 2 of the template)" in result.output


def test_rules_check_compiles_every_template():
    found = problems_of("""
        ruleset: routing
        rules:
          - name: a
            when: {kind: alert}
            then:
              - notify: {room: "#ops", template: "{% if severity == 'critical' %}:fire:{% endif %} {{ summary }}"}
              - notify: {room: "#ops", template: "{% for l in labels %}{{ l }{% endfor %}"}
              - group: {by: [labels.host], room: "#ops", message: "{% if total > 1 %}{{ total }}{% endif"}
              - group: {by: [labels.host], room: "#ops", message: "{total} on {label}", template: "{sumary}"}
          - {name: default, when: {}, then: [drop]}
    """, "routing.yml")
    assert found == [
        """rules/routing.yml:7: rule "a": action "notify": template: unexpected '}' (line 1 of the template)""",
        """rules/routing.yml:8: rule "a": action "group": template: unexpected end of template, expected """
        """'end of statement block'. (line 1 of the template)""",
        'rules/routing.yml:9: rule "a": action "group": unknown field "{sumary}" in template (did you mean "{summary}"?)',
    ]
