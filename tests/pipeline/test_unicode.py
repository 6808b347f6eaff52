"""Reception's Unicode policy, over HTTP for every endpoint: text that is not valid Unicode (a JSON
"\\ud800" escape with no pair, %-escapes that are not UTF-8) is refused with a 400 naming the field
and kept in the dead letters; nothing is stored or queued, so it can never poison an evaluation."""
from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.core import brain
from router.pipeline import intake
from sources import ADAPTERS, alertmanager
from sources.common import Refused
from tests.conftest import payload

LONE = "x\ud800y"                 # json.dumps writes it as the escape "x\ud800y", as Go and curl would
NOT_UTF8 = "%ED%A0%80"            # U+D800 as UTF-8 bytes: not UTF-8 (a surrogate may not be encoded)


def json_with(name: str, edit) -> tuple[bytes, dict]:
    raw, headers = payload(name)
    data = json.loads(raw)
    edit(data)
    return json.dumps(data).encode("ascii"), headers


def form_with(name: str, field: str, value_escaped: str) -> tuple[bytes, dict]:
    """The captured form with `field` set to an already %-escaped value."""
    raw, headers = payload(name)
    pairs = [(k, v) for k, v in parse_qsl(raw.decode(), keep_blank_values=True) if k != field]
    return (urlencode(pairs) + f"&{field}={value_escaped}").encode("ascii"), headers


def set_path(data, path: list, value):
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


def interaction_with_lone_surrogate() -> tuple[bytes, dict]:
    raw, headers = payload("slack/interactive.block_actions.form")
    inner = json.loads(dict(parse_qsl(raw.decode()))["payload"])
    inner["actions"][0]["value"] = LONE
    return urlencode({"payload": json.dumps(inner)}).encode("ascii"), headers


# endpoint, (body, headers), the field the refusal must name
CASES = {
    "nagios form": ("/hooks/nagios", lambda: form_with("nagios/slack_nagios_pl.service_problem.form",
                                                       "SERVICEOUTPUT", NOT_UTF8), "form field SERVICEOUTPUT"),
    "nagios json": ("/hooks/nagios", lambda: json_with("nagios/json.acknowledgement.json",
                                                       lambda d: set_path(d, ["HOSTNAME"], LONE)), "HOSTNAME"),
    "alertmanager webhook": ("/hooks/alertmanager", lambda: json_with(
        "alertmanager/webhook.v4.firing.json", lambda d: set_path(d, ["alerts", 0, "labels", "alertname"], LONE)),
        "alerts[0].labels.alertname"),
    "api v2 alerts": ("/api/v2/alerts", lambda: json_with(
        "alertmanager/api_v2.alerts.json", lambda d: set_path(d, [1, "labels", "alertname"], LONE)),
        "[1].labels.alertname"),
    "api v2 label name": ("/api/v2/alerts", lambda: json_with(
        "alertmanager/api_v2.alerts.json", lambda d: set_path(d, [0, "labels", LONE], "v")), "[0].labels: a name"),
    "jenkins": ("/hooks/jenkins", lambda: json_with("jenkins/notification.build143.finalized_failure.json",
                                                    lambda d: set_path(d, ["name"], LONE)), "name"),
    "github json": ("/hooks/github", lambda: json_with("github/push.default_branch.json",
                                                       lambda d: set_path(d, ["head_commit", "message"], LONE)),
                    "head_commit.message"),
    "github form": ("/hooks/github", lambda: form_with("github/pull_request.form_encoded.form", "payload",
                                                       "%7B%22action%22%3A%22x%5Cud800%22%7D"), "payload.action"),
    "runscope": ("/hooks/runscope", lambda: json_with("runscope/webhook.test_run.fail.json",
                                                      lambda d: set_path(d, ["test_name"], LONE)), "test_name"),
    "generic": ("/hooks/generic", lambda: (json.dumps({"kind": "alert", "subject": LONE}).encode(),
                                           {"Content-Type": "application/json"}), "subject"),
    "slack command": ("/slack/commands", lambda: form_with("slack/slash_command.sparky.form", "text",
                                                           "ack+" + NOT_UTF8), "form field text"),
    "slack event": ("/slack/events", lambda: json_with("slack/events.app_mention.json",
                                                       lambda d: set_path(d, ["event", "text"], "<@U06SPARKY01> " + LONE)),
                    "event.text"),
    # sources/slack.py decodes its `payload=` itself, without the "payload." prefix json_object adds
    "slack interaction": ("/slack/interactions", interaction_with_lone_surrogate, "actions[0].value"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_text_that_is_not_unicode_is_400_naming_the_field_and_dead_lettered(client, redis, case):
    path, make, field = CASES[case]
    body, headers = make()
    headers = {k: v for k, v in headers.items() if not k.lower().startswith(("x-hub-signature", "x-slack-"))}
    response = client.post(path, data=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["error"].startswith(field + ":") or answer["error"].startswith(field + " "), answer["error"]
    assert "not valid" in answer["error"]
    letter, = brain.dead_letters(redis)
    assert (letter["id"], letter["endpoint"], letter["status"]) == (answer["dead_letter"], path, 400)
    assert letter["body"] == body.decode()                    # kept whole, to be looked at or replayed
    assert intake.pending(redis) == 0 and not redis.keys(brain.key_signal("*"))


def test_a_valid_surrogate_pair_is_text_like_any_other(client, redis):
    """Python's json writes 😀 as the pair "\\ud83d\\ude00": valid, accepted, stored as 😀."""
    body = json.dumps([{"labels": {"alertname": "Smile 😀", "instance": "web-01"}}]).encode("ascii")
    assert b"\\ud83d\\ude00" in body
    response = client.post("/api/v2/alerts", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    stored = client.get(f"/api/signals/{response.get_json()['signals'][0]}").get_json()
    assert stored["labels"]["alertname"] == "Smile 😀"


def test_percent_escaped_utf8_in_a_form_is_text(client, redis):
    body, headers = form_with("slack/slash_command.sparky.form", "text", "ack+caf%C3%A9")
    assert client.post("/slack/commands", data=body, headers=headers).status_code == 200
    signal, = brain.recent_signals(redis, source="chat")
    assert signal["text"] == "ack café"


# Around the surrogate block, surrogates included (st.text leaves them out whatever its alphabet).
texts = st.lists(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010, exclude_categories=())
                 | st.characters(), max_size=6).map("".join)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(texts, min_size=1, max_size=4))
def test_no_adapter_makes_a_signal_that_cannot_be_written(values):
    """Whatever strings arrive, each adapter refuses them or makes signals that encode as UTF-8."""
    labels = {f"l{i}": v for i, v in enumerate(values)}
    bodies = [
        (alertmanager.load_v2, alertmanager.parse_v2, [{"labels": {"alertname": values[0], **labels}}]),
        (alertmanager.load, alertmanager.parse, {"alerts": [{"labels": {"alertname": values[0], **labels}}]}),
        (ADAPTERS["generic"].load, ADAPTERS["generic"].parse, {"subject": values[0], "labels": labels}),
        (ADAPTERS["nagios"].load, ADAPTERS["nagios"].parse, {"HOSTNAME": values[0], "SERVICEOUTPUT": values[-1]}),
    ]
    for load, parse, data in bodies:
        raw = json.dumps(data).encode("ascii")
        headers = {"Content-Type": "application/json"}
        try:
            signals = parse(load(raw, headers), headers)
        except Refused as refused:
            assert refused.status == 400
            continue
        for signal in signals:
            json.dumps(signal.to_dict(), ensure_ascii=False).encode("utf-8")
