"""What each captured payload must become: derived from SPEC §3 and the payload, not from the adapters.

EXPECTED covers every corpus body file (tests/payloads/<source>/, inventory aside); the HTTP tests
reuse it to post the same files through the real endpoints. Format: "<source>/<file>" → one dict per
expected signal, in order, with kind, status, severity, subject, fingerprint and a subset of labels.
A Slack file that yields no signal maps to [].

VARIANTS has the same format for the payload files added here for cases the corpus lacks (all
carry valid signatures: GitHub with "It's a Secret to Everybody", Slack with the documented secret).
API_V2 is for `/api/v2/alerts` (alertmanager.parse_v2), REFUSED for bodies that must get a 4xx.

`interactive.block_actions.decoded.json` is not a request body (no headers, it is the decoded
`payload=` of interactive.block_actions.form) and is checked against the form instead.
"""
from __future__ import annotations

import json
from pathlib import Path

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"

GH_REPO = "Codertocat/Hello-World"
PR_LABELS = {"repo": GH_REPO, "pr": "2", "branch": "changes", "base": "master",
             "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "author": "Codertocat"}
JOB = "web-api-build"
ALERT_LABELS_1 = {"alertname": "HighErrorRate", "instance": "web-01:8080", "job": "web-api",
                  "service": "web-api", "severity": "critical", "team": "web"}
TEST_ID = "5d0c7c7e-3f7b-4a59-9d43-2f1c1b9e8a61"
RUNSCOPE = {"kind": "test_run", "subject": "Orders API smoke test", "fingerprint": TEST_ID,
            "labels": {"test": "Orders API smoke test", "test_id": TEST_ID, "bucket": "web-api-monitoring",
                       "bucket_key": "k7x2mq9wz3ab", "environment": "Production", "region": "us1"}}
SLASH = {"kind": "command", "status": "received", "severity": "info"}


def signal(kind, status, severity, subject, fingerprint, /, **labels) -> dict:
    return {"kind": kind, "status": status, "severity": severity, "subject": subject,
            "fingerprint": fingerprint, "labels": labels}


EXPECTED: dict[str, list[dict]] = {
    # Nagios: status from NOTIFICATIONTYPE, severity from the state carried; host checks have no service.
    "nagios/keep_curl_json.service_flappingstart.json": [
        signal("alert", "flapping", "warning", "db-01/PostgreSQL replication", "db-01/PostgreSQL replication",
               host="db-01", service="PostgreSQL replication", state="WARNING", state_type="HARD")],
    "nagios/slack_nagios_pl.host_down.form": [
        signal("alert", "firing", "critical", "web-02", "web-02",
               host="web-02", state="DOWN", state_type="HARD")],
    "nagios/slack_nagios_pl.service_problem.form": [
        signal("alert", "firing", "critical", "web-01/HTTP", "web-01/HTTP",
               host="web-01", service="HTTP", state="CRITICAL", state_type="HARD")],
    # Alertmanager: one signal per alert, its own fingerprint, labels as they are.
    "alertmanager/webhook.v4.firing.json": [
        signal("alert", "firing", "critical", "HighErrorRate web-01:8080", "3a1f9c2be4d07765",
               **ALERT_LABELS_1),
        signal("alert", "firing", "critical", "HighErrorRate web-02:8080", "b81e0d4f6a2c9357",
               **{**ALERT_LABELS_1, "instance": "web-02:8080"})],
    # Jenkins: every phase a signal; COMPLETED and FINALIZED both parse (reception drops the second).
    "jenkins/notification.build142.queued.json": [
        signal("build", "queued", "info", f"{JOB} #142", JOB, job=JOB, build="142")],
    "jenkins/notification.build142.started.json": [
        signal("build", "started", "info", f"{JOB} #142", JOB, job=JOB, build="142")],
    "jenkins/notification.build142.completed_success.json": [
        signal("build", "succeeded", "info", f"{JOB} #142", JOB, job=JOB, build="142", branch="master",
               sha="9fceb02d0ae598e95dc970b74767f19372d61af8", duration_s="187")],
    "jenkins/notification.build142.finalized_success.json": [
        signal("build", "succeeded", "info", f"{JOB} #142", JOB, job=JOB, build="142", branch="master",
               sha="9fceb02d0ae598e95dc970b74767f19372d61af8", duration_s="187")],
    "jenkins/notification.build143.finalized_failure.json": [
        signal("build", "failed", "warning", f"{JOB} #143", JOB, job=JOB, build="143", branch="master",
               sha="e5bd3914e2e596debea16f433f57875b5b90bcd6", duration_s="179")],
    # GitHub
    "github/pull_request.opened.json": [
        signal("pull_request", "opened", "info", f"{GH_REPO}#2", f"{GH_REPO}#2", **PR_LABELS)],
    "github/pull_request.closed_merged.json": [
        signal("pull_request", "merged", "info", f"{GH_REPO}#2", f"{GH_REPO}#2", **PR_LABELS)],
    "github/push.default_branch.json": [
        signal("push", "branch", "info", f"{GH_REPO}@master", f"{GH_REPO}:refs/heads/master",
               repo=GH_REPO, branch="master", sha="c4295bd74fb0f4fda03689c3df3f2803b658fd85")],
    "github/status.failure.json": [  # three branches listed: no branch label
        signal("ci", "failure", "warning", f"{GH_REPO} continuous-integration/jenkins/branch",
               f"{GH_REPO}:ci:continuous-integration/jenkins/branch", repo=GH_REPO,
               sha="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
               context="continuous-integration/jenkins/branch")],
    "github/deployment.created.json": [
        signal("deployment", "created", "info", f"{GH_REPO} to production", f"{GH_REPO}:deploy:production",
               repo=GH_REPO, env="production", sha="f95f852bd8fca8fcc58a9a2d6c842781e32a215e", ref="master")],
    "github/ping.json": [
        signal("ping", "ok", "info", "Octocoders/Hello-World", "Octocoders/Hello-World",
               repo="Octocoders/Hello-World", hook_id="109948940")],
    # Runscope
    "runscope/webhook.test_run.fail.json": [{**RUNSCOPE, "status": "failed", "severity": "warning"}],
    # Slack: only text addressed to Sparky.
    "slack/events.app_mention.json": [
        {**SLASH, "subject": "U05DEV00001 in C04OPS00001: status web-api",
         "fingerprint": "C04OPS00001/U05DEV00001",
         "labels": {"room": "C04OPS00001", "user": "U05DEV00001", "channel": "mention"}}],
    "slack/events.url_verification.json": [],
    "slack/interactive.block_actions.form": [
        {**SLASH, "subject": "dev-user-1 in ops-alerts: am:3a1f9c2be4d07765",
         "fingerprint": "C04OPS00001/U05DEV00001",
         "labels": {"room": "C04OPS00001", "room_name": "ops-alerts", "user": "U05DEV00001",
                    "user_name": "dev-user-1", "channel": "button", "action_id": "ack_alert",
                    "response_url": "https://hooks.slack.com/actions/T02ACME0000/6712345679002/"
                                    "Hq3Vb8Zk1Lm5Np7Rs2Tu4Wx6"}}],
    "slack/slash_command.sparky.form": [
        {**SLASH, "subject": "dev-user-1 in ops-alerts: ack INC-1042 looking into 5xx on web-api",
         "fingerprint": "C04OPS00001/U05DEV00001",
         "labels": {"room": "C04OPS00001", "room_name": "ops-alerts", "user": "U05DEV00001",
                    "user_name": "dev-user-1", "channel": "slash",
                    "response_url": "https://hooks.slack.com/commands/T02ACME0000/6712345678901/"
                                    "Xy7QpL2mN8vR4sT1uW9zK3aB"}}],
    "slack/signing_example.official_docs.form": [
        {**SLASH, "subject": "roadrunner in foobar", "fingerprint": "G8PSS9T3V/U2CERLKJA",
         "labels": {"room": "G8PSS9T3V", "room_name": "foobar", "user": "U2CERLKJA",
                    "user_name": "roadrunner", "channel": "slash"}}],
}

VARIANTS: dict[str, list[dict]] = {
    "nagios/env_dump.nagios_prefix.service_warning.form": [
        signal("alert", "firing", "warning", "db-02/Disk /", "db-02/Disk /",
               host="db-02", service="Disk /", state="WARNING", state_type="HARD")],
    "nagios/env_dump.nagios_prefix.service_recovery.form": [
        signal("alert", "resolved", "info", "web-01/HTTP", "web-01/HTTP",
               host="web-01", service="HTTP", state="OK")],
    "nagios/icinga_prefix.host_unreachable.form": [
        signal("alert", "firing", "warning", "sw-core-1", "sw-core-1", host="sw-core-1", state="UNREACHABLE",
               state_type="HARD")],
    "nagios/json.acknowledgement.json": [
        signal("alert", "acknowledged", "critical", "web-01/HTTP", "web-01/HTTP",
               host="web-01", service="HTTP", state="CRITICAL")],
    "alertmanager/webhook.v4.mixed.json": [
        signal("alert", "firing", "critical", "DiskFull web1.example", "542ede4b9d457926",
               alertname="DiskFull", instance="web1.example", severity="page"),
        signal("alert", "resolved", "info", "DiskFull node", "0b6c2a7f3d9e1c45",
               alertname="DiskFull", job="node", severity="info"),
        # no fingerprint in the payload: FNV-1a of the labels, worked out independently of the adapter
        signal("alert", "firing", "warning", "DiskFull db1.example", "151882187be04f26",
               alertname="DiskFull", instance="db1.example", severity="disaster")],
    "jenkins/notification.old_plugin.finished_failure.json": [
        signal("build", "failed", "warning", "legacy-deploy #57", "legacy-deploy", job="legacy-deploy",
               build="57", branch="release/2.x", sha="0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9d0")],
    "jenkins/notification.multibranch.completed_unstable.json": [  # Jenkins' own full name keeps %2F
        signal("build", "unstable", "info", "web-api/feature%2Flogin #17", "web-api/feature%2Flogin",
               job="web-api/feature%2Flogin", build="17", branch="feature/login",
               sha="1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", duration_s="95")],
    # multibranch notifications without scm.branch: the branch is the job path's last part (SPEC §3)
    "jenkins/notification.multibranch.master_started.json": [
        signal("build", "started", "info", "web-api/master #88", "web-api/master",
               job="web-api/master", build="88", branch="master")],
    "jenkins/notification.multibranch.release_completed_failure.json": [
        signal("build", "failed", "warning", "web-api/release%2F2.x #9", "web-api/release%2F2.x",
               job="web-api/release%2F2.x", build="9", branch="release/2.x", duration_s="61")],
    "github/pull_request.form_encoded.form": [
        signal("pull_request", "opened", "info", f"{GH_REPO}#2", f"{GH_REPO}#2", **PR_LABELS)],
    "github/push.tag.json": [
        signal("push", "tag", "info", f"{GH_REPO}@v1.4.2", f"{GH_REPO}:refs/tags/v1.4.2", repo=GH_REPO,
               tag="v1.4.2", sha="c4295bd74fb0f4fda03689c3df3f2803b658fd85")],
    "github/push.branch_deleted.json": [
        signal("push", "deleted", "info", f"{GH_REPO}@changes", f"{GH_REPO}:refs/heads/changes", repo=GH_REPO,
               branch="changes", sha="0" * 40)],
    "github/check_run.completed_failure.json": [
        signal("ci", "failure", "warning", f"{GH_REPO} Octocoders-linter", f"{GH_REPO}:ci:Octocoders-linter",
               repo=GH_REPO, sha="ec26c3e57ca3a959ca5aad62de7213c562f8c821", context="Octocoders-linter",
               branch="changes")],
    "github/check_run.in_progress.json": [
        signal("ci", "pending", "info", f"{GH_REPO} Octocoders-linter", f"{GH_REPO}:ci:Octocoders-linter",
               repo=GH_REPO, context="Octocoders-linter", branch="changes")],
    "github/workflow_run.completed_success.json": [
        signal("ci", "success", "info", f"{GH_REPO} CI", f"{GH_REPO}:ci:CI", repo=GH_REPO,
               sha="c4295bd74fb0f4fda03689c3df3f2803b658fd85", context="CI", branch="master")],
    # @octokit/webhooks' published example: workflow_run.name is "", the workflow is named "test"
    "github/workflow_run.completed_empty_name.json": [
        signal("ci", "success", "info", "octo-org/octo-repo test", "octo-org/octo-repo:ci:test",
               repo="octo-org/octo-repo", sha="3484a3fb816e0859fd6e1cea078d76385ff50625", context="test",
               branch="master")],
    "github/deployment_status.failure.json": [
        signal("deployment", "failure", "info", f"{GH_REPO} to production", f"{GH_REPO}:deploy:production",
               repo=GH_REPO, env="production", sha="f95f852bd8fca8fcc58a9a2d6c842781e32a215e", ref="master")],
    "github/issues.opened.json": [
        signal("issues", "opened", "info", GH_REPO, f"{GH_REPO}:issues", repo=GH_REPO)],
    "runscope/webhook.test_run.fail_numeric_code.json": [
        {**RUNSCOPE, "status": "failed", "severity": "warning"}],
    "runscope/webhook.test_run.pass.json": [{**RUNSCOPE, "status": "passed", "severity": "info"}],
    "slack/events.message.dm.json": [
        {**SLASH, "subject": "U05DEV00001 in D07DM000001: deploy web-api to staging",
         "fingerprint": "D07DM000001/U05DEV00001",
         "labels": {"room": "D07DM000001", "user": "U05DEV00001", "channel": "dm"}}],
    "slack/events.app_mention.colon.json": [
        {**SLASH, "subject": "U05DEV00002 in C04OPS00001: snooze host=web-01 for 1h because maintenance",
         "fingerprint": "C04OPS00001/U05DEV00002",
         "labels": {"room": "C04OPS00001", "user": "U05DEV00002", "channel": "mention"}}],
    "slack/slash_command.help_dm.form": [
        {**SLASH, "subject": "dev-user-2 in directmessage: help", "fingerprint": "D07DM000001/U05DEV00002",
         "labels": {"room": "D07DM000001", "room_name": "directmessage", "user": "U05DEV00002",
                    "user_name": "dev-user-2", "channel": "slash"}}],
    # Slack's check of the slash command URL's certificate (documented form: ssl_check=1&token=...)
    "slack/slash_command.ssl_check.form": [],
    "slack/events.message.channel.json": [],
    "slack/events.message.bot.json": [],
    "slack/events.message.bot_id_only.json": [],
    "slack/events.message.changed.json": [],
}

# /api/v2/alerts: resolved when endsAt is set and past, fingerprints computed from the labels.
API_V2: dict[str, list[dict]] = {
    "alertmanager/api_v2.alerts.json": [
        signal("alert", "firing", "critical", "DiskFull web1.example", "542ede4b9d457926",
               alertname="DiskFull", instance="web1.example", severity="page"),
        signal("alert", "resolved", "warning", "InstanceDown db1.example", "82dbf3be9e5f2a0e",
               alertname="InstanceDown", job="node", instance="db1.example"),
        signal("alert", "firing", "warning", "Watchdog", "003b0a0f7d3fa569", alertname="Watchdog")],
    # Alertmanager's examples/ha/send_alerts.sh way: `curl -d @alerts.json`, a JSON body sent as a form
    "alertmanager/api_v2.alerts.curl_form.json": [
        signal("alert", "firing", "warning", "DiskRunningFull example1", "8320f0af89d48747",
               alertname="DiskRunningFull", dev="sda1", instance="example1"),
        signal("alert", "firing", "warning", "DiskRunningFull example1", "e1d3beb1bb24a40c",
               alertname="DiskRunningFull", dev="sda2", instance="example1")],
}

# Bodies every endpoint must refuse: (status, words the reason contains).
REFUSED: dict[str, tuple[int, str]] = {
    "nagios/shell_template.unescaped_quote.json": (400, "invalid JSON"),
    "nagios/missing_hostname.form": (400, "HOSTNAME: missing"),
}


def read(name: str) -> tuple[bytes, dict]:
    """A stored request: (exact body bytes, headers) for tests/payloads/<name>."""
    body = PAYLOADS / name
    headers = body.with_name(body.name.rsplit(".", 1)[0] + ".headers.json")
    return body.read_bytes(), json.loads(headers.read_text()) if headers.exists() else {}


def shape(signal: dict, like: dict) -> dict:
    """The parts of `signal` that `like` (one EXPECTED entry) speaks about, for a readable diff."""
    picked = {key: signal.get(key) for key in like if key != "labels"}
    picked["labels"] = {key: signal["labels"].get(key) for key in like.get("labels", {})}
    return picked
