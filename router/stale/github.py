"""GitHub: open pull requests with their real last activity, repos by last push, and the two
clean-ups a person can approve (close a pull request, archive a repo). REST API v3 at
GITHUB_API_URL, paginated by Link header.

What counts as activity on a pull request (where actions/stale and probot/stale go wrong):
- commits, reviews and comments by people count; comments, reviews and commits by bots
  (`type: Bot`, a `[bot]` login, or the scan's `bots:`) do not, so a CI bot's comment never keeps
  a PR alive (actions/stale PR #1358);
- a reaction by a person on the PR counts as "still alive" (actions/stale #861, #613), although
  GitHub does not move `updated_at` for it;
- the PR being opened counts, so a PR nobody ever answered is idle since it was opened and
  `awaiting: review` says whose move it is (#995).

Cost, within GitHub's 5,000 requests an hour: one request per 100 open PRs, two paginated
feeds of the repo's comments since the idle cutoff, and, only for PRs that look idle (GitHub's
`updated_at` older than the cutoff, or last moved by a bot's comment), their reviews, commits and
comments — cached in the brain per PR until its `updated_at` changes, and not asked at all for a
PR never touched since it was opened — plus one request for their reactions, which GitHub does
not date in `updated_at`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from redis import Redis

from router.core import brain
from router.core.config import Config
from router.core.http import Client
from router.core.outcomes import Permanent
from router.core.times import epoch_of, iso
from router.stale.inventory import Item

HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
PER_PAGE = 100
BOT_BUMP = 120      # a bot comment this close to `updated_at` may be all that moved it
UNTOUCHED = 2       # updated_at this close to created_at: nothing happened to the PR since


def client(config: Config, timeout: float = 30.0) -> Client:
    headers = dict(HEADERS)
    if config.github_token:
        headers["Authorization"] = f"Bearer {config.github_token}"
    return Client("github", config.github_api_url, headers, timeout=timeout, secrets=(config.github_token,))


@dataclass
class Options:
    idle_after: float
    bots: frozenset[str] = frozenset()

    def is_bot(self, user: object) -> bool:
        if not isinstance(user, dict):
            return False
        login = str(user.get("login") or "")
        return user.get("type") == "Bot" or login.endswith("[bot]") or login.lower() in self.bots


@dataclass
class Event:
    at: float
    kind: str
    by: str

    def as_list(self) -> list:
        return [self.at, self.kind, self.by]


@dataclass
class _Recent:
    human: float = 0.0
    bot: float = 0.0
    bots_at: list[float] = field(default_factory=list)


# -- repositories ------------------------------------------------------------------------------------

def expand(gh: Client, repos: Iterable[str]) -> Iterator[dict]:
    """The repository objects for `owner/name` entries and `owner/*` (every repo of an org or user)."""
    for entry in repos:
        owner, _, name = entry.partition("/")
        if name != "*":
            yield gh.json("GET", f"/repos/{owner}/{name}")
            continue
        try:
            for page in gh.pages(f"/orgs/{owner}/repos", {"per_page": PER_PAGE, "type": "all"}):
                yield from (r for r in page if isinstance(r, dict))
        except Permanent as exc:
            if exc.status != 404:
                raise
            for page in gh.pages(f"/users/{owner}/repos", {"per_page": PER_PAGE, "type": "owner"}):
                yield from (r for r in page if isinstance(r, dict))


def repo_names(gh: Client, repos: Iterable[str]) -> Iterator[str]:
    for entry in repos:
        if entry.endswith("/*"):
            yield from (r["full_name"] for r in expand(gh, [entry]) if not r.get("archived"))
        else:
            yield entry


def repositories(gh: Client, repos: Iterable[str]) -> Iterator[Item]:
    """One item per (not archived) repo, its last activity the last push."""
    for repo in expand(gh, repos):
        if not isinstance(repo, dict) or repo.get("archived"):
            continue
        full = str(repo.get("full_name", ""))
        pushed = epoch_of(repo.get("pushed_at"))
        yield Item(type="repo", fingerprint=full, subject=full, owner="",
                   title=str(repo.get("description") or ""),
                   url=str(repo.get("html_url") or ""), created_at=epoch_of(repo.get("created_at")),
                   last_activity=pushed, activity_kind="push" if pushed else "",
                   labels={"repo": full, "default_branch": str(repo.get("default_branch") or ""),
                           "archived": "false", "visibility": str(repo.get("visibility") or "")})


# -- pull requests -----------------------------------------------------------------------------------

def pull_requests(gh: Client, conn: Redis, repo: str, now: float, opts: Options) -> Iterator[Item]:
    """Every open PR of `repo` as an item, with its last activity by a person."""
    pulls = [p for page in gh.pages(f"/repos/{repo}/pulls", {"state": "open", "per_page": PER_PAGE})
             for p in page if isinstance(p, dict)]
    cutoff = now - opts.idle_after
    recent = _recent_comments(gh, repo, cutoff, opts) if any(
        (epoch_of(p.get("updated_at")) or 0) > cutoff for p in pulls) else {}
    for pr in pulls:
        yield _item(gh, conn, repo, pr, now, cutoff, recent.get(int(pr.get("number") or 0)), opts)


def _item(gh: Client, conn: Redis, repo: str, pr: dict, now: float, cutoff: float, recent: _Recent | None,
          opts: Options) -> Item:
    number = int(pr.get("number") or 0)
    author = str((pr.get("user") or {}).get("login") or "")
    created = epoch_of(pr.get("created_at")) or now
    updated = epoch_of(pr.get("updated_at")) or created
    if updated > cutoff and not _bot_bumped(updated, recent):
        # Something moved it lately and it was not (only) a bot's comment: active. Its exact
        # last activity is not worth a request: the PR is not going to be nagged about.
        last, awaiting = Event(updated, "update", ""), ""
        if recent and recent.human >= updated - BOT_BUMP:
            last = Event(max(recent.human, updated), "comment", "")
    else:
        activity = _activity(gh, conn, repo, number, pr, author, created, opts)
        last = Event(*activity["last"])
        awaiting = activity["awaiting"]
        reaction = _last_reaction(gh, repo, number, opts)
        if reaction and reaction.at > last.at:
            last = reaction  # "still alive": a person reacted
    reviewers = [str(u.get("login")) for u in pr.get("requested_reviewers") or [] if isinstance(u, dict)]
    labels = [str(lbl.get("name")) for lbl in pr.get("labels") or [] if isinstance(lbl, dict)]
    head, base = pr.get("head") or {}, pr.get("base") or {}
    return Item(
        type="pull_request", fingerprint=f"{repo}#{number}", subject=f"{repo}#{number}", owner=author,
        title=str(pr.get("title") or ""), url=str(pr.get("html_url") or ""), created_at=created,
        last_activity=last.at, activity_kind=last.kind, activity_by=last.by,
        labels={"repo": repo, "pr": str(number), "author": author, "reviewers": ",".join(reviewers),
                "pr_labels": ",".join(sorted(labels)), "draft": "true" if pr.get("draft") else "false",
                "branch": str(head.get("ref") or ""), "base": str(base.get("ref") or ""),
                "sha": str(head.get("sha") or ""), "awaiting": awaiting})


def _bot_bumped(updated: float, recent: _Recent | None) -> bool:
    """Was the PR's last move a bot's comment (and no person commented since)?"""
    if recent is None or not recent.bots_at:
        return False
    return any(abs(updated - at) <= BOT_BUMP for at in recent.bots_at) and recent.human < recent.bot


def _recent_comments(gh: Client, repo: str, cutoff: float, opts: Options) -> dict[int, _Recent]:
    """Conversation and review comments of the whole repo since `cutoff`, per issue/PR number."""
    found: dict[int, _Recent] = {}
    since = iso(_utc(cutoff)).replace(".000Z", "Z")
    for path, link in ((f"/repos/{repo}/issues/comments", "issue_url"),
                       (f"/repos/{repo}/pulls/comments", "pull_request_url")):
        params = {"since": since, "per_page": PER_PAGE, "sort": "updated", "direction": "asc"}
        for page in gh.pages(path, params):
            for comment in page:
                if not isinstance(comment, dict):
                    continue
                tail = str(comment.get(link) or "").rsplit("/", 1)[-1]
                at = epoch_of(comment.get("created_at"))
                if not tail.isdigit() or at is None:
                    continue
                entry = found.setdefault(int(tail), _Recent())
                if opts.is_bot(comment.get("user")):
                    entry.bot = max(entry.bot, at)
                    entry.bots_at.append(at)
                else:
                    entry.human = max(entry.human, at)
    return found


def _activity(gh: Client, conn: Redis, repo: str, number: int, pr: dict, author: str, created: float,
              opts: Options) -> dict:
    """Last activity by a person among opened/commits/reviews/comments, cached per `updated_at`."""
    key = brain.key_pr_activity(repo, str(number))
    cached = conn.get(key)
    if cached:
        data = json.loads(cached)
        if data.get("updated_at") == pr.get("updated_at") and data.get("bots") == sorted(opts.bots):
            return data
    events = [Event(created, "opened", author)]
    updated = epoch_of(pr.get("updated_at")) or created
    if updated - created < UNTOUCHED:
        # Never touched since it was opened: no review, comment or commit can have happened (each
        # would have moved updated_at), so there is nothing to ask. Reactions are asked for apart.
        return {"updated_at": pr.get("updated_at"), "bots": sorted(opts.bots), "last": events[0].as_list(),
                "awaiting": "review"}
    for page in gh.pages(f"/repos/{repo}/pulls/{number}/reviews", {"per_page": PER_PAGE}):
        for review in page:
            if not isinstance(review, dict) or review.get("state") == "PENDING" \
                    or opts.is_bot(review.get("user")):
                continue
            at = epoch_of(review.get("submitted_at"))
            if at is not None:
                events.append(Event(at, "review", str((review.get("user") or {}).get("login") or "")))
    for page in gh.pages(f"/repos/{repo}/pulls/{number}/commits", {"per_page": PER_PAGE}):
        for commit in page:
            if not isinstance(commit, dict) or opts.is_bot(commit.get("author")) \
                    or opts.is_bot(commit.get("committer")):
                continue
            detail = commit.get("commit") or {}
            times = [epoch_of((detail.get(part) or {}).get("date")) for part in ("author", "committer")]
            times = [t for t in times if t is not None]
            who = str((commit.get("author") or {}).get("login")
                      or (detail.get("author") or {}).get("name") or "")
            if times:
                events.append(Event(max(times), "commit", who))
    for page in gh.pages(f"/repos/{repo}/issues/{number}/comments", {"per_page": PER_PAGE}):
        for comment in page:
            if not isinstance(comment, dict) or opts.is_bot(comment.get("user")):
                continue
            at = epoch_of(comment.get("created_at"))
            if at is not None:
                events.append(Event(at, "comment", str((comment.get("user") or {}).get("login") or "")))
    last = max(events, key=lambda e: e.at)
    # Whose move is it? The author's last word waits for reviewers; anyone else's for the author.
    awaiting = "review" if last.by == author or last.kind == "opened" else "author"
    data = {"updated_at": pr.get("updated_at"), "bots": sorted(opts.bots), "last": last.as_list(),
            "awaiting": awaiting}
    conn.set(key, json.dumps(data), ex=brain.PR_ACTIVITY_TTL)
    return data


def _last_reaction(gh: Client, repo: str, number: int, opts: Options) -> Event | None:
    latest: Event | None = None
    for page in gh.pages(f"/repos/{repo}/issues/{number}/reactions", {"per_page": PER_PAGE}):
        for reaction in page:
            if not isinstance(reaction, dict) or opts.is_bot(reaction.get("user")):
                continue
            at = epoch_of(reaction.get("created_at"))
            if at is not None and (latest is None or at > latest.at):
                latest = Event(at, "reaction", str((reaction.get("user") or {}).get("login") or ""))
    return latest


def _utc(seconds: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


# -- clean-ups (only after an approval: router/stale/approvals.py) ------------------------------------

def close_pull_request(gh: Client, repo: str, number: str, comment: str = "") -> str:
    """Close a PR (with a comment saying who approved it); closing a closed PR is no error."""
    if comment:
        gh.request("POST", f"/repos/{repo}/issues/{number}/comments", json={"body": comment})
    pr = gh.json("PATCH", f"/repos/{repo}/pulls/{number}", json={"state": "closed"})
    state = pr.get("state", "closed") if isinstance(pr, dict) else "closed"
    return f"{repo}#{number} is {state}"


def archive_repository(gh: Client, repo: str) -> str:
    gh.json("PATCH", f"/repos/{repo}", json={"archived": True})
    return f"{repo} is archived"
