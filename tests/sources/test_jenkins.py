"""Jenkins Notification plugin → build signals."""
from __future__ import annotations

import json

import pytest

from sources import jenkins
from sources.common import Refused
from tests.sources.expected import EXPECTED, VARIANTS, read, shape

CASES = {name: want for name, want in {**EXPECTED, **VARIANTS}.items() if name.startswith("jenkins/")}
JSON = {"Content-Type": "application/json;charset=UTF-8"}
BUILD_142 = "https://jenkins.acme.example/job/web-api-build/142/"


def run(name: str):
    raw, headers = read(name)
    return jenkins.parse(jenkins.load(raw, headers), headers)


@pytest.mark.parametrize("name", sorted(CASES))
def test_payload_file(name):
    signals = run(name)
    assert [shape(s.to_dict(), want) for s, want in zip(signals, CASES[name])] == CASES[name]
    assert len(signals) == len(CASES[name])


def test_delivery_keys_make_completed_and_finalized_one_outcome():
    keys = {phase: run(f"jenkins/notification.build142.{phase}.json")[0].dedup
            for phase in ("queued", "started", "completed_success", "finalized_success")}
    assert keys == {"queued": f"{BUILD_142}:QUEUED", "started": f"{BUILD_142}:STARTED",
                    "completed_success": f"{BUILD_142}:outcome", "finalized_success": f"{BUILD_142}:outcome"}


def test_old_finished_shares_the_outcome_key():
    (signal,) = run("jenkins/notification.old_plugin.finished_failure.json")
    assert signal.dedup == "http://jenkins.acme.example:8080/job/legacy-deploy/57/:outcome"
    assert "duration_s" not in signal.labels  # old plugin sends no duration
    assert signal.occurred_at == signal.received_at  # nor a timestamp


def test_queued_has_no_status_and_no_outcome_labels():
    raw, headers = read("jenkins/notification.build142.queued.json")
    assert "status" not in json.loads(raw)["build"]
    (signal,) = jenkins.parse(jenkins.load(raw, headers), headers)
    assert signal.status == "queued"
    assert not {"branch", "sha", "duration_s"} & set(signal.labels)


def test_failure_fields():
    (signal,) = run("jenkins/notification.build143.finalized_failure.json")
    assert signal.source == "jenkins"
    assert signal.url == "https://jenkins.acme.example/job/web-api-build/143/"
    assert signal.occurred_at == "2026-03-03T14:02:13.004Z"  # build.timestamp is milliseconds
    assert signal.actor == "dev-user-1"
    assert signal.text.startswith("[INFO] BUILD FAILURE")


def test_multibranch_job_path_comes_from_url_not_name():
    (signal,) = run("jenkins/notification.multibranch.master_started.json")
    assert signal.labels["job"] == "web-api/master"
    assert signal.dedup == "https://jenkins.acme.example/job/web-api/job/master/88/:STARTED"


@pytest.mark.parametrize("url, scm, branch", [
    ("job/web-api/job/master/", {}, "master"),                          # multibranch, no scm.branch
    ("job/web-api/job/feature%252Fx/", {}, "feature/x"),
    ("job/web-api/job/master/", {"branch": "origin/hotfix"}, "hotfix"),  # the plugin's own wins
    ("job/web-api-build/", {}, None),                                    # top-level freestyle: none
])
def test_branch_from_the_job_path_when_the_plugin_sends_none(url, scm, branch):
    body = {"url": url, "build": {"phase": "COMPLETED", "status": "SUCCESS", "number": 4, "scm": scm}}
    assert jenkins.parse(body, JSON)[0].labels.get("branch") == branch


@pytest.mark.parametrize("url, path", [
    ("job/web-api-build/", "web-api-build"),
    ("job/web-api/job/master/", "web-api/master"),
    ("job/team/job/web-api/job/feature%252Fx/", "team/web-api/feature%2Fx"),
    ("https://ci.acme.example/jenkins/job/a/job/b/12/", "a/b"),
    ("", ""),
])
def test_job_path(url, path):
    assert jenkins.job_path(url) == path


def test_job_path_falls_back_to_full_url_then_name():
    build = {"phase": "STARTED", "number": 3, "full_url": "https://ci/job/folder/job/x/3/"}
    assert jenkins.parse({"build": build}, JSON)[0].labels["job"] == "folder/x"
    (signal,) = jenkins.parse({"name": "x", "build": {"phase": "STARTED", "number": 3}}, JSON)
    assert signal.labels["job"] == "x"


@pytest.mark.parametrize("status, outcome, severity", [
    ("SUCCESS", "succeeded", "info"), ("FAILURE", "failed", "warning"), ("UNSTABLE", "unstable", "info"),
    ("ABORTED", "aborted", "info"), ("NOT_BUILT", "aborted", "info"),
])
def test_status_table(status, outcome, severity):
    body = {"name": "j", "build": {"phase": "COMPLETED", "status": status, "number": 1}}
    (signal,) = jenkins.parse(body, JSON)
    assert (signal.status, signal.severity) == (outcome, severity)


@pytest.mark.parametrize("body, reason", [
    ({"name": "j"}, "build: missing"),
    ({"name": "j", "build": {"number": 1}}, "build.phase: missing"),
    ({"name": "j", "build": {"number": 1, "phase": "EXPLODED"}}, "build.phase: unknown 'EXPLODED'"),
    ({"name": "j", "build": {"number": 1, "phase": "COMPLETED"}}, "build.status: missing"),
    ({"name": "j", "build": {"number": 1, "phase": "COMPLETED", "status": "MEH"}},
     "build.status: unknown 'MEH'"),
    ({"name": "j", "build": {"phase": "STARTED"}}, "build.number: missing"),
    ({"build": {"phase": "STARTED", "number": 1}}, "name: missing"),
])
def test_invalid_notifications_are_400_naming_the_field(body, reason):
    with pytest.raises(Refused) as caught:
        jenkins.parse(body, JSON)
    assert (caught.value.status, caught.value.reason) == (400, reason)


def test_xml_format_is_415():
    with pytest.raises(Refused) as caught:
        jenkins.load(b"<build/>", {"Content-Type": "application/xml"})
    assert caught.value.status == 415
