"""Any bytes, JSON or form through load + parse: a list of Signals or Refused(400/415), nothing else."""
from __future__ import annotations

import copy
import json
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.core.signal import Signal, SignalSchema
from sources import ADAPTERS, alertmanager, generic, github, jenkins, nagios, runscope, slack
from sources.common import Refused
from tests.sources.expected import API_V2, EXPECTED, VARIANTS, read

# Field names and values the adapters look for, so random bodies reach past the first checks.
WORDS = ["alerts", "labels", "annotations", "status", "startsAt", "endsAt", "fingerprint", "alertname",
         "severity", "build", "phase", "number", "full_url", "url", "name", "scm", "branch", "commit",
         "culprits", "duration", "timestamp", "repository", "full_name", "pull_request", "head", "base",
         "ref", "sha", "action", "merged", "deleted", "after", "context", "state", "branches", "check_run",
         "check_suite", "workflow_run", "conclusion", "deployment", "deployment_status", "environment",
         "sender", "login", "type", "event", "user", "id", "channel", "channel_type", "subtype", "bot_id",
         "actions", "value", "authorizations", "is_bot", "command", "channel_id", "user_id", "text",
         "event_ts", "challenge", "result", "test_id", "requests", "response_status_code", "finished_at",
         "HOSTNAME", "SERVICEDESC", "NOTIFICATIONTYPE", "SERVICESTATE", "HOSTSTATE", "SERVICESTATEID",
         "TIMET", "NAGIOS_HOSTNAME", "host_name", "kind", "source", "occurred_at"]
VALUES = ["COMPLETED", "FINALIZED", "QUEUED", "FAILURE", "SUCCESS", "firing", "resolved", "refs/heads/main",
          "refs/tags/v1", "completed", "failure", "app_mention", "message", "im", "event_callback",
          "block_actions", "url_verification", "PROBLEM", "RECOVERY", "CRITICAL", "DOWN", "fail", "pass",
          "job/a/job/b/", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "2026-03-03T14:04:39.523Z",
          "1e400", "nan", "-1", "<@U1> hi", "\ud800"]
scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
           | st.sampled_from(VALUES) | st.sampled_from([10**20, -(10**20), 1e300, float("inf")]))
keys = st.sampled_from(WORDS) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=25,
)
json_objects = st.dictionaries(keys, json_values, max_size=8)
form_dicts = st.dictionaries(keys, st.text(max_size=12) | st.sampled_from(VALUES), max_size=8)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def encoded(value) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")


bodies = st.one_of(
    st.tuples(st.binary(max_size=200), st.sampled_from([JSON, FORM, "", "text/plain"])),
    st.tuples(json_values.map(encoded), st.just(JSON)),
    st.tuples(json_objects.map(encoded), st.just(JSON)),
    st.tuples(st.lists(json_objects, max_size=3).map(encoded), st.just(JSON)),
    st.tuples(form_dicts.map(lambda d: urlencode(d, errors="surrogatepass").encode()), st.just(FORM)),
    st.tuples(json_objects.map(lambda d: urlencode({"payload": json.dumps(d)}).encode()), st.just(FORM)),
)

SCHEMA = SignalSchema()


def check(load, parse, raw: bytes, headers: dict) -> None:
    try:
        signals = parse(load(raw, headers), headers)
    except Refused as refused:
        assert refused.status in (400, 415), refused.reason
        return
    assert isinstance(signals, list)
    for signal in signals:
        assert isinstance(signal, Signal)
        SCHEMA.load(signal.to_dict())  # every signal an adapter makes is a valid signal


def headers_for(content_type: str, **more: str) -> dict:
    return {"Content-Type": content_type, **more} if content_type else dict(more)


@settings(max_examples=200, deadline=None)
@given(body=bodies)
def test_nagios_fuzz(body):
    raw, content_type = body
    check(nagios.load, nagios.parse, raw, headers_for(content_type))


@settings(max_examples=200, deadline=None)
@given(body=bodies)
def test_alertmanager_fuzz(body):
    raw, content_type = body
    check(alertmanager.load, alertmanager.parse, raw, headers_for(content_type))


