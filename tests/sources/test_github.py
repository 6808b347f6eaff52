"""GitHub webhooks → signals, and X-Hub-Signature-256 checks."""
from __future__ import annotations

import json

import pytest

from sources import github
from sources.common import Refused
from tests.sources.expected import EXPECTED, PAYLOADS, VARIANTS, read, shape

CASES = {name: want for name, want in {**EXPECTED, **VARIANTS}.items() if name.startswith("github/")}
SECRET = "It's a Secret to Everybody"  # GitHub's documented test secret; the corpus is signed with it
SIGNED = sorted(f"github/{p.name}" for p in PAYLOADS.glob("github/*") if not p.name.endswith(".headers.json"))


def run(name: str):
    raw, headers = read(name)
    return github.parse(github.load(raw, headers), headers)


def event(name: str, payload: dict):
    headers = {"Content-Type": "application/json", "X-GitHub-Event": name, "X-GitHub-Delivery": "d-1"}
    return github.parse(payload, headers)


@pytest.mark.parametrize("name", sorted(CASES))
def test_payload_file(name):
    signals = run(name)
    assert [shape(s.to_dict(), want) for s, want in zip(signals, CASES[name])] == CASES[name]
    assert len(signals) == len(CASES[name])


# Signatures


def test_github_doc_vector():
    body = b"Hello, World!"
    sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    github.verify(body, {"X-Hub-Signature-256": sig}, SECRET)


@pytest.mark.parametrize("name", SIGNED)
def test_every_stored_delivery_verifies(name):
    raw, headers = read(name)
    github.verify(raw, headers, SECRET)


def test_form_encoded_signature_covers_the_encoded_body():
    raw, headers = read("github/pull_request.form_encoded.form")
    github.verify(raw, headers, SECRET)
    decoded = json.dumps(github.load(raw, headers)).encode()
    with pytest.raises(Refused):
        github.verify(decoded, headers, SECRET)


@pytest.mark.parametrize("mutate, reason", [
    (lambda raw, h: (raw + b" ", h), "bad signature"),
    (lambda raw, h: (raw.replace(b'"opened"', b'"closed"'), h), "bad signature"),
    (lambda raw, h: (raw, {k: v for k, v in h.items() if k != "X-Hub-Signature-256"}),
     "missing X-Hub-Signature-256"),
    (lambda raw, h: (raw, {**h, "X-Hub-Signature-256": h["X-Hub-Signature-256"][7:]}), "malformed"),
    (lambda raw, h: (raw, {**h, "X-Hub-Signature-256": "sha256=é"}), "bad signature"),
])
def test_bad_signatures_are_401(mutate, reason):
    raw, headers = mutate(*read("github/pull_request.opened.json"))
    with pytest.raises(Refused) as caught:
        github.verify(raw, headers, SECRET)
    assert caught.value.status == 401
    assert reason in caught.value.reason


def test_wrong_secret_is_401():
    raw, headers = read("github/pull_request.opened.json")
    with pytest.raises(Refused) as caught:
        github.verify(raw, headers, "not the secret")
    assert caught.value.status == 401


def test_header_lookup_is_case_insensitive():
    raw, headers = read("github/ping.json")
    github.verify(raw, {k.lower(): v for k, v in headers.items()}, SECRET)


# Fields


def test_delivery_id_is_the_dedup_key():
    raw, headers = read("github/push.default_branch.json")
    assert run("github/push.default_branch.json")[0].dedup == headers["X-GitHub-Delivery"]


def test_pull_request_fields():
    (signal,) = run("github/pull_request.closed_merged.json")
    assert signal.source == "github"
    assert signal.actor == "Codertocat"
    assert signal.url == "https://github.com/Codertocat/Hello-World/pull/2"
    assert signal.occurred_at == "2019-05-15T15:21:18.000Z"


def test_form_encoded_equals_json():
    form = run("github/pull_request.form_encoded.form")[0].to_dict()
    plain = run("github/pull_request.opened.json")[0].to_dict()
    for volatile in ("id", "received_at"):
        form.pop(volatile), plain.pop(volatile)
    assert form == plain


def test_closed_without_merge_stays_closed():
    raw, _ = read("github/pull_request.closed_merged.json")
    payload = json.loads(raw)
    payload["pull_request"]["merged"] = False
    assert event("pull_request", payload)[0].status == "closed"


def test_status_names_branch_when_exactly_one():
    raw, _ = read("github/status.failure.json")
    payload = json.loads(raw)
    payload["branches"] = payload["branches"][:1]
    assert event("status", payload)[0].labels["branch"] == "master"


def test_status_fields():
    (signal,) = run("github/status.failure.json")
    assert signal.url == "https://jenkins.acme.example/job/Hello-World/job/master/143/display/redirect"
    assert "branch" not in signal.labels


