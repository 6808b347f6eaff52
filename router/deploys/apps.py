"""deploy.yml's `apps:` as the deploy feature reads them, and `<app>[/<ref>] to <env>`.

    apps:
      web-api:
        repo: acme/web-api
        environments: [staging, production]
        deploy: {jenkins: {job: deploy-web-api, params: {ENV: "{env}", SHA: "{sha}"}}}
        branch: main                      # the ref deployed when none is named (else GitHub's default)
        required_contexts: [ci/jenkins]   # CI that must be green (regexes); default: every context seen
        timeout: 30m                      # no result by then: the deploy is timed out, the lock released
        room: "#deploys"                  # where news goes when the request came from a terminal
        release_steps: [...]              # `how to release`

The router/engine schema (datafiles.py) validates the file; this module only reads it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from router.core import durations

DEFAULT_TIMEOUT = 30 * 60
DEFAULT_ROOM = "#deploys"
SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class App:
    name: str
    repo: str
    environments: tuple[str, ...]
    target: dict                     # {"jenkins": {"job", "params"}} or {"github": {"environment"}}
    branch: str = ""
    room: str = ""
    timeout: float = DEFAULT_TIMEOUT
    required_contexts: tuple[str, ...] = ()
    release_steps: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return next(iter(self.target), "")


def _app(name: str, spec: dict) -> App:
    timeout = spec.get("timeout")
    return App(name=name, repo=str(spec.get("repo", "")), environments=tuple(spec.get("environments") or ()),
               target=dict(spec.get("deploy") or {}), branch=str(spec.get("branch") or ""),
               room=str(spec.get("room") or ""),
               timeout=durations.parse(timeout) if timeout else DEFAULT_TIMEOUT,
               required_contexts=tuple(spec.get("required_contexts") or ()),
               release_steps=tuple(str(s) for s in spec.get("release_steps") or ()))


def apps(data: dict) -> dict[str, App]:
    """Every app of the rules in force (`Rules.data`)."""
    return {str(name): _app(str(name), spec or {}) for name, spec in (data.get("apps") or {}).items()}


def find(data: dict, name: str) -> App | None:
    """An app by its name, or by its repo (`acme/web-api`), case-insensitively."""
    wanted = name.strip().lower()
    for app in apps(data).values():
        if wanted in (app.name.lower(), app.repo.lower()):
            return app
    return None


def deploy_jobs(data: dict) -> frozenset[str]:
    """The Jenkins jobs that deploy apps: their builds are deploy progress, not CI."""
    return frozenset(a.target["jenkins"]["job"] for a in apps(data).values() if "jenkins" in a.target)


@dataclass(frozen=True)
class Asked:
    app: str
    ref: str
    env: str


def parse(words: list[str]) -> Asked:
    """`web-api/feature/x to staging` → Asked("web-api", "feature/x", "staging"); ValueError if not."""
    if "to" not in [w.lower() for w in words]:
        raise ValueError("Say where to: `deploy <app>[/<ref>] to <env>`.")
    at = [w.lower() for w in words].index("to")
    target, env = words[:at], words[at + 1:]
    if len(target) != 1 or len(env) != 1:
        raise ValueError("Name one app (with an optional /ref) and one environment.")
    app, _, ref = target[0].partition("/")
    if not app:
        raise ValueError("Name the app first: `deploy web-api/main to staging`.")
    return Asked(app, ref.strip(), env[0].strip())


def is_sha(ref: str) -> bool:
    return bool(SHA.match(ref.lower()))
