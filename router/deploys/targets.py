"""Starting a deploy: Jenkins' remote build API or a GitHub deployment, per app (deploy.yml).

    deploy: {jenkins: {job: deploy-web-api, params: {ENV: "{env}", SHA: "{sha}"}}}
    deploy: {github: {environment: "{env}"}}

Placeholders: {app} {repo} {env} {ref} {sha} {short_sha} {id} {requester}.

Jenkins: `GET /crumbIssuer/api/json` for the CSRF crumb (none when CSRF protection is off: 404),
then `POST /job/<a>/job/<b>/buildWithParameters` with the parameters form-encoded, basic auth
JENKINS_USER / JENKINS_TOKEN, in one `requests.Session` (a crumb is tied to its session cookie).
Jenkins answers 201 with the queue item in `Location`. GitHub: `POST /repos/{owner}/{repo}/deployments`
with the sha, `auto_merge: false` and no `required_contexts` (Sparky's gates did that job); the
deploying system answers with deployment statuses through /hooks/github.

One attempt: a deploy that cannot be started fails at once and says why in the room (a person is
waiting for it), rather than retrying behind their back. Reasons never contain a secret.
"""
from __future__ import annotations

from urllib.parse import quote

import requests

from router.core.config import Config
from router.core.secrets import redact
from router.core.templates import placeholders, render

TIMEOUT = 15
FIELDS = ("app", "repo", "env", "ref", "sha", "short_sha", "id", "requester")


class TargetError(Exception):
    """The deploy could not be started; the message is for the room."""


def fields(request: dict) -> dict:
    return {"app": request["app"], "repo": request["repo"], "env": request["env"], "ref": request["ref"],
            "sha": request["sha"], "short_sha": request["sha"][:7], "id": request["id"],
            "requester": request["requester"]}


def _fill(template: str, request: dict) -> str:
    unknown = [p for p in placeholders(template) if p not in FIELDS]
    if unknown:
        raise TargetError(f'deploy.yml: unknown placeholder "{{{unknown[0]}}}" in "{template}" '
                          f"(known: {', '.join('{' + f + '}' for f in FIELDS)})")
    return render(template, fields(request))


def start(config: Config, target: dict, request: dict) -> dict:
    """Start the deploy; returns what to remember about it (type, job or deployment, url)."""
    try:
        if "jenkins" in target:
            return _jenkins(config, target["jenkins"], request)
        if "github" in target:
            return _github(config, target["github"], request)
    except requests.RequestException as exc:
        raise TargetError(redact(f"no answer ({type(exc).__name__})", config)) from None
    raise TargetError("deploy.yml names no jenkins or github target for this app")


def job_url(base: str, job: str) -> str:
    """`web-api/deploy` → `<base>/job/web-api/job/deploy`."""
    return base.rstrip("/") + "".join(f"/job/{quote(part, safe='%')}" for part in job.split("/") if part)


def _jenkins(config: Config, spec: dict, request: dict) -> dict:
    if not config.jenkins_url:
        raise TargetError("JENKINS_URL is not set")
    job = _fill(spec["job"], request)
    params = {name: _fill(str(value), request) for name, value in (spec.get("params") or {}).items()}
    base = config.jenkins_url.rstrip("/")
    with requests.Session() as session:
        if config.jenkins_user:
            session.auth = (config.jenkins_user, config.jenkins_token)
        headers = {}
        crumb = session.get(f"{base}/crumbIssuer/api/json", timeout=TIMEOUT)
        if crumb.status_code == 200:
            try:
                body = crumb.json()
                headers[body["crumbRequestField"]] = body["crumb"]
            except (ValueError, KeyError, TypeError):
                raise TargetError("Jenkins' crumb issuer sent an unexpected answer") from None
        elif crumb.status_code in (401, 403):
            raise TargetError(f"Jenkins refused JENKINS_USER's credentials ({crumb.status_code})")
        elif crumb.status_code != 404:   # 404: CSRF protection is off, no crumb needed
            raise TargetError(f"Jenkins' crumb issuer answered {crumb.status_code}")
        url = job_url(base, job)
        answer = session.post(f"{url}/buildWithParameters", data=params, headers=headers, timeout=TIMEOUT)
    if answer.status_code not in (200, 201):
        what = {401: "refused the credentials", 403: "refused the credentials or the crumb",
                404: f"has no job {job}"}.get(answer.status_code, f"answered {answer.status_code}")
        raise TargetError(f"Jenkins {what}")
    return {"type": "jenkins", "job": job, "queue_url": answer.headers.get("Location", ""), "url": url + "/",
            "params": params}


def _github(config: Config, spec: dict, request: dict) -> dict:
    environment = _fill(spec["environment"], request)
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "sparky"}
    if config.github_token:
        headers["Authorization"] = f"Bearer {config.github_token}"
    body = {"ref": request["sha"], "environment": environment, "auto_merge": False, "required_contexts": [],
            "description": f"{request['id']} by {request['requester']} via Sparky",
            "payload": {"sparky_request": request["id"], "requester": request["requester"], "ref": request["ref"]}}
    answer = requests.post(f"{config.github_api_url.rstrip('/')}/repos/{request['repo']}/deployments", json=body,
                           headers=headers, timeout=TIMEOUT)
    if answer.status_code != 201:
        try:
            message = answer.json().get("message", "")
        except ValueError:
            message = ""
        raise TargetError(f"GitHub answered {answer.status_code}" + (f": {message}" if message else ""))
    created = answer.json()
    return {"type": "github", "environment": environment, "deployment": str(created.get("id", "")),
            "url": created.get("url", "")}
