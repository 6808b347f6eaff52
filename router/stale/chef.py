"""Chef nodes and their last check-in (`ohai_time`), from the Chef server API or from `knife`
output dropped into a folder; and deleting a node (and its API client) once a person approved it.

The server API (CHEF_SERVER_URL, with the organization: `https://chef.example/organizations/acme`)
is read with a partial search, 1,000 nodes a page, each request signed with the API client's key
(CHEF_CLIENT_NAME, CHEF_CLIENT_KEY) by Chef's authentication protocol v1.3 (RSA-SHA256).

A folder (the scan's `path`, relative to SPARKY_DATA_DIR) may hold, for teams that would rather
run knife from cron than give Sparky a key, any of:
- `knife status -F json` output (a list of nodes with `name`, `ohai_time`, `chef_environment`...);
- `knife search node '*:*' -a ohai_time -a chef_environment -a tags -F json` output
  (`{"results": n, "rows": [{"web-01": {...}}]}`);
- plain `knife status` text ("14 minutes ago, web-01, ..."), read relative to the file's mtime.
The newest check-in seen for a node wins. A node with no `ohai_time` has never converged.

Owners: a node's `owner:<name>` tag, else its `owner` attribute, else the scan's conventions.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import requests

from router.core.config import Config
from router.core.http import Client
from router.core.outcomes import Permanent
from router.stale.inventory import Item

SEARCH_ROWS = 1000
PARTIAL = {"name": ["name"], "ohai_time": ["ohai_time"], "chef_environment": ["chef_environment"],
           "tags": ["tags"], "owner": ["owner"], "fqdn": ["fqdn"], "ipaddress": ["ipaddress"],
           "platform": ["platform"], "platform_version": ["platform_version"]}
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
STATUS_LINE = re.compile(r"^\s*(\d+)\s+(second|minute|hour|day|week)s?\s+ago,\s*([^,\s]+)\s*,\s*([^,]*),"
                         r"\s*([^,]*),\s*(.*?)\.?\s*$")
NOT_CONVERGED = re.compile(r"^\s*Node\s+(\S+)\s+has not yet converged")


class ChefAuth(requests.auth.AuthBase):
    """Signs each request as Mixlib::Authentication protocol 1.3 does (X-Ops-* headers)."""

    def __init__(self, client_name: str, key_pem: bytes):
        from cryptography.hazmat.primitives import serialization

        self.client_name = client_name
        try:
            self.key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            raise Permanent("chef: CHEF_CLIENT_KEY is not a PEM private key (without a passphrase)") from None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        timestamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        canonical = "\n".join([
            f"Method:{request.method.upper()}",
            f"Path:{canonical_path(urlsplit(request.url).path)}",
            f"X-Ops-Content-Hash:{content_hash}",
            "X-Ops-Sign:version=1.3",
            f"X-Ops-Timestamp:{timestamp}",
            f"X-Ops-UserId:{self.client_name}",
            "X-Ops-Server-API-Version:1",
        ])
        signed = self.key.sign(canonical.encode(), padding.PKCS1v15(), hashes.SHA256())
        signature = base64.b64encode(signed).decode()
        request.headers.update({
            "X-Ops-Sign": "algorithm=sha256;version=1.3", "X-Ops-Userid": self.client_name,
            "X-Ops-Timestamp": timestamp, "X-Ops-Content-Hash": content_hash,
            "X-Ops-Server-API-Version": "1", "X-Chef-Version": "18.0.0", "Accept": "application/json",
        })
        for i in range(0, len(signature), 60):
            request.headers[f"X-Ops-Authorization-{i // 60 + 1}"] = signature[i:i + 60]
        return request


def canonical_path(path: str) -> str:
    """No repeated slashes, no trailing slash (except "/"), as the protocol wants."""
    path = re.sub(r"/+", "/", path or "/")
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def _key(config: Config) -> bytes:
    value = config.chef_client_key.strip()
    if value.startswith("-----BEGIN"):
        return value.encode()
    try:
        return Path(value).expanduser().read_bytes()
    except OSError as exc:
        raise Permanent(f"chef: cannot read CHEF_CLIENT_KEY file ({exc.strerror})") from None


def client(config: Config, timeout: float = 30.0) -> Client:
    if not config.chef_server_url:
        raise Permanent("chef: CHEF_SERVER_URL is not set")
    if not config.chef_client_name or not config.chef_client_key:
        raise Permanent("chef: CHEF_CLIENT_NAME and CHEF_CLIENT_KEY are needed to sign requests")
    auth = ChefAuth(config.chef_client_name, _key(config))
    return Client("chef", config.chef_server_url, {"Accept": "application/json"}, timeout=timeout, auth=auth)


# -- reading --------------------------------------------------------------------------------------

def _owner(attrs: dict) -> str:
    for tag in attrs.get("tags") or []:
        if isinstance(tag, str) and tag.startswith("owner:"):
            return tag.split(":", 1)[1].strip()
    owner = attrs.get("owner")
    return owner.strip() if isinstance(owner, str) else ""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def node_item(name: str, attrs: dict) -> Item:
    """A node's attributes (any of knife's or the API's shapes) → item."""
    checked_in = _number(attrs.get("ohai_time"))
    platform = " ".join(str(attrs.get(k) or "") for k in ("platform", "platform_version")).strip()
    tags = [t for t in attrs.get("tags") or [] if isinstance(t, str)]
    return Item(type="chef_node", fingerprint=f"chef:{name}", subject=name, owner=_owner(attrs),
                last_activity=checked_in, activity_kind="check-in" if checked_in else "",
                labels={"node": name, "env": str(attrs.get("chef_environment") or ""), "platform": platform,
                        "fqdn": str(attrs.get("fqdn") or ""),
                        "ip": str(attrs.get("ip") or attrs.get("ipaddress") or ""),
                        "converged": "true" if checked_in else "false", "tags": ",".join(tags)})


