"""Nagios / Icinga notifications → alert signals."""
from __future__ import annotations

import json

import pytest

from sources import nagios
from sources.common import Refused
from tests.sources.expected import EXPECTED, REFUSED, VARIANTS, read, shape

CASES = {name: want for name, want in {**EXPECTED, **VARIANTS}.items() if name.startswith("nagios/")}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


def run(name: str):
    raw, headers = read(name)
    return nagios.parse(nagios.load(raw, headers), headers)


@pytest.mark.parametrize("name", sorted(CASES))
def test_payload_file(name):
    signals = run(name)
    assert [shape(s.to_dict(), want) for s, want in zip(signals, CASES[name])] == CASES[name]
    assert len(signals) == len(CASES[name])


@pytest.mark.parametrize("name", sorted(n for n in REFUSED if n.startswith("nagios/")))
def test_refused_file(name):
    status, words = REFUSED[name]
    with pytest.raises(Refused) as caught:
        run(name)
    assert caught.value.status == status
    assert words in caught.value.reason


def test_unescaped_quote_in_shell_template_json_is_400_invalid_json():
    raw, headers = read("nagios/shell_template.unescaped_quote.json")
    with pytest.raises(Refused) as caught:
        nagios.load(raw, headers)
    assert caught.value.status == 400
    assert caught.value.reason.startswith("invalid JSON")


def test_service_problem_fields():
    (signal,) = run("nagios/slack_nagios_pl.service_problem.form")
    assert signal.source == "nagios"
    assert signal.summary == "CRITICAL web-01/HTTP: CRITICAL - Socket timeout after 10 seconds"
    assert signal.occurred_at == "2026-03-03T14:05:09.000Z"  # TIMET 1772546709, not LONGDATETIME
    # SERVICENOTIFICATIONID with the object, type, state, TIMET and the Nagios process start time
    assert json.loads(signal.dedup) == ["48811", "web-01", "HTTP", "PROBLEM", "CRITICAL", "1772546709",
                                        "1772451203"]
    assert signal.labels["address"] == "10.20.30.41"


def test_host_check_down_has_no_service_label():
    (signal,) = run("nagios/slack_nagios_pl.host_down.form")
    assert "service" not in signal.labels
    assert signal.severity == "critical"
    assert json.loads(signal.dedup)[:6] == ["48817", "web-02", "", "PROBLEM", "DOWN", "1772546992"]  # HOSTNOTIFICATIONID
    assert signal.summary == "DOWN web-02: CRITICAL - Host Unreachable (10.20.30.42)"


def test_keep_template_aliases_and_long_output():
    (signal,) = run("nagios/keep_curl_json.service_flappingstart.json")
    assert signal.occurred_at == "2026-03-03T14:15:10.000Z"  # "timestamp" is TIMET
    assert signal.text == "replica db-02: replay lag 41s\nreplica db-03: replay lag 3s"
    assert signal.dedup == ""


def test_nagios_prefix_literal_newlines_become_newlines():
    (signal,) = run("nagios/env_dump.nagios_prefix.service_warning.form")
    assert signal.text == "/ 1822 MB (8%)\n/var 5120 MB (21%)"
    assert json.loads(signal.dedup) == ["48900", "db-02", "Disk /", "PROBLEM", "WARNING", "1772547400", ""]


def test_recovery_is_info_whatever_state_is_carried():
    payload = {"NOTIFICATIONTYPE": "RECOVERY", "HOSTNAME": "web-01", "SERVICEDESC": "HTTP",
               "SERVICESTATE": "CRITICAL"}  # a confused sender: RECOVERY still means resolved, info
    (signal,) = nagios.parse(payload, FORM)
    assert (signal.status, signal.severity) == ("resolved", "info")


def test_recovery_summary_names_the_type():
    (signal,) = run("nagios/env_dump.nagios_prefix.service_recovery.form")
    assert signal.summary.startswith("RECOVERY OK web-01/HTTP: HTTP OK")


def test_acknowledgement_keeps_severity_and_names_author():
    (signal,) = run("nagios/json.acknowledgement.json")
    assert signal.actor == "alice"


@pytest.mark.parametrize("ntype, state, status", [
    ("FLAPPINGSTOP", "OK", "resolved"),
    ("FLAPPINGSTOP", "CRITICAL", "firing"),
    ("FLAPPINGDISABLED", "WARNING", "firing"),
    ("CUSTOM", "OK", "resolved"),
    ("DOWNTIMESTART", "OK", "downtime"),
    ("DOWNTIMEEND", "OK", "downtime_end"),
    ("DOWNTIMECANCELLED", "CRITICAL", "downtime_end"),
    ("", "CRITICAL", "firing"),
])
def test_status_table(ntype, state, status):
    payload = {"NOTIFICATIONTYPE": ntype, "HOSTNAME": "h", "SERVICEDESC": "s", "SERVICESTATE": state}
    assert nagios.parse(payload, FORM)[0].status == status


