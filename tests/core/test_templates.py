"""The one template engine: `{field}` placeholders as ever, Jinja2 in a sandbox for more."""
from __future__ import annotations

import pytest

from router.core.templates import is_jinja, render

SIGNAL = {"severity": "critical", "subject": "web-01/HTTP", "labels": {"host": "web-01"},
          "alerts": [{"subject": "web-01/HTTP"}, {"subject": "web-02/HTTP"}]}


@pytest.mark.parametrize("template, expected", [
    ("{severity}: {labels.host}", "critical: web-01"),
    ("{{literal}} {severity}", "{literal} critical"),               # `{{` text `}}` stays literal braces
    ("{labels.missing}|", "|"),                                    # a missing field is nothing
    ("{{ labels.host }} is {{ severity|upper }}", "web-01 is CRITICAL"),
    ("{% if labels.env %}env {{ labels.env }}{% else %}no env{% endif %}", "no env"),
    ("{% for a in alerts %}- {{ a.subject }}\n{% endfor %}", "- web-01/HTTP\n- web-02/HTTP\n"),
    ("{{ labels.missing.deeper }}|", "|"),                         # missing, however deep
])
def test_placeholders_and_jinja(template, expected):
    assert render(template, SIGNAL) == expected


def test_only_jinja_syntax_switches_to_jinja():
    assert not is_jinja("{severity} {{literal}}") and is_jinja("{{ severity }}") and is_jinja("{% if x %}{% endif %}")


@pytest.mark.parametrize("template", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",            # the sandbox refuses internals
    "{% for %}",                                                  # a syntax error
])
def test_a_template_that_cannot_render_says_so_in_one_line(template):
    text = render(template, SIGNAL)
    assert text.startswith("(template error: ") and "\n" not in text and "Traceback" not in text