def from_api(chef: Client, query: str = "*:*") -> Iterator[Item]:
    """Every node matching `query`, by partial search, a page of SEARCH_ROWS at a time."""
    start = 0
    while True:
        params = {"q": query or "*:*", "start": start, "rows": SEARCH_ROWS}
        page = chef.json("POST", "/search/node", params=params, json=PARTIAL)
        rows = page.get("rows") if isinstance(page, dict) else None
        if not rows:
            return
        for row in rows:
            data = row.get("data") if isinstance(row, dict) else None
            if isinstance(data, dict) and data.get("name"):
                yield node_item(str(data["name"]), data)
        start += len(rows)
        if start >= int(page.get("total") or 0):
            return


def parse_knife(text: str, mtime: float) -> dict[str, dict]:
    """One knife output file → node name → attributes (JSON shapes, or `knife status` text)."""
    try:
        data = json.loads(text)
    except ValueError:
        return _status_text(text, mtime)
    nodes: dict[str, dict] = {}
    if isinstance(data, dict) and isinstance(data.get("rows"), list):   # knife search -a ... -F json
        for row in data["rows"]:
            if isinstance(row, dict):
                nodes.update({str(k): v for k, v in row.items() if isinstance(v, dict)})
    elif isinstance(data, list):                                          # knife status -F json
        nodes.update({str(n["name"]): n for n in data if isinstance(n, dict) and n.get("name")})
    elif isinstance(data, dict) and data.get("name"):                     # knife node show -F json
        auto = data.get("automatic") if isinstance(data.get("automatic"), dict) else {}
        nodes[str(data["name"])] = {**auto, **{k: v for k, v in data.items() if k != "automatic"}}
    return nodes


def _status_text(text: str, mtime: float) -> dict[str, dict]:
    nodes: dict[str, dict] = {}
    for line in text.splitlines():
        match = STATUS_LINE.match(line)
        if match:
            amount, unit, name, fqdn, ip, platform = match.groups()
            nodes[name] = {"ohai_time": mtime - int(amount) * UNITS[unit], "fqdn": fqdn.strip(),
                           "ip": ip.strip(), "platform": platform.strip()}
        elif (never := NOT_CONVERGED.match(line)):
            nodes[never.group(1)] = {"ohai_time": None}
    return nodes


def from_folder(folder: Path) -> Iterator[Item]:
    """Nodes in every knife output file of `folder` (*.json, *.txt); the newest check-in wins."""
    if not folder.is_dir():
        raise Permanent(f"chef: folder {folder} does not exist "
                        "(the scan's path, relative to SPARKY_DATA_DIR)")
    merged: dict[str, dict] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".json", ".txt") or not path.is_file():
            continue
        for name, attrs in parse_knife(path.read_text(errors="replace"), path.stat().st_mtime).items():
            seen = merged.get(name)
            newer = (_number(attrs.get("ohai_time")) or 0) >= (_number((seen or {}).get("ohai_time")) or 0)
            if seen is None or newer:
                known = {k: v for k, v in attrs.items() if v is not None or k == "ohai_time"}
                merged[name] = {**(seen or {}), **known}
    for name, attrs in sorted(merged.items()):
        yield node_item(name, attrs)


# -- deleting (only after an approval) ------------------------------------------------------------

def delete_node(chef: Client, node: str, with_client: bool = True) -> str:
    """DELETE the node, then its API client of the same name; one already gone is no error."""
    gone = chef.request("DELETE", f"/nodes/{node}", ok=(404,)).status_code == 404
    text = f"node {node} was already gone" if gone else f"node {node} deleted"
    if with_client:
        client_gone = chef.request("DELETE", f"/clients/{node}", ok=(404,)).status_code == 404
        text += "" if client_gone else f", client {node} deleted"
    return text