@pytest.mark.parametrize("state, severity", [
    ("CRITICAL", "critical"), ("WARNING", "warning"), ("UNKNOWN", "warning"), ("OK", "info"),
])
def test_service_severity_table(state, severity):
    payload = {"NOTIFICATIONTYPE": "PROBLEM", "HOSTNAME": "h", "SERVICEDESC": "s", "SERVICESTATE": state}
    assert nagios.parse(payload, FORM)[0].severity == severity


@pytest.mark.parametrize("state, severity", [
    ("DOWN", "critical"), ("UNREACHABLE", "warning"), ("UP", "info"),
])
def test_host_severity_uses_hoststate(state, severity):
    payload = {"NOTIFICATIONTYPE": "PROBLEM", "HOSTNAME": "h", "HOSTSTATE": state, "SERVICESTATE": "OK"}
    assert nagios.parse(payload, FORM)[0].severity == severity


def test_state_id_when_no_state_name():
    payload = {"NOTIFICATIONTYPE": "PROBLEM", "HOSTNAME": "h", "SERVICEDESC": "s", "SERVICESTATEID": "2.0"}
    (signal,) = nagios.parse(payload, FORM)
    assert (signal.severity, signal.labels["state"]) == ("critical", "CRITICAL")


def test_fingerprint_does_not_depend_on_status():
    problem = nagios.parse({"NOTIFICATIONTYPE": "PROBLEM", "HOSTNAME": "h", "SERVICEDESC": "s",
                            "SERVICESTATE": "CRITICAL"}, FORM)[0]
    recovery = nagios.parse({"NOTIFICATIONTYPE": "RECOVERY", "HOSTNAME": "h", "SERVICEDESC": "s",
                             "SERVICESTATE": "OK"}, FORM)[0]
    assert problem.fingerprint == recovery.fingerprint == "h/s"


@pytest.mark.parametrize("payload", [
    {"NOTIFICATIONTYPE": "PROBLEM", "SERVICEDESC": "HTTP"},
    {"HOSTNAME": "", "SERVICEDESC": "HTTP"},
    {"NAGIOS_HOSTNAME": ["not", "a", "string"]},
])
def test_missing_hostname_is_400(payload):
    with pytest.raises(Refused) as caught:
        nagios.parse(payload, JSON)
    assert (caught.value.status, caught.value.reason) == (400, "HOSTNAME: missing")


def test_numbers_in_json_are_read_as_strings():
    (signal,) = nagios.parse({"HOSTNAME": "h", "HOSTSTATEID": 1, "TIMET": 1772546992}, JSON)
    assert signal.labels["state"] == "DOWN"
    assert signal.occurred_at == "2026-03-03T14:09:52.000Z"


def test_garbage_timet_is_ignored():
    (signal,) = nagios.parse({"HOSTNAME": "h", "TIMET": "Tue Mar 3"}, FORM)
    assert signal.occurred_at == signal.received_at


@pytest.mark.parametrize("content_type", ["text/xml", "application/octet-stream"])
def test_other_content_types_are_415(content_type):
    with pytest.raises(Refused) as caught:
        nagios.load(b"HOSTNAME=h", {"Content-Type": content_type})
    assert caught.value.status == 415


def test_json_list_is_400():
    with pytest.raises(Refused) as caught:
        nagios.load(b'[{"HOSTNAME": "h"}]', JSON)
    assert caught.value.status == 400


def test_no_content_type_sniffs_json_or_form():
    assert nagios.load(b'{"HOSTNAME": "h"}', {}) == {"HOSTNAME": "h"}
    assert nagios.load(b"HOSTNAME=h", {}) == {"HOSTNAME": "h"}


# Delivery key: one notification of one object, never the notification id alone.

def key(**macros) -> str:
    base = {"NOTIFICATIONTYPE": "PROBLEM", "HOSTNAME": "web-01", "SERVICEDESC": "HTTP",
            "SERVICESTATE": "CRITICAL", "SERVICENOTIFICATIONID": "7", "TIMET": "1772546709"}
    return nagios.parse({k: v for k, v in {**base, **macros}.items() if v is not None}, FORM)[0].dedup


@pytest.mark.parametrize("change", [
    {"HOSTNAME": "db-01"},                                   # another server's notification 7
    {"SERVICEDESC": "Disk /"},
    {"NOTIFICATIONTYPE": "RECOVERY", "SERVICESTATE": "OK"},  # counter restarted: 7 again
    {"SERVICESTATE": "WARNING"},
    {"TIMET": "1772550309"},                                 # the same problem an hour later
    {"PROCESSSTARTTIME": "1772550000"},
])
def test_same_notification_id_for_another_notification_is_another_key(change):
    assert key(**change) != key()


def test_same_notification_posted_again_has_the_same_key():
    assert key() == key() != ""
    assert key(CONTACTNAME="alice") == key(CONTACTNAME="bob")  # one post per contact: one notification


def test_without_timet_the_long_date_time_tells_notifications_apart():
    first = key(TIMET=None, LONGDATETIME="Tue Mar 3 14:05:09 UTC 2026")
    assert first != key(TIMET=None, LONGDATETIME="Tue Mar 3 15:05:09 UTC 2026")


def test_no_notification_id_no_delivery_key():
    assert key(SERVICENOTIFICATIONID=None) == ""
