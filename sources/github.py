"""GitHub webhooks (JSON or form-encoded `payload=`) → one signal per delivery.

The event type travels only in `X-GitHub-Event`; the delivery key is `X-GitHub-Delivery`. The
signature (`X-Hub-Signature-256`) covers the raw body as sent, so `verify` runs on the encoded bytes
before `load` decodes anything.

Choices where SPEC is silent:
- Fingerprints: pull request `owner/name#N`; push `owner/name:<full ref>`; CI `owner/name:ci:<context>`
  (not the sha, so the next commit's green resolves the last red); deployment
  `owner/name:deploy:<env>`; ping `owner/name`; other events `owner/name:<event>`.
- Subjects: push `owner/name@<branch or tag>`, CI `owner/name <context>`, deployment
  `owner/name to <env>`, ping and other events the repo.
- Check conclusions pass through as GitHub writes them, except `timed_out` → `failure` and
  `startup_failure` → `error` (so severity and rules treat them as the failures they are);
  unfinished checks (queued, in_progress, ...) → `pending`. Unknown status states pass through.
- check_suite's context is its app's name; workflow_run's is the run's name, else (GitHub sends
  it empty) the workflow's. CI `branch` is set when exactly one is named.
- deployment_status severity stays `info` (SPEC: only CI failure/error warn).
- actor: the sender's login (for push, the pusher's name when there is no sender).
- repository.full_name is required for every event but ping and unknown events.
"""
from __future__ import annotations

from typing import Callable, Mapping

from router.core.signal import Signal
from sources.common import (
    Refused,
    first_line,
    header,
    hmac_sha256_hex,
    json_object,
    obj,
    require,
    same,
    seq,
    string,
    time_iso,
)

NAME = "github"
AUTH = "github"
BODIES = ("application/json", "application/x-www-form-urlencoded")   # payload=<json> in a form too

SIGNATURE_HEADER = "X-Hub-Signature-256"

REF_KINDS = {"refs/heads/": "branch", "refs/tags/": "tag"}

CI_STATE = {"success": "success", "failure": "failure", "error": "error", "pending": "pending"}

# check_run / check_suite / workflow_run `conclusion` once `status` is completed.
CHECK_CONCLUSION = {
    "success": "success",
    "failure": "failure",
    "timed_out": "failure",
    "startup_failure": "error",
    "cancelled": "cancelled",
    "neutral": "neutral",
    "skipped": "skipped",
    "stale": "stale",
    "action_required": "action_required",
}

CI_SEVERITY = {"failure": "warning", "error": "warning"}


def verify(raw: bytes, headers: Mapping[str, str], secret: str) -> None:
    """Refuse (401) unless X-Hub-Signature-256 is the HMAC-SHA256 of the raw body with `secret`."""
    given = header(headers, SIGNATURE_HEADER)
    if not given:
        raise Refused(401, f"missing {SIGNATURE_HEADER}")
    if not given.startswith("sha256="):
        raise Refused(401, f"malformed {SIGNATURE_HEADER}: expected sha256=<hex>")
    if not same(given, "sha256=" + hmac_sha256_hex(secret, raw)):
        raise Refused(401, f"bad signature: {SIGNATURE_HEADER} does not match the body")


def load(raw: bytes, headers: Mapping[str, str]) -> dict:
    """Decode a JSON body, or a form body's `payload` field."""
    return json_object(raw, headers, allow_form_payload=True)


def parse(payload: object, headers: Mapping[str, str]) -> list[Signal]:
    """One signal for one delivery, shaped by the event named in X-GitHub-Event."""
    if not isinstance(payload, dict):
        raise Refused(400, f"expected a JSON object, got {type(payload).__name__}")
    event = require(header(headers, "X-GitHub-Event").strip(), "X-GitHub-Event")
    handler = EVENTS.get(event, _other)
    fields = handler(payload, event)
    # kind and status are vendor words here (event names, actions, states): keep them within the
    # 64 characters SignalSchema allows, so a stored signal always reads back.
    fields["kind"], fields["status"] = fields["kind"][:64], fields["status"][:64]
    labels = {"repo": string(payload, "repository", "full_name"), **fields.pop("labels")}
    return [Signal(
        source=NAME,
        labels={k: v for k, v in labels.items() if v},
        actor=string(payload, "sender", "login") or string(payload, "pusher", "name"),
        dedup=header(headers, "X-GitHub-Delivery"),
        **fields,
    )]


