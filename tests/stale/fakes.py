"""Local fake GitHub (and the routed server under fakes_infra.py's Chef and Artifactory), on
tests/fakehttp.py's server: real HTTP on 127.0.0.1.

The real clients (requests, through router/stale/*) are pointed at them by GITHUB_API_URL,
CHEF_SERVER_URL and ARTIFACTORY_URL; nothing in a client is patched. Each fake keeps its state
(pull requests, nodes, artifacts), paginates like the real API (GitHub by Link header, Chef by
start/rows, AQL by offset/limit), checks credentials (the Chef fake verifies the v1.3 RSA
signature with the client's public key) and records every request.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from urllib.parse import urlencode

from tests.fakehttp import JsonServer

GITHUB_TOKEN = "ghp_test_token_never_shown_0000"
ARTIFACTORY_TOKEN = "art-test-token-never-shown-0000"
CHEF_CLIENT = "sparky"


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(login: str) -> dict:
    return {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"}


class FakeServer(JsonServer):
    """Routes: (method, regex) → handler(match, query, body, headers)."""

    def __init__(self):
        super().__init__()
        self.routes: list[tuple[str, re.Pattern, object]] = []

    def route(self, method: str, pattern: str, handler) -> None:
        self.routes.append((method, re.compile(pattern + "$"), handler))

    def authorized(self, method: str, path: str, body: bytes, headers) -> bool:
        return True

    def handle(self, method, path, query, body, headers):
        if not self.authorized(method, path, body, headers):
            return 401, {}, {"message": "Bad credentials"}
        for want, pattern, handler in self.routes:
            match = pattern.match(path)
            if want == method and match:
                return handler(match, query, body, headers)
        return 404, {}, {"message": "Not Found"}


# -- GitHub ---------------------------------------------------------------------------------------


class FakeGitHub(FakeServer):
    """Repos with open pull requests, their reviews, commits, comments and reactions."""

    def __init__(self):
        super().__init__()
        self.pulls: dict[str, dict[int, dict]] = {}
        self.reviews: dict[tuple[str, int], list[dict]] = {}
        self.commits: dict[tuple[str, int], list[dict]] = {}
        self.comments: dict[tuple[str, int], list[dict]] = {}
        self.review_comments: dict[tuple[str, int], list[dict]] = {}
        self.reactions: dict[tuple[str, int], list[dict]] = {}
        self.closed: list[tuple[str, int]] = []
        repo = r"/repos/(?P<repo>[^/]+/[^/]+)"
        self.route("GET", repo + r"/pulls", self._list_pulls)
        self.route(
            "GET", repo + r"/issues/comments", lambda m, q, b, h: self._feed(m, q, self.comments, "issue_url")
        )
        self.route(
            "GET",
            repo + r"/pulls/comments",
            lambda m, q, b, h: self._feed(m, q, self.review_comments, "pull_request_url"),
        )
        self.route(
            "GET", repo + r"/pulls/(?P<n>\d+)/reviews", lambda m, q, b, h: self._per_pr(m, q, self.reviews)
        )
        self.route(
            "GET", repo + r"/pulls/(?P<n>\d+)/commits", lambda m, q, b, h: self._per_pr(m, q, self.commits)
        )
        self.route(
            "GET", repo + r"/issues/(?P<n>\d+)/comments", lambda m, q, b, h: self._per_pr(m, q, self.comments)
        )
        self.route(
            "GET",
            repo + r"/issues/(?P<n>\d+)/reactions",
            lambda m, q, b, h: self._per_pr(m, q, self.reactions),
        )
        self.route("POST", repo + r"/issues/(?P<n>\d+)/comments", self._comment)
        self.route("PATCH", repo + r"/pulls/(?P<n>\d+)", self._patch_pull)

    def authorized(self, method, path, body, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {GITHUB_TOKEN}"

    # state helpers used by the tests
    def add_pull(
        self,
        repo: str,
        number: int,
        author: str,
        created: float,
        updated: float | None = None,
        labels: tuple[str, ...] = (),
        reviewers: tuple[str, ...] = (),
        title: str = "",
        draft: bool = False,
    ):
        with self.lock:
            self.pulls.setdefault(repo, {})[number] = {
                "number": number,
                "state": "open",
                "title": title or f"Change {number}",
                "user": user(author),
                "created_at": iso(created),
                "updated_at": iso(updated or created),
                "draft": draft,
                "html_url": f"https://github.example/{repo}/pull/{number}",
                "labels": [{"name": n} for n in labels],
                "requested_reviewers": [user(r) for r in reviewers],
                "head": {"ref": f"feature-{number}", "sha": f"{number:040x}"},
                "base": {"ref": "main"},
            }
            self.commits.setdefault((repo, number), []).append(
                {
                    "sha": f"{number:040x}",
                    "author": user(author),
                    "committer": user(author),
                    "commit": {
                        "author": {"name": author, "date": iso(created)},
                        "committer": {"name": author, "date": iso(created)},
                    },
                }
            )

    def touch(self, repo: str, number: int, at: float) -> None:
        self.pulls[repo][number]["updated_at"] = iso(at)

    def add_review(self, repo: str, number: int, login: str, at: float, state: str = "COMMENTED") -> None:
        with self.lock:
            self.reviews.setdefault((repo, number), []).append(
                {"user": user(login), "state": state, "submitted_at": iso(at)}
            )
            self.touch(repo, number, at)

    def add_comment(self, repo: str, number: int, login: str, at: float) -> None:
        with self.lock:
            self.comments.setdefault((repo, number), []).append(
                {
                    "user": user(login),
                    "created_at": iso(at),
                    "updated_at": iso(at),
                    "body": "...",
                    "issue_url": f"https://api.github.example/repos/{repo}/issues/{number}",
                }
            )
            self.touch(repo, number, at)

    def add_reaction(self, repo: str, number: int, login: str, at: float) -> None:
        with self.lock:  # GitHub does not move updated_at for a reaction
            self.reactions.setdefault((repo, number), []).append(
                {"user": user(login), "content": "+1", "created_at": iso(at)}
            )

    # handlers
    def _page(self, items: list, query: dict, path: str, extra: dict | None = None):
        per_page = min(100, int((query.get("per_page") or ["30"])[0]))
        page = int((query.get("page") or ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        last = max(1, -(-len(items) // per_page))
        params = {**(extra or {}), "per_page": per_page}
        links = []
        if page < last:
            links.append(f'<{self.url}{path}?{urlencode({**params, "page": page + 1})}>; rel="next"')
            links.append(f'<{self.url}{path}?{urlencode({**params, "page": last})}>; rel="last"')
        if links:
            headers["Link"] = ", ".join(links)
        return 200, headers, chunk

    def _list_pulls(self, match, query, body, headers):
        repo = match.group("repo")
        if repo not in self.pulls:
            return 404, {}, {"message": "Not Found"}
        open_ = [p for _, p in sorted(self.pulls[repo].items()) if p["state"] == "open"]
        return self._page(open_, query, f"/repos/{repo}/pulls", {"state": "open"})

    def _feed(self, match, query, store, link):
        repo = match.group("repo")
        since = (query.get("since") or [""])[0]
        rows = [
            c
            for (r, _), comments in store.items()
            if r == repo
            for c in comments
            if not since or c["updated_at"] >= since
        ]
        rows.sort(key=lambda c: c["updated_at"])
        return self._page(
            rows,
            query,
            f"/repos/{repo}/{'issues' if link == 'issue_url' else 'pulls'}/comments",
            {"since": since} if since else {},
        )

    def _per_pr(self, match, query, store):
        repo, number = match.group("repo"), int(match.group("n"))
        if number not in self.pulls.get(repo, {}):
            return 404, {}, {"message": "Not Found"}
        return self._page(list(store.get((repo, number), [])), query, match.group(0))

    def _comment(self, match, query, body, headers):
        repo, number = match.group("repo"), int(match.group("n"))
        text = json.loads(body or b"{}").get("body", "")
        self.comments.setdefault((repo, number), []).append(
            {
                "user": user("sparky-bot"),
                "created_at": iso(time.time()),
                "updated_at": iso(time.time()),
                "body": text,
                "issue_url": f"https://api.github.example/repos/{repo}/issues/{number}",
            }
        )
        return 201, {}, {"id": len(self.comments[(repo, number)]), "body": text}

    def _patch_pull(self, match, query, body, headers):
        repo, number = match.group("repo"), int(match.group("n"))
        pr = self.pulls.get(repo, {}).get(number)
        if pr is None:
            return 404, {}, {"message": "Not Found"}
        state = json.loads(body or b"{}").get("state")
        if state == "closed":
            pr["state"] = "closed"
            self.closed.append((repo, number))
        return 200, {}, pr
