"""Local fake Chef server and Artifactory for the stale tests (see fakes.py for the base server)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import time

from tests.stale.fakes import ARTIFACTORY_TOKEN, CHEF_CLIENT, FakeServer

# -- Chef server -----------------------------------------------------------------------------------


class FakeChef(FakeServer):
    """An organization's nodes, read by partial search; every request's v1.3 signature is verified."""

    def __init__(self, public_key, org: str = "acme"):
        super().__init__()
        self.public_key, self.org = public_key, org
        self.nodes: dict[str, dict] = {}
        self.clients: set[str] = set()
        self.deleted: list[str] = []
        self.refused = 0
        prefix = f"/organizations/{org}"
        self.route("POST", prefix + r"/search/node", self._search)
        self.route("DELETE", prefix + r"/nodes/(?P<name>[^/]+)", self._delete_node)
        self.route("DELETE", prefix + r"/clients/(?P<name>[^/]+)", self._delete_client)

    @property
    def url(self) -> str:
        return f"{self.root}/organizations/{self.org}"

    def authorized(self, method, path, body, headers) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if headers.get("X-Ops-Content-Hash") != content_hash or headers.get("X-Ops-Userid") != CHEF_CLIENT:
            self.refused += 1
            return False
        canonical = "\n".join(
            [
                f"Method:{method}",
                f"Path:{path}",
                f"X-Ops-Content-Hash:{content_hash}",
                "X-Ops-Sign:version=1.3",
                f"X-Ops-Timestamp:{headers.get('X-Ops-Timestamp')}",
                f"X-Ops-UserId:{CHEF_CLIENT}",
                "X-Ops-Server-API-Version:1",
            ]
        )
        parts, i = [], 1
        while headers.get(f"X-Ops-Authorization-{i}"):
            parts.append(headers[f"X-Ops-Authorization-{i}"])
            i += 1
        try:
            self.public_key.verify(
                base64.b64decode("".join(parts)), canonical.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            self.refused += 1
            return False
        return True

    def _search(self, match, query, body, headers):
        wanted = json.loads(body or b"{}")
        start = int((query.get("start") or ["0"])[0])
        rows = int((query.get("rows") or ["1000"])[0])
        names = sorted(self.nodes)
        page = []
        for name in names[start : start + rows]:
            attrs = self.nodes[name]
            page.append(
                {
                    "url": f"{self.url}/nodes/{name}",
                    "data": {
                        key: attrs.get(path[-1]) if path[-1] != "name" else name
                        for key, path in wanted.items()
                    },
                }
            )
        return 200, {}, {"total": len(names), "start": start, "rows": page}

    def _delete_node(self, match, query, body, headers):
        name = match.group("name")
        if self.nodes.pop(name, None) is None:
            return 404, {}, {"error": [f"Cannot load node {name}"]}
        self.deleted.append(name)
        return 200, {}, {"name": name}

    def _delete_client(self, match, query, body, headers):
        name = match.group("name")
        if name not in self.clients:
            return 404, {}, {"error": [f"Cannot load client {name}"]}
        self.clients.discard(name)
        return 200, {}, {"name": name}


# -- Artifactory ------------------------------------------------------------------------------------


class FakeArtifactory(FakeServer):
    """Files with download stats; AQL with `$before` relative days and offset/limit paging."""

    def __init__(self):
        super().__init__()
        self.items: list[dict] = []
        self.deleted: list[str] = []
        self.queries: list[str] = []
        self.route("POST", r"/artifactory/api/search/aql", self._aql)
        self.route("DELETE", r"/artifactory/(?P<path>.+)", self._delete)

    @property
    def url(self) -> str:
        return f"{self.root}/artifactory"

    def authorized(self, method, path, body, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {ARTIFACTORY_TOKEN}"

    def _aql(self, match, query, body, headers):
        text = body.decode()
        self.queries.append(text)
        days = re.search(r'"\$before":"(\d+)d"', text)
        cutoff = time.time() - int(days.group(1)) * 86400 if days else None
        paging = re.search(r"\.offset\((\d+)\)\.limit\((\d+)\)", text)
        offset, limit = (int(paging.group(1)), int(paging.group(2))) if paging else (0, 10**9)

        def unused(row: dict) -> bool:
            if cutoff is None:
                return True
            stats = (row.get("stats") or [{}])[0]
            created = dt.datetime.fromisoformat(row["created"].replace("Z", "+00:00")).timestamp()
            last = stats.get("downloaded")
            last_at = dt.datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp() if last else None
            return created < cutoff and (last_at is None or last_at < cutoff)

        rows = [r for r in self.items if unused(r)]
        page = rows[offset : offset + limit]
        return (
            200,
            {},
            {
                "results": page,
                "range": {"start_pos": offset, "end_pos": offset + len(page), "total": len(page)},
            },
        )

    def _delete(self, match, query, body, headers):
        path = match.group("path")
        for row in self.items:
            if "/".join([row["repo"], row["path"], row["name"]]) == path:
                self.items.remove(row)
                self.deleted.append(path)
                return 204, {}, None
        return 404, {}, {"errors": [{"status": 404, "message": "Could not locate artifact"}]}