def _repo(payload: dict) -> str:
    return require(string(payload, "repository", "full_name"), "repository.full_name")


def _pull_request(payload: dict, event: str) -> dict:
    repo = _repo(payload)
    pr = obj(payload, "pull_request")
    if not pr:
        raise Refused(400, "pull_request: missing")
    number = require(string(payload, "number") or string(pr, "number"), "number")
    action = require(string(payload, "action"), "action")
    status = "merged" if action == "closed" and pr.get("merged") is True else action
    subject = f"{repo}#{number}"
    return dict(
        kind="pull_request", status=status, severity="info", subject=subject, fingerprint=subject,
        labels={"pr": number, "branch": string(pr, "head", "ref"), "base": string(pr, "base", "ref"),
                "sha": string(pr, "head", "sha"), "author": string(pr, "user", "login")},
        summary=first_line(f"PR {subject} {status}: {string(pr, 'title')}"),
        text=string(pr, "body"), url=string(pr, "html_url"),
        occurred_at=time_iso(string(pr, "updated_at")),
    )


def _push(payload: dict, event: str) -> dict:
    repo = _repo(payload)
    ref = require(string(payload, "ref"), "ref")
    kind, name = "branch", ref
    for prefix, ref_kind in REF_KINDS.items():
        if ref.startswith(prefix):
            kind, name = ref_kind, ref[len(prefix):]
            break
    status = "deleted" if payload.get("deleted") is True else kind
    commits = len(seq(payload, "commits"))
    head = obj(payload, "head_commit")
    message = string(head, "message")
    if status == "deleted":
        summary = f"{kind} {name} deleted from {repo}"
    else:
        summary = f"{commits} commit(s) pushed to {repo}@{name}" + (f": {message}" if message else "")
    return dict(
        kind="push", status=status, severity="info", subject=f"{repo}@{name}", fingerprint=f"{repo}:{ref}",
        labels={kind: name, "sha": string(payload, "after")},
        summary=first_line(summary),
        text=string(head, "message"), url=string(payload, "compare"),
        occurred_at=time_iso(string(head, "timestamp")),
    )


def _ci(repo: str, status: str, context: str, sha: str, branch: str, url: str, description: str,
        when: str) -> dict:
    return dict(
        kind="ci", status=status, severity=CI_SEVERITY.get(status, "info"), subject=f"{repo} {context}",
        fingerprint=f"{repo}:ci:{context}",
        labels={"sha": sha, "context": context, "branch": branch},
        summary=first_line(f"{context} {status} on {repo}@{sha[:7]}"
                           + (f": {description}" if description else "")),
        text=description, url=url, occurred_at=time_iso(when),
    )


def _status(payload: dict, event: str) -> dict:
    state = require(string(payload, "state"), "state")
    branches = [b for b in seq(payload, "branches") if isinstance(b, dict)]
    return _ci(_repo(payload), CI_STATE.get(state, state), require(string(payload, "context"), "context"),
               string(payload, "sha"), string(branches[0], "name") if len(branches) == 1 else "",
               string(payload, "target_url"), string(payload, "description"), string(payload, "updated_at"))


def _check_status(run: dict) -> str:
    if string(run, "status") != "completed":
        return "pending"
    conclusion = string(run, "conclusion")
    return CHECK_CONCLUSION.get(conclusion, conclusion or "pending")


def _check_run(payload: dict, event: str) -> dict:
    run = obj(payload, "check_run")
    if not run:
        raise Refused(400, "check_run: missing")
    return _ci(_repo(payload), _check_status(run), require(string(run, "name"), "check_run.name"),
               string(run, "head_sha"), string(run, "check_suite", "head_branch"), string(run, "html_url"),
               string(run, "output", "title"), string(run, "completed_at") or string(run, "started_at"))


