"""A running deploy's news: Jenkins builds and GitHub deployment statuses, and its timeout.

Progress comes back as signals through /hooks/jenkins and /hooks/github. facts.py finds the
running deploys a signal may concern (by Jenkins job, or by repo and environment) and queues
`progress_job` for each: the room hears when the build or deployment starts, and an outcome
(Jenkins SUCCESS / FAILURE / UNSTABLE / ABORTED, GitHub success / failure / error) finishes the
deploy (lifecycle.finish: lock released, room told, audited). A signal is applied once per deploy.

Which build is this deploy's: Jenkins' notifications name the job and the build number, not the
queue item the deploy created, so the first build of the deploy job seen while the deploy runs
is claimed by it (atomically: two deploys sharing one job never take the same build). Should two
deploys of one job run at once, their builds may be told apart in the wrong order; the per-env
lock makes that rare (it needs two environments deployed by one job at the same moment).

`timeout_job` is scheduled by lifecycle.start (at the app's `timeout`): a deploy
still running then is timed out and its environment unlocked.
"""
from __future__ import annotations

from redis import Redis
from rq import get_current_job

from router.core import brain
from router.core.config import Config
from router.deploys import apps, messages
from router.deploys import records as reqs
from router.deploys.lifecycle import finish, rules_in_force

JENKINS_OUTCOMES = {"succeeded": "succeeded", "failed": "failed", "unstable": "failed", "aborted": "failed"}
JENKINS_RUNNING = frozenset({"queued", "started"})
GITHUB_OUTCOMES = {"success": "succeeded", "failure": "failed", "error": "failed"}
GITHUB_RUNNING = frozenset({"queued", "pending", "in_progress"})


def progress_job(request_id: str, signal_id: str) -> str:
    """RQ job: a Jenkins build or GitHub deployment status that may be this deploy's progress."""
    conn = get_current_job().connection
    return progress(conn, Config.from_env(), request_id, brain.load_signal(conn, signal_id) or {})


def progress(conn: Redis, config: Config, request_id: str, signal: dict) -> str:
    request = reqs.get(conn, request_id)
    if request is None or request["state"] != "deploying" or not signal:
        return "not deploying"
    target, labels, status = request.get("target") or {}, signal.get("labels") or {}, signal.get("status", "")
    if target.get("type") == "jenkins" and signal.get("kind") == "build":
        if labels.get("job") != target.get("job") or not _claim_build(conn, request, labels.get("build", "")):
            return "another deploy's build"
        outcome, running = JENKINS_OUTCOMES.get(status), status in JENKINS_RUNNING
        what = f"Jenkins {labels.get('job')} #{labels.get('build', '?')}"
    elif target.get("type") == "github" and signal.get("kind") == "deployment":
        if labels.get("sha") and labels["sha"] != request["sha"]:
            return "another deploy's status"
        outcome, running = GITHUB_OUTCOMES.get(status), status in GITHUB_RUNNING
        what = f"GitHub deployment to {labels.get('env', '')}"
    else:
        return "not this deploy's kind of progress"
    if not conn.sadd(brain.key_deploy_progress(request_id), signal["id"]):
        return "seen before"
    conn.expire(brain.key_deploy_progress(request_id), brain.DEPLOY_TTL)
    if outcome:
        return finish(conn, config, request_id, outcome, f"{what} {status}", url=signal.get("url", ""))
    if running and status in ("started", "in_progress"):
        app = apps.find(rules_in_force(conn, config).data, request["app"])
        messages.post(conn, request, "running", f"{messages.head(request)}: {what} {status.replace('_', ' ')}.",
                      emoji=":gear:", url=signal.get("url", ""), app_room=app.room if app else "")
        return f"{what} {status}"
    return f"{what} {status}: noted"


def _claim_build(conn: Redis, request: dict, build: str) -> bool:
    """Is this build number this deploy's? The first build of the job seen while it deploys is
    (claimed atomically, so two deploys sharing a job do not take the same build)."""
    mine = (request.get("target") or {}).get("build")
    if mine:
        return mine == build
    if not build:
        return False
    claim = brain.key_lock(f"deploy-build:{request['target']['job']}:{build}")
    if not conn.set(claim, request["id"], nx=True, ex=brain.DEPLOY_TTL):
        return conn.get(claim) == request["id"].encode()

    def take(r: dict) -> None:
        r["target"]["build"] = build

    reqs.update(conn, request["id"], take)
    return True
