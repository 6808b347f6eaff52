"""Artifactory: artifacts nobody downloaded lately, and deleting one once a person approved it.

Two ways to ask (the scan's `query`):
- AQL (the default): `items.find(...)` for files in the scan's `repos` (names or `libs-*`
  patterns) not downloaded (or never downloaded) and created before the scan's `older_than`,
  with their download stats and properties, 1,000 a page (`.offset().limit()`). A `query` of
  your own that starts with `items.find` replaces the criteria (include/sort/paging are added
  unless it has its own `.include(`).
- `query: usage`: the older usage search (`/api/search/usage?notUsedSince=`), for servers where
  AQL is not allowed to the token; it knows no sizes or properties, so owners come from the
  scan's conventions only. Its "404 No results" is an empty answer.

Owners: an artifact's `owner` property, else the scan's conventions. An artifact never
downloaded is idle since it was created.
"""
from __future__ import annotations

import json
from typing import Iterable, Iterator
from urllib.parse import unquote

from router.core.config import Config
from router.core.http import Client
from router.core.outcomes import Permanent
from router.core.times import epoch_of
from router.stale.inventory import Item

PAGE = 1000
INCLUDE = '.include("repo","path","name","type","size","created","created_by","modified","stat","property")'


def client(config: Config, timeout: float = 60.0) -> Client:
    if not config.artifactory_url:
        raise Permanent("artifactory: ARTIFACTORY_URL is not set")
    headers = {"Authorization": f"Bearer {config.artifactory_token}"} if config.artifactory_token else {}
    return Client("artifactory", config.artifactory_url, headers, timeout=timeout,
                  secrets=(config.artifactory_token,))


def criteria(repos: Iterable[str], older_than_days: int) -> str:
    """The AQL find() for files not downloaded for `older_than_days` days in `repos`."""
    age = f"{max(1, older_than_days)}d"
    unused = {"$or": [{"stat.downloaded": {"$before": age}}, {"stat.downloads": {"$eq": None}}]}
    clauses: list[dict] = [{"type": "file"}, {"created": {"$before": age}}, unused]
    repos = list(repos)
    if repos:
        clauses.append({"$or": [{"repo": {"$match": r}} if "*" in r or "?" in r else {"repo": r}
                                for r in repos]})
    return "items.find(" + json.dumps({"$and": clauses}, separators=(",", ":")) + ")"


def item_from_aql(row: dict) -> Item | None:
    """One AQL result row (corpus shape: `stats`, `properties`) → item."""
    repo, path, name = (str(row.get(k) or "") for k in ("repo", "path", "name"))
    if not repo or not name or row.get("type", "file") != "file":
        return None
    full = "/".join(p for p in (repo, path if path != "." else "", name) if p)
    stats = (row.get("stats") or row.get("stat") or [{}])
    stat = stats[0] if isinstance(stats, list) and stats else (stats if isinstance(stats, dict) else {})
    created = epoch_of(row.get("created"))
    downloaded = epoch_of(stat.get("downloaded"))
    properties = {str(p.get("key")): str(p.get("value") or "") for p in row.get("properties") or []
                  if isinstance(p, dict)}
    return Item(type="artifact", fingerprint=f"artifact:{full}", subject=full,
                owner=properties.get("owner", ""),
                created_at=created, last_activity=downloaded if downloaded is not None else created,
                activity_kind="download" if downloaded is not None else "created",
                activity_by=str(stat.get("downloaded_by") or row.get("created_by") or ""),
                labels={"repo": repo, "path": path, "name": name, "size": str(row.get("size") or ""),
                        "downloads": str(stat.get("downloads") or 0),
                        "created_by": str(row.get("created_by") or "")})


def item_from_usage(row: dict) -> Item | None:
    """One usage-search result (`uri` of the storage API, `lastDownloaded`) → item."""
    uri = str(row.get("uri") or "")
    marker = "/api/storage/"
    if marker not in uri:
        return None
    full = unquote(uri.split(marker, 1)[1]).strip("/")
    repo, _, rest = full.partition("/")
    path, _, name = rest.rpartition("/")
    downloaded = epoch_of(row.get("lastDownloaded"))
    return Item(type="artifact", fingerprint=f"artifact:{full}", subject=full, last_activity=downloaded,
                activity_kind="download" if downloaded is not None else "",
                labels={"repo": repo, "path": path, "name": name, "size": "", "downloads": "",
                        "created_by": ""})


def unused(art: Client, repos: Iterable[str], older_than_days: int, query: str, now: float) -> Iterator[Item]:
    """Artifacts not downloaded for `older_than_days` days, by AQL (paged) or the usage search."""
    repos = list(repos)
    if query.strip() == "usage":
        params = {"notUsedSince": int((now - older_than_days * 86400) * 1000),
                  "createdBefore": int((now - older_than_days * 86400) * 1000)}
        if repos:
            params["repos"] = ",".join(repos)
        response = art.request("GET", "/api/search/usage", ok=(404,), params=params)
        rows = response.json().get("results", []) if response.status_code != 404 else []
        yield from (i for i in (item_from_usage(r) for r in rows if isinstance(r, dict)) if i)
        return
    find = query.strip() or criteria(repos, older_than_days)
    if ".include(" in find:
        yield from _aql(art, find)
        return
    offset = 0
    while True:
        paged = f'{find}{INCLUDE}.sort({{"$asc":["repo","path","name"]}}).offset({offset}).limit({PAGE})'
        page = list(_aql(art, paged))
        yield from page
        if len(page) < PAGE:
            return
        offset += PAGE


def _aql(art: Client, text: str) -> Iterator[Item]:
    body = art.json("POST", "/api/search/aql", data=text.encode(), headers={"Content-Type": "text/plain"})
    for row in (body or {}).get("results", []) if isinstance(body, dict) else []:
        item = item_from_aql(row) if isinstance(row, dict) else None
        if item is not None:
            yield item


def delete_artifact(art: Client, path: str) -> str:
    """DELETE repo/path/name; an artifact already gone is no error."""
    gone = art.request("DELETE", f"/{path}", ok=(404,)).status_code == 404
    return f"{path} was already gone" if gone else f"{path} deleted"