@pytest.mark.parametrize("status, conclusion, expected, severity", [
    ("completed", "success", "success", "info"),
    ("completed", "failure", "failure", "warning"),
    ("completed", "timed_out", "failure", "warning"),
    ("completed", "startup_failure", "error", "warning"),
    ("completed", "cancelled", "cancelled", "info"),
    ("completed", "skipped", "skipped", "info"),
    ("queued", None, "pending", "info"),
    ("in_progress", None, "pending", "info"),
])
def test_check_conclusions(status, conclusion, expected, severity):
    payload = {"repository": {"full_name": "o/r"}, "check_suite": {
        "status": status, "conclusion": conclusion, "head_sha": "abc", "head_branch": "main",
        "app": {"name": "GitHub Actions"}}}
    (signal,) = event("check_suite", payload)
    assert (signal.status, signal.severity) == (expected, severity)
    assert signal.labels["context"] == "GitHub Actions"


def test_ci_fingerprint_ignores_sha_and_status():
    repo = {"full_name": "o/r"}
    red = event("status", {"repository": repo, "state": "failure", "context": "ci", "sha": "a"})
    green = event("status", {"repository": repo, "state": "success", "context": "ci", "sha": "b"})
    assert red[0].fingerprint == green[0].fingerprint == "o/r:ci:ci"


def test_push_tag_and_delete():
    (tag,) = run("github/push.tag.json")
    assert "branch" not in tag.labels
    (deleted,) = run("github/push.branch_deleted.json")
    assert deleted.summary == "branch changes deleted from Codertocat/Hello-World"


def test_workflow_run_fields():
    (signal,) = run("github/workflow_run.completed_success.json")
    assert signal.url == "https://github.com/Codertocat/Hello-World/actions/runs/30433642"


@pytest.mark.parametrize("run_name, workflow, context", [
    ("", "test", "test"),         # @octokit/webhooks' examples: the run's name is empty
    ("CI #5", "CI", "CI #5"),     # the run's own name, when it has one, wins
    (None, "deploy", "deploy"),   # no name at all
])
def test_workflow_run_context_falls_back_to_the_workflow_name(run_name, workflow, context):
    run_ = {"status": "completed", "conclusion": "failure", "head_sha": "a", "head_branch": "main"}
    if run_name is not None:
        run_["name"] = run_name
    (signal,) = event("workflow_run", {"repository": REPO, "workflow_run": run_, "workflow": {"name": workflow}})
    assert (signal.labels["context"], signal.fingerprint, signal.status) == (context, f"o/r:ci:{context}", "failure")


def test_deployment_status_url():
    (signal,) = run("github/deployment_status.failure.json")
    assert signal.url == "https://ci.acme.example/deploys/42"


def test_unknown_event_is_recorded_with_kind_event_name():
    payload = {"action": "created", "repository": {"full_name": "o/r"}, "sender": {"login": "x"}}
    (signal,) = event("star", payload)
    assert (signal.kind, signal.status, signal.actor) == ("star", "created", "x")
    (signal,) = event("meta", {})
    assert (signal.kind, signal.status, signal.fingerprint) == ("meta", "received", "meta")


def test_missing_event_header_is_400():
    raw, headers = read("github/ping.json")
    headers.pop("X-GitHub-Event")
    with pytest.raises(Refused) as caught:
        github.parse(github.load(raw, headers), headers)
    assert (caught.value.status, caught.value.reason) == (400, "X-GitHub-Event: missing")


REPO = {"full_name": "o/r"}


@pytest.mark.parametrize("name, payload, reason", [
    ("pull_request", {"action": "opened", "number": 1}, "repository.full_name: missing"),
    ("pull_request", {"action": "opened", "repository": REPO}, "pull_request: missing"),
    ("push", {"repository": REPO}, "ref: missing"),
    ("status", {"repository": REPO, "context": "ci"}, "state: missing"),
    ("check_run", {"repository": REPO, "check_run": {"status": "queued"}}, "check_run.name: missing"),
    ("workflow_run", {"repository": REPO, "workflow_run": {"name": ""}, "workflow": {"name": ""}},
     "workflow_run.name: missing (and no workflow.name)"),
    ("deployment", {"repository": REPO, "deployment": {"sha": "a"}}, "deployment.environment: missing"),
])
def test_invalid_events_are_400_naming_the_field(name, payload, reason):
    with pytest.raises(Refused) as caught:
        event(name, payload)
    assert (caught.value.status, caught.value.reason) == (400, reason)


def test_form_without_payload_is_400():
    with pytest.raises(Refused) as caught:
        github.load(b"other=1", {"Content-Type": "application/x-www-form-urlencoded"})
    assert caught.value.status == 400