def _check_suite(payload: dict, event: str) -> dict:
    suite = obj(payload, "check_suite")
    if not suite:
        raise Refused(400, "check_suite: missing")
    context = string(suite, "app", "name") or string(suite, "app", "slug") or "check_suite"
    return _ci(_repo(payload), _check_status(suite), context, string(suite, "head_sha"),
               string(suite, "head_branch"), "", "", string(suite, "updated_at"))


def _workflow_run(payload: dict, event: str) -> dict:
    run = obj(payload, "workflow_run")
    if not run:
        raise Refused(400, "workflow_run: missing")
    # GitHub may send an empty run name (as in @octokit/webhooks' published examples): the
    # workflow's own name is the same context then.
    name = string(run, "name") or string(payload, "workflow", "name")
    if not name:
        raise Refused(400, "workflow_run.name: missing (and no workflow.name)")
    return _ci(_repo(payload), _check_status(run), name,
               string(run, "head_sha"), string(run, "head_branch"), string(run, "html_url"),
               string(run, "display_title"), string(run, "updated_at"))


def _deployment_fields(payload: dict, status: str, url: str, description: str, when: str) -> dict:
    repo = _repo(payload)
    deployment = obj(payload, "deployment")
    env = string(payload, "deployment_status", "environment") or string(deployment, "environment")
    env = require(env, "deployment.environment")
    return dict(
        kind="deployment", status=status, severity="info", subject=f"{repo} to {env}",
        fingerprint=f"{repo}:deploy:{env}",
        labels={"env": env, "sha": string(deployment, "sha"), "ref": string(deployment, "ref")},
        summary=first_line(f"deploy of {repo}@{string(deployment, 'ref')} to {env} {status}"
                           + (f": {description}" if description else "")),
        text=description, url=url, occurred_at=time_iso(when),
    )


def _deployment(payload: dict, event: str) -> dict:
    deployment = obj(payload, "deployment")
    if not deployment:
        raise Refused(400, "deployment: missing")
    return _deployment_fields(payload, "created", string(deployment, "url"),
                              string(deployment, "description"), string(deployment, "created_at"))


def _deployment_status(payload: dict, event: str) -> dict:
    state = obj(payload, "deployment_status")
    if not state:
        raise Refused(400, "deployment_status: missing")
    url = string(state, "target_url") or string(state, "log_url") or string(state, "environment_url")
    return _deployment_fields(payload, require(string(state, "state"), "deployment_status.state"), url,
                              string(state, "description"), string(state, "created_at"))


def _ping(payload: dict, event: str) -> dict:
    repo = string(payload, "repository", "full_name")
    hook = string(payload, "hook_id")
    name = repo or f"hook {hook}".strip()
    return dict(
        kind="ping", status="ok", severity="info", subject=name, fingerprint=name,
        labels={"hook_id": hook}, summary=first_line(f"ping from {name}: {string(payload, 'zen')}"),
        text="", url=string(payload, "repository", "html_url"), occurred_at="",
    )


def _other(payload: dict, event: str) -> dict:
    repo = string(payload, "repository", "full_name")
    action = string(payload, "action") or "received"
    return dict(
        kind=event, status=action, severity="info", subject=repo or event,
        fingerprint=f"{repo}:{event}" if repo else event, labels={},
        summary=first_line(f"GitHub {event} {action}" + (f" on {repo}" if repo else "")),
        text="", url=string(payload, "repository", "html_url"), occurred_at="",
    )


EVENTS: dict[str, Callable[[dict, str], dict]] = {
    "pull_request": _pull_request,
    "push": _push,
    "status": _status,
    "check_run": _check_run,
    "check_suite": _check_suite,
    "workflow_run": _workflow_run,
    "deployment": _deployment,
    "deployment_status": _deployment_status,
    "ping": _ping,
}
