"""Deploys: requests, locks, gate facts, progress."""
from __future__ import annotations

from router.core.brain.base import PREFIX, digest
from router.core.brain.shared import key_lock

# -- deploys --------------------------------------------------------------------------------------
# Written by router/deploys (requests, approvals, locks, CI/alert facts for the gates) and
# actions/deploy.py. `key_deploying(app)` above is a hash env → deploy id while deploys of the app
# run (the engine's `deploying` field only asks whether it exists).

DEPLOY_TTL = 30 * 24 * 3600          # a request record, decided or not (history for `deploys`)
DEPLOYS_CAP = 10_000                 # newest requests kept in the index
DEPLOY_FACT_TTL = 14 * 24 * 3600     # CI results per sha, branch heads
DEFAULT_BRANCH_TTL = 3600            # GitHub's default branch of a repo, cached


def key_deploy(request_id: str) -> str:
    """One deploy request (JSON): app, env, ref, sha, requester, state, approvals, target, ..."""
    return f"{PREFIX}deploy:{request_id}"


def key_deploys() -> str:
    """Sorted set of deploy request ids by creation time (capped at DEPLOYS_CAP)."""
    return f"{PREFIX}deploys"


def key_deploy_lock(app: str, env: str) -> str:
    """Held (value: the request id, with a TTL past the deploy's timeout) while an app deploys to env."""
    return key_lock(f"deploy:{app}:{env}")


def key_env_lock(env: str) -> str:
    """A person's `lock <env> [reason]` (JSON: by, reason, at), until `unlock <env>`."""
    return key_lock(f"env:{env}")


def key_env_locks() -> str:
    """Set of environments with a person's lock (for `deploys`)."""
    return f"{PREFIX}env-locks"


def key_deploy_watch(kind: str, value: str) -> str:
    """Set of request ids a fact concerns: kind `sha`, `app`, `ref` (repo@branch) for waiting
    requests, `jenkins` (job) and `github` (repo@env) for running ones."""
    return f"{PREFIX}deploy-watch:{kind}:{digest(value)}"


def key_deploy_ci(sha: str) -> str:
    """Hash per commit: CI context (GitHub status/check name, `jenkins/<job>`) → JSON {state, ...}."""
    return f"{PREFIX}deploy-ci:{sha}"


def key_deploy_head(repo: str, branch: str) -> str:
    """The last pushed sha of a branch (from GitHub push signals), for resolving refs offline."""
    return f"{PREFIX}deploy-head:{digest(repo + '@' + branch)}"


def key_default_branch(repo: str) -> str:
    return f"{PREFIX}default-branch:{digest(repo)}"


def key_deploy_progress(request_id: str) -> str:
    """Set of signal ids already applied to a running deploy (a re-run progress job is a no-op)."""
    return f"{PREFIX}deploy-progress:{request_id}"
