"""Alertmanager's matchers ↔ Sparky's (router/core/am_matchers.py): the four operators, `filter=`
strings as Alertmanager 0.25 parses them, and a name that is a label on Alertmanager's side
(`severity`) staying a label on Sparky's."""
from __future__ import annotations

import pytest

from router.core import am_matchers
from router.core.matchers import Matcher, MatcherError, holds, parse_one
from router.core.signal import Signal, flat

# An Alertmanager alert whose `severity` label ("page") is not the signal's severity ("critical").
PAGE = flat(Signal(source="alertmanager", kind="alert", status="firing", severity="critical",
                   labels={"alertname": "DiskFull", "severity": "page", "instance": "db1"}).to_dict(), 0)


@pytest.mark.parametrize("flags, op", [((True, False), "="), ((False, False), "!="), ((True, True), "=~"),
                                       ((False, True), "!~")])
def test_the_four_operators_both_ways(flags, op):
    is_equal, is_regex = flags
    given = {"name": "job", "value": "api.*", "isRegex": is_regex, "isEqual": is_equal}
    matcher = am_matchers.from_api(given)
    assert matcher == Matcher("job", op, "api.*")
    assert am_matchers.to_api(matcher) == given


def test_is_equal_defaults_to_true_as_in_the_spec():
    assert am_matchers.from_api({"name": "a", "value": "b", "isRegex": False}).op == "="


def test_an_alertmanager_name_is_always_a_label():
    severity = am_matchers.from_api({"name": "severity", "value": "page", "isRegex": False})
    assert severity == Matcher("labels.severity", "=", "page")
    assert holds([severity.as_dict()], PAGE)                                  # the label, not the field
    assert not holds([Matcher("severity", "=", "page").as_dict()], PAGE)      # Sparky's own: the field
    assert am_matchers.to_api(severity)["name"] == "severity"
    # chat can write the label too, and it stays the label
    assert parse_one("labels.severity=page") == severity
    assert parse_one("labels.host=web-01") == Matcher("host", "=", "web-01")


def test_a_label_of_a_signal_fields_name_alone_is_as_broad_as_the_field():
    assert not Matcher("labels.severity", "=", "critical").constrains()
    assert Matcher("labels.alertname", "=", "DiskFull").constrains()


@pytest.mark.parametrize("text, expected", [
    ("alertname=DiskFull", Matcher("alertname", "=", "DiskFull")),
    ('alertname="DiskFull"', Matcher("alertname", "=", "DiskFull")),
    (' job =~ "api.*" ', Matcher("job", "=~", "api.*")),
    ("severity!~warn.*", Matcher("labels.severity", "!~", "warn.*")),
    ('msg="say \\"hi\\"\\n"', Matcher("msg", "=", 'say "hi"\n')),
    ("path=C:\\temp", Matcher("path", "=", "C:\\temp")),             # a spurious escape stays
    ("empty=", Matcher("empty", "=", "")),
])
def test_filters_are_read_as_alertmanager_reads_them(text, expected):
    assert am_matchers.parse_filter(text) == expected


@pytest.mark.parametrize("text, message", [
    ("==bad", "bad matcher format: ==bad"),
    ('{alertname="DiskFull"}', 'bad matcher format: {alertname="DiskFull"}'),
    ("alertname", "bad matcher format: alertname"),
    ('a="b', 'matcher value contains unescaped double quote: "b'),
    ('a=b"c', 'matcher value contains unescaped double quote: b"c'),
    ("job=~(", "bad matcher format: job=~(: bad regex"),
])
def test_a_bad_filter_is_named_in_alertmanagers_words(text, message):
    with pytest.raises(MatcherError) as refused:
        am_matchers.parse_filter(text)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize("given, field", [
    ({"value": "x", "isRegex": False}, "matchers[0].name"),
    ({"name": "bad-name", "value": "x", "isRegex": False}, "matchers[0].name"),
    ({"name": "a", "isRegex": False}, "matchers[0].value"),
    ({"name": "a", "value": "x"}, "matchers[0].isRegex"),
    ({"name": "a", "value": "x", "isRegex": "yes"}, "matchers[0].isRegex"),
    ({"name": "a", "value": "(", "isRegex": True}, "matchers[0]: bad regex"),
])
def test_a_bad_api_matcher_names_its_field(given, field):
    with pytest.raises(MatcherError) as refused:
        am_matchers.from_api(given, "matchers[0]")
    assert str(refused.value).startswith(field)


@pytest.mark.parametrize("matcher, empty", [
    (Matcher("a", "=", ""), True), (Matcher("a", "=", "x"), False), (Matcher("a", "!=", "x"), True),
    (Matcher("a", "!=", ""), False), (Matcher("a", "=~", ".*"), True), (Matcher("a", "=~", ".+"), False),
    (Matcher("a", "!~", ".+"), True), (Matcher("a", "!~", ".*"), False),
])
def test_which_matchers_match_a_missing_label(matcher, empty):
    assert am_matchers.matches_empty(matcher) is empty


def test_config_text_and_what_go_can_read():
    assert am_matchers.as_text(Matcher("labels.severity", "=~", 'a"b')) == 'severity=~"a\\"b"'
    assert am_matchers.go_compatible(Matcher("env", "=~", "prod|staging"))
    assert not am_matchers.go_compatible(Matcher("env", "=~", "(?!prod).*"))      # a lookahead
    assert not am_matchers.go_compatible(Matcher("team-name", "=", "x"))          # not a label name