@settings(max_examples=200, deadline=None)
@given(body=bodies)
def test_alertmanager_v2_fuzz(body):
    raw, content_type = body
    check(alertmanager.load_v2, alertmanager.parse_v2, raw, headers_for(content_type))


@settings(max_examples=200, deadline=None)
@given(body=bodies)
def test_jenkins_fuzz(body):
    raw, content_type = body
    check(jenkins.load, jenkins.parse, raw, headers_for(content_type))


@settings(max_examples=200, deadline=None)
@given(body=bodies, event=st.sampled_from(sorted(github.EVENTS) + ["issues", ""]) | st.text(max_size=80))
def test_github_fuzz(body, event):
    raw, content_type = body
    check(github.load, github.parse, raw, headers_for(content_type, **{"X-GitHub-Event": event}))


@settings(max_examples=200, deadline=None)
@given(body=bodies)
def test_runscope_fuzz(body):
    raw, content_type = body
    check(runscope.load, runscope.parse, raw, headers_for(content_type))


@settings(max_examples=200, deadline=None)
@given(body=bodies)
def test_generic_fuzz(body):
    raw, content_type = body
    check(generic.load, generic.parse, raw, headers_for(content_type))


@settings(max_examples=200, deadline=None)
@given(body=bodies)
def test_slack_fuzz(body):
    raw, content_type = body
    check(slack.load, slack.parse, raw, headers_for(content_type))
    try:
        slack.challenge(slack.load(raw, headers_for(content_type)))
    except Refused:
        pass


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=100), signature=st.text(max_size=80), timestamp=st.text(max_size=14))
def test_signature_checks_fuzz(raw, signature, timestamp):
    for verify in (lambda: github.verify(raw, {"X-Hub-Signature-256": signature}, "s"),
                   lambda: slack.verify(raw, {"X-Slack-Signature": signature,
                                              "X-Slack-Request-Timestamp": timestamp}, "s", now=1531420618)):
        try:
            verify()
        except Refused as refused:
            assert refused.status == 401


# Random bodies rarely get past the first required field, so also mutate real payloads: replace or
# delete a few values anywhere in a stored request and parse what is left.

def stored(source: str, v2: bool = False) -> list[tuple[object, dict]]:
    names = [n for n in {**EXPECTED, **VARIANTS, **API_V2}
             if n.startswith(source + "/") and (n in API_V2) == v2]
    load = alertmanager.load_v2 if v2 else ADAPTERS[source].load
    return [(load(raw, headers), headers) for raw, headers in map(read, sorted(names))]


@st.composite
def mutated(draw, requests: list[tuple[object, dict]]):
    payload, headers = draw(st.sampled_from(requests))
    payload = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, 4))):
        node = payload
        while isinstance(node, (dict, list)) and node:
            key = draw(st.sampled_from(sorted(node))) if isinstance(node, dict) else \
                draw(st.integers(0, len(node) - 1))
            child = node[key]
            if isinstance(child, (dict, list)) and child and draw(st.booleans()):
                node = child
                continue
            if draw(st.booleans()):
                del node[key]
            else:
                node[key] = draw(json_values)
            break
    return payload, headers


PARSERS = {
    "nagios": (nagios.parse, stored("nagios")),
    "alertmanager": (alertmanager.parse, stored("alertmanager")),
    "alertmanager_v2": (alertmanager.parse_v2, stored("alertmanager", v2=True)),
    "jenkins": (jenkins.parse, stored("jenkins")),
    "github": (github.parse, stored("github")),
    "runscope": (runscope.parse, stored("runscope")),
    "slack": (slack.parse, stored("slack")),
}


@pytest.mark.parametrize("source", sorted(PARSERS))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_stored_requests(source, data):
    parse, requests = PARSERS[source]
    payload, headers = data.draw(mutated(requests))
    check(lambda raw, _: payload, parse, b"", headers)


def test_an_end_beyond_year_9999_in_utc_is_no_end():
    # 9999-12-31T23:59:59-23:59 is 10000-01-01 in UTC: no datetime can hold it (hypothesis found it)
    alert = {"labels": {"alertname": "X"}, "startsAt": "2026-03-03T14:10:00Z", "endsAt": "9999-12-31T23:59:59-23:59"}
    signal, = alertmanager.parse_v2([alert], {"Content-Type": JSON})
    assert signal.ends_at == ""
