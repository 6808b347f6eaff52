"""The one place Redis connections are made: a plain URL, or a primary found through Sentinel.

Every process (web, worker, `sparky …`) connects with `connect(url, …)`, so a Sentinel-managed
brain works everywhere a plain one does. The URL forms:

    redis://[[user]:password@]host:port/db        one Redis (redis-py's own URL forms,
    unix:///path/redis.sock?db=0                   unix sockets and rediss:// included)
    redis+sentinel://[[user]:password@]host1:26379,host2:26379,host3:26379/service[/db]
                    [?sentinel_password=…]

In the Sentinel form the hosts are the sentinels, `service` is the name the sentinels monitor
(`sentinel monitor <service> …`), the user and password are the Redis servers' (the primary's
and the replicas', which share them), and `sentinel_password` is the sentinels' own when they
require one. `rediss+sentinel://` speaks TLS to the Redis servers. SPARKY_REDIS_SENTINELS
(`host1:26379,host2:26379`) with SPARKY_REDIS_SERVICE builds the same URL (`sentinel_url`).

A client bound to a service asks the sentinels for the primary when it connects, and drops its
connections when the primary it was talking to goes away or turns read-only (a failover), so the
next command reaches the new primary. During the switch commands fail with ConnectionError,
ReadOnlyError or MasterNotFoundError — `OUTAGE` — which the web tier answers 503 + Retry-After.
"""
from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from redis import Redis
from redis.backoff import EqualJitterBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from router.core.outage import OUTAGE_ERRORS, is_outage  # noqa: F401  (re-exported)
from router.core.packing import PACKER

SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}   # scheme → TLS
DEFAULT_SENTINEL_PORT = 26379

# What counts as the brain being away (503 + Retry-After, never a 500) is one list, in
# router/core/outage.py; named here too for the worker's loop.
OUTAGE = OUTAGE_ERRORS


# Reconnect attempts per command during a primary switch: doubling from 0.1 s to a 1 s cap, with
# jitter, 6 attempts span about 3 s — long enough that a command issued as the old primary died usually
# lands on the new one once Sentinel has promoted it (down-after-milliseconds + election), short
# enough that a web request still answers within its sender's timeout. Past that it is a 503.
FAILOVER_RETRY = (0.1, 1.0, 6)


class BadRedisURL(ValueError):
    """SPARKY_REDIS_URL (or the Sentinel variables) cannot be used; the message says why."""


@dataclass(frozen=True)
class SentinelAddress:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    ssl: bool = False


def is_sentinel(url: str) -> bool:
    return urlsplit(url).scheme.lower() in SENTINEL_SCHEMES


def parse_sentinel_url(url: str) -> SentinelAddress:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SENTINEL_SCHEMES:
        raise BadRedisURL(f"not a Sentinel URL (redis+sentinel://…): {redact(url)}")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    sentinels = tuple(_host_port(h, url) for h in hosts.split(",") if h.strip())
    if not sentinels:
        raise BadRedisURL(f"no sentinel host:port in {redact(url)}")
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise BadRedisURL(f"expected /service_name or /service_name/db after the sentinels in {redact(url)}")
    db = 0
    if len(path) == 2:
        if not path[1].isdigit():
            raise BadRedisURL(f"the database after the service name must be a number in {redact(url)}")
        db = int(path[1])
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"sentinel_password"}
    if unknown:
        raise BadRedisURL(f"unknown option(s) {', '.join(sorted(unknown))} in {redact(url)}")
    return SentinelAddress(sentinels=sentinels, service=unquote(path[0]), db=db,
                           username=unquote(username) or None, password=unquote(password) or None,
                           sentinel_password=query.get("sentinel_password") or None,
                           ssl=SENTINEL_SCHEMES[scheme])


def _host_port(text: str, url: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":") if ":" in text else (text.strip(), "", "")
    host = host.strip("[]")  # [::1]:26379
    if not port:
        return host, DEFAULT_SENTINEL_PORT
    if not port.isdigit() or not host:
        raise BadRedisURL(f"sentinel {text!r} is not host:port in {redact(url)}")
    return host, int(port)


def sentinel_url(sentinels: str, service: str) -> str:
    """The URL for SPARKY_REDIS_SENTINELS (`host1:26379,host2:26379`) + SPARKY_REDIS_SERVICE."""
    hosts = [h.strip() for h in sentinels.split(",") if h.strip()]
    if not hosts or not service.strip():
        raise BadRedisURL("SPARKY_REDIS_SENTINELS needs host:port[,host:port…] and SPARKY_REDIS_SERVICE "
                          "the name the sentinels monitor")
    url = f"redis+sentinel://{','.join(hosts)}/{service.strip()}"
    parse_sentinel_url(url)   # the same checks as the URL form
    return url


def redact(url: str) -> str:
    """The URL without its passwords (the servers' and the sentinels'), for logs and errors."""
    parts = urlsplit(url)
    if "sentinel_password=" in parts.query:
        parts = parts._replace(query=re.sub(r"(^|&)sentinel_password=[^&]*", r"\1sentinel_password=***",
                                            parts.query))
    if "@" in parts.netloc:
        userinfo, _, hosts = parts.netloc.rpartition("@")
        username, colon, _password = userinfo.partition(":")
        if colon:   # not a user name alone
            parts = parts._replace(netloc=f"{username}:***@{hosts}")
    return parts.geturl()


def connect(url: str, *, socket_timeout: float | None = None, socket_connect_timeout: float | None = 2,
            health_check_interval: int = 0) -> Redis:
    """A client for `url`. A plain URL gets redis-py's defaults (and its default retries); a
    Sentinel URL gets a client that follows the primary through failovers (module docstring).

    `socket_timeout` None means block as long as the command does (a worker's BLPOP)."""
    if not is_sentinel(url):
        return Redis.from_url(url, socket_timeout=socket_timeout,
                              socket_connect_timeout=socket_connect_timeout,
                              health_check_interval=health_check_interval, command_packer=PACKER)
    address = parse_sentinel_url(url)
    base, cap, attempts = FAILOVER_RETRY
    sentinel_kwargs = {"socket_timeout": socket_connect_timeout or 1.0,
                       "socket_connect_timeout": socket_connect_timeout or 1.0}
    if address.sentinel_password:
        sentinel_kwargs["password"] = address.sentinel_password
    sentinel = Sentinel(list(address.sentinels), sentinel_kwargs=sentinel_kwargs)
    return sentinel.master_for(
        address.service, redis_class=Redis, db=address.db,
        username=address.username, password=address.password, ssl=address.ssl,
        socket_timeout=socket_timeout, command_packer=PACKER,
        socket_connect_timeout=socket_connect_timeout, health_check_interval=health_check_interval,
        # ReadOnlyError and MasterNotFoundError reach the retry as ConnectionErrors (redis-py's
        # SentinelManagedConnection turns a demoted primary's refusal into one).
        retry=Retry(EqualJitterBackoff(cap=cap, base=base), attempts),  # in redis-py 5 too
        # A primary whose machine died sends no reset: keep-alive probes notice it in ~25 s,
        # where a blocked BLPOP with no socket timeout would otherwise wait for hours.
        socket_keepalive=True, socket_keepalive_options=_KEEPALIVE)


_KEEPALIVE = {getattr(socket, name): value
              for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
              if hasattr(socket, name)}
