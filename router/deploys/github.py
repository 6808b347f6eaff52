"""What the deploy feature asks GitHub: a ref's commit, and a repo's default branch (cached).

GITHUB_API_URL with GITHUB_TOKEN when set, through the outbound client every system call uses
(router/core/http.py). Failures become `GitHubError` with a sentence for the chat reply; the
token never appears in it. When GitHub cannot be reached, a
branch's last pushed sha from the brain (GitHub push signals, router/deploys/facts.py) is used.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

from redis import Redis

from router.core import brain
from router.core.config import Config
from router.core.http import Client
from router.core.outcomes import Later, Permanent, Retryable

log = logging.getLogger("sparky.deploys")

TIMEOUT = 10


class GitHubError(Exception):
    """GitHub did not answer what we asked; the message is for people."""


def _get(config: Config, path: str) -> dict:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if config.github_token:
        headers["Authorization"] = f"Bearer {config.github_token}"
    try:
        with Client("GitHub", config.github_api_url, headers=headers, timeout=TIMEOUT,
                    secrets=(config.github_token,)) as github:
            # 422: "No commit found for SHA" (an unknown ref)
            response = github.request("GET", path, ok=(404, 422))
    except (Later, Retryable, Permanent) as exc:
        raise GitHubError(f"GitHub could not answer: {exc}") from None
    if response.status_code in (404, 422):
        raise LookupError(path)
    try:
        body = response.json()
    except ValueError:
        raise GitHubError(f"GitHub sent something other than JSON for {path}") from None
    if not isinstance(body, dict):
        raise GitHubError(f"GitHub sent an unexpected answer for {path}")
    return body


def resolve(conn: Redis, config: Config, repo: str, ref: str) -> str:
    """The commit sha `ref` (a branch, tag or sha) of `repo` points at now."""
    try:
        body = _get(config, f"/repos/{repo}/commits/{quote(ref, safe='')}")
    except LookupError:
        raise GitHubError(f"{repo} has no branch, tag or commit `{ref}`") from None
    except GitHubError as exc:
        known = conn.get(brain.key_deploy_head(repo, ref))
        if known:
            log.warning("%s; using the last pushed sha of %s@%s", exc, repo, ref)
            return known.decode()
        raise
    sha = body.get("sha")
    if not isinstance(sha, str) or not sha:
        raise GitHubError(f"GitHub's answer for {repo}@{ref} has no sha")
    return sha


def default_branch(conn: Redis, config: Config, repo: str) -> str:
    """The repo's default branch from the GitHub API, cached in the brain for an hour."""
    key = brain.key_default_branch(repo)
    cached = conn.get(key)
    if cached:
        return cached.decode()
    try:
        body = _get(config, f"/repos/{repo}")
    except LookupError:
        raise GitHubError(f"GitHub does not know the repo {repo} (or the token may not see it)") from None
    branch = body.get("default_branch")
    if not isinstance(branch, str) or not branch:
        raise GitHubError(f"GitHub's answer for {repo} names no default branch")
    conn.set(key, branch, ex=brain.DEFAULT_BRANCH_TTL)
    return branch
