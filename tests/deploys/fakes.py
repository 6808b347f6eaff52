"""A local fake Jenkins and a fake GitHub API for the deploy tests: real HTTP on 127.0.0.1.

The real `requests` client (router/deploys/targets.py, github.py) is pointed at them through
JENKINS_URL and GITHUB_API_URL; nothing is patched. The fake Jenkins checks basic auth and the
CSRF crumb like Jenkins does (a crumb belongs to the session that fetched it); both record every
request.
"""
from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, unquote

from tests.fakehttp import JsonServer

JENKINS_USER = "sparky"
JENKINS_TOKEN = "11jenkins-api-token-never-shown"
GITHUB_TOKEN = "ghp_deploy_test_token_never_shown"
CRUMB = "c0ffee0123456789"
SESSION = "node0abc123"


class Fake(JsonServer):
    """A fake that serves from the moment it exists."""

    def __init__(self):
        super().__init__()
        self.start()


class FakeJenkins(Fake):
    """`/crumbIssuer/api/json` and `/job/<name>/buildWithParameters`, basic auth and crumbs enforced."""

    def __init__(self):
        super().__init__()
        self.builds: list[dict] = []      # {"job", "params", "crumb"}
        self.crumbs_enabled = True

    def handle(self, method, path, query, body, headers):
        expected = "Basic " + base64.b64encode(f"{JENKINS_USER}:{JENKINS_TOKEN}".encode()).decode()
        if headers.get("Authorization") != expected:
            return 401, {}, {"message": "Unauthorized"}
        if method == "GET" and path == "/crumbIssuer/api/json":
            if not self.crumbs_enabled:
                return 404, {}, None
            return 200, {"Set-Cookie": f"JSESSIONID.x={SESSION}; Path=/"}, {
                "_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": CRUMB,
                "crumbRequestField": "Jenkins-Crumb"}
        match = re.fullmatch(r"((?:/job/[^/]+)+)/buildWithParameters", path)
        if method == "POST" and match:
            if self.crumbs_enabled and (headers.get("Jenkins-Crumb") != CRUMB
                                        or SESSION not in (headers.get("Cookie") or "")):
                return 403, {}, {"message": "No valid crumb was included in the request"}
            job = "/".join(unquote(p) for p in match.group(1).split("/job/") if p)
            params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            self.builds.append({"job": job, "params": params})
            item = 4000 + len(self.builds)
            return 201, {"Location": f"{self.url}/queue/item/{item}/"}, None
        return 404, {}, {"message": "Not Found"}


class FakeGitHub(Fake):
    """Commits by ref, repos (default branch), and deployments."""

    def __init__(self):
        super().__init__()
        self.heads: dict[tuple[str, str], str] = {}     # (repo, ref) → sha
        self.default_branch = "main"
        self.deployments: list[dict] = []

    def handle(self, method, path, query, body, headers):
        if headers.get("Authorization") != f"Bearer {GITHUB_TOKEN}":
            return 401, {}, {"message": "Bad credentials"}
        repo = r"/repos/(?P<repo>[^/]+/[^/]+)"
        if method == "GET" and (m := re.fullmatch(repo + r"/commits/(?P<ref>.+)", path)):
            sha = self.heads.get((m["repo"], unquote(m["ref"])))
            return (200, {}, {"sha": sha}) if sha else (422, {}, {"message": f"No commit found for SHA: {m['ref']}"})
        if method == "GET" and (m := re.fullmatch(repo, path)):
            return 200, {}, {"full_name": m["repo"], "default_branch": self.default_branch}
        if method == "POST" and (m := re.fullmatch(repo + r"/deployments", path)):
            created = {"id": 9000 + len(self.deployments), "url": f"{self.url}{path}/{9000 + len(self.deployments)}",
                       **json.loads(body)}
            self.deployments.append({"repo": m["repo"], **created})
            return 201, {}, created
        return 404, {}, {"message": "Not Found"}
