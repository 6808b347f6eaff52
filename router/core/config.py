"""Configuration: the one place environment variables are read.

Everything else receives a `Config` (the app factory, workers, the CLI); tests build one directly.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping

from router.core import connections

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES_DIR = PROJECT_ROOT / "rules"
SLACK_DEFAULT_API_URL = "https://slack.com/api/"
GITHUB_DEFAULT_API_URL = "https://api.github.com"

# Every variable the README documents, with its default; `sparky config` prints this table.
DEFAULTS: dict[str, str] = {
    "SPARKY_REDIS_URL": "",
    "SPARKY_REDIS_SENTINELS": "",
    "SPARKY_REDIS_SERVICE": "",
    "SPARKY_REDIS_ACK_REPLICAS": "0",
    "SPARKY_DATA_DIR": "./var",
    "SPARKY_RULES_DIR": str(DEFAULT_RULES_DIR),
    "SPARKY_RULES_POLL": "1",
    "SPARKY_PORT": "8080",
    "SPARKY_WEB_WORKERS": "2",
    "SPARKY_WORKERS": "1",
    "SPARKY_WEB_THREADS": "256",
    "SPARKY_MAX_BODY": str(1024 * 1024),
    "SPARKY_MAX_BACKLOG": "20000",
    "SPARKY_MAX_SIGNALS": "1000",
    "SPARKY_SOURCE_SHARE": "0.5",
    "SPARKY_READY_WORKER_AGE": "2m",
    "SPARKY_READY_PENDING_AGE": "2m",
    "SPARKY_SIGNAL_TTL": str(7 * 24 * 3600),
    "SPARKY_DEDUP_TTL": str(24 * 3600),
    "SPARKY_RESOLVE_TIMEOUT": "5m",
    "SPARKY_SLACK_RATE": "1",
    "SPARKY_SLACK_TIMEOUT": "10",
    "SPARKY_WEBHOOK_TIMEOUT": "10",
    "SPARKY_HOOK_TOKENS": "",
    "SPARKY_PLUGINS": "",
    "SPARKY_ADMIN_TOKEN": "",
    "SLACK_BOT_TOKEN": "",
    "SLACK_SIGNING_SECRET": "",
    "SLACK_API_URL": SLACK_DEFAULT_API_URL,
    "XMPP_JID": "",
    "XMPP_PASSWORD": "",
    "XMPP_ROOMS": "",
    "XMPP_NICK": "",
    "XMPP_SERVER": "",
    "XMPP_PORT": "5222",
    "XMPP_TLS": "starttls",
    "XMPP_CA_CERTS": "",
    "SPARKY_XMPP_RATE": "1",
    "SPARKY_XMPP_TIMEOUT": "10",
    "GITHUB_WEBHOOK_SECRET": "",
    "GITHUB_API_URL": GITHUB_DEFAULT_API_URL,
    "GITHUB_TOKEN": "",
    "JENKINS_URL": "",
    "JENKINS_USER": "",
    "JENKINS_TOKEN": "",
    "CHEF_SERVER_URL": "",
    "CHEF_CLIENT_NAME": "",
    "CHEF_CLIENT_KEY": "",
    "ARTIFACTORY_URL": "",
    "ARTIFACTORY_TOKEN": "",
    "ALERTMANAGER_URL": "",
    "ALERTMANAGER_TOKEN": "",
    "SPARKY_STARTUP_WARNINGS": "on",
}

# Secrets never appear in logs, errors or `sparky config` output.
SECRET_VARS = frozenset({
    "SPARKY_HOOK_TOKENS", "SPARKY_ADMIN_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
    "GITHUB_WEBHOOK_SECRET", "GITHUB_TOKEN", "JENKINS_TOKEN", "XMPP_PASSWORD",
    "CHEF_CLIENT_KEY", "ARTIFACTORY_TOKEN", "ALERTMANAGER_TOKEN",
})


# Seconds between an idle RQ worker's heartbeats (worker.py sets RQ's worker_ttl from it):
# SPARKY_READY_WORKER_AGE below it would call every idle worker stale.
WORKER_HEARTBEAT = 30


class ConfigError(ValueError):
    """A variable has a value Sparky cannot use; the message names the variable."""


def _int(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name) or DEFAULTS[name]
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _count(env: Mapping[str, str], name: str) -> int:
    value = _int(env, name)
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, got {value}")
    return value


def _positive(env: Mapping[str, str], name: str) -> int:
    value = _int(env, name)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _float(env: Mapping[str, str], name: str) -> float:
    raw = env.get(name) or DEFAULTS[name]
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}


def _fraction(env: Mapping[str, str], name: str) -> float:
    value = _float(env, name)
    if not 0 < value <= 1:
        raise ConfigError(f"{name} must be a fraction above 0 and at most 1, got {value!r}")
    return value


def _seconds(env: Mapping[str, str], name: str) -> float:
    """A duration as seconds (`300`) or with a unit, as Alertmanager writes it (`5m`, `90s`, `1h`)."""
    raw = (env.get(name) or DEFAULTS[name]).strip()
    number, unit = raw[:-1] if raw[-1:] in _SECONDS else raw, raw[-1:] if raw[-1:] in _SECONDS else ""
    try:
        value = float(number) * _SECONDS[unit]
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigError(f"{name} must be a duration such as 300, 90s or 5m, got {raw!r}")
    return value


def _worker_age(env: Mapping[str, str]) -> float:
    value = _seconds(env, "SPARKY_READY_WORKER_AGE")
    if value <= WORKER_HEARTBEAT:
        raise ConfigError(f"SPARKY_READY_WORKER_AGE must be more than {WORKER_HEARTBEAT}s (an idle worker "
                          f"beats every {WORKER_HEARTBEAT}s), got {env.get('SPARKY_READY_WORKER_AGE')!r}")
    return value


def _str(env: Mapping[str, str], name: str) -> str:
    return env.get(name) or DEFAULTS[name]


def _redis_url(env: Mapping[str, str]) -> str:
    """SPARKY_REDIS_URL, or the redis+sentinel:// URL SPARKY_REDIS_SENTINELS + _SERVICE stand for."""
    url = _str(env, "SPARKY_REDIS_URL").strip()
    sentinels, service = _str(env, "SPARKY_REDIS_SENTINELS"), _str(env, "SPARKY_REDIS_SERVICE")
    if not sentinels.strip() and not service.strip():
        if url and connections.is_sentinel(url):
            _checked(connections.parse_sentinel_url, url)
        return url
    if url:
        raise ConfigError("set SPARKY_REDIS_URL or SPARKY_REDIS_SENTINELS, not both "
                          "(a redis+sentinel:// URL says the same as the pair)")
    return _checked(connections.sentinel_url, sentinels, service)


def _checked(check, *args):
    try:
        return check(*args)
    except connections.BadRedisURL as exc:
        raise ConfigError(str(exc)) from None


# XMPP_TLS: how the c2s connection is encrypted. starttls: the usual port 5222 upgraded in-band;
# direct: TLS from the first byte (XEP-0368, port 5223); off: plaintext (tests, a loopback server).
XMPP_TLS_MODES = ("starttls", "direct", "off")


def _jid(value: str, name: str, example: str) -> str:
    """A bare JID (`local@domain`), lower-cased as servers compare them; ConfigError naming `name`."""
    jid = value.strip()
    local, _, domain = jid.partition("@")
    if not local or not domain or "/" in jid or "@" in domain or " " in jid:
        raise ConfigError(f"{name} must be {example}, got {value!r}")
    return jid.lower()


def _xmpp_jid(env: Mapping[str, str]) -> str:
    raw = _str(env, "XMPP_JID")
    return _jid(raw, "XMPP_JID", "a bare JID like sparky@chat.example") if raw.strip() else ""


def _xmpp_rooms(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = _str(env, "XMPP_ROOMS")
    return tuple(dict.fromkeys(
        _jid(r, "XMPP_ROOMS", "comma-separated room JIDs like ops@conference.chat.example")
        for r in raw.split(",") if r.strip()))


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = _str(env, name).strip().lower()
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _on_off(env: Mapping[str, str], name: str) -> bool:
    raw = _str(env, name).strip().lower()
    if raw not in ("on", "off"):
        raise ConfigError(f"{name} must be on or off, got {raw!r}")
    return raw == "on"


@dataclass(frozen=True)
class Config:
    redis_url: str = ""
    redis_ack_replicas: int = 0     # intake answers 2xx only once this many replicas have the signal
    data_dir: Path = Path("./var")
    rules_dir: Path = DEFAULT_RULES_DIR
    rules_poll: float = 1.0  # seconds between looks at the rules dir's mtimes; 0 = no hot reload by poll
    port: int = 8080
    # `sparky up`'s web server (granian): processes, and threads per process running the app; a
    # client sending its body slowly holds one thread, so there are many (docs/production.md)
    web_workers: int = 2
    web_threads: int = 256
    workers: int = 1                # `sparky up`'s worker.py processes (2: one drains, one delivers)
    max_body: int = 1024 * 1024
    max_backlog: int = 20000
    max_signals: int = 1000         # signals one request may carry; more is a 413 (0 = no cap)
    source_share: float = 0.5       # of max_backlog, the most one source may have waiting (1 = no share)
    # /readyz is 503 (and the web tier raises a `sparky` alert) when no worker has beaten for
    # this long, or the oldest signal waiting for evaluation has waited this long (router/pipeline/liveness.py)
    ready_worker_age: float = 120.0
    ready_pending_age: float = 120.0
    signal_ttl: int = 7 * 24 * 3600
    dedup_ttl: int = 24 * 3600
    resolve_timeout: float = 300.0  # an /api/v2/alerts alert without endsAt resolves this long after its last resend
    slack_rate: float = 1.0
    slack_timeout: float = 10.0
    webhook_timeout: float = 10.0
    hook_tokens: tuple[str, ...] = ()
    admin_token: str = ""
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = SLACK_DEFAULT_API_URL
    xmpp_jid: str = ""              # the bot's account; set = XMPP is on (`sparky xmpp` holds it)
    xmpp_password: str = ""
    xmpp_rooms: tuple[str, ...] = ()   # multi-user chat rooms the bot joins (room@conference.host)
    xmpp_nick: str = ""             # its nick in the rooms; "" = the JID's local part
    xmpp_server: str = ""           # host to connect to; "" = the JID's domain (DNS SRV records)
    xmpp_port: int = 5222
    xmpp_tls: str = "starttls"
    xmpp_ca_certs: str = ""         # CA bundle for a server with a private CA; "" = the system's
    xmpp_rate: float = 1.0          # messages per second per room or person (0 = off)
    xmpp_timeout: float = 10.0      # seconds a worker waits for `sparky xmpp` to confirm a post
    github_webhook_secret: str = ""
    github_api_url: str = GITHUB_DEFAULT_API_URL
    github_token: str = ""
    jenkins_url: str = ""
    jenkins_user: str = ""
    jenkins_token: str = ""
    chef_server_url: str = ""       # with the organization: https://chef.example/organizations/acme
    chef_client_name: str = ""      # the API client that signs requests (X-Ops-UserId)
    chef_client_key: str = ""       # path to its private key (.pem), or the PEM text itself
    artifactory_url: str = ""       # https://artifactory.example/artifactory
    artifactory_token: str = ""
    # An Alertmanager to write snoozes back to as silences (router/snoozes/upstream.py); "" = off
    alertmanager_url: str = ""
    alertmanager_token: str = ""    # its bearer token, when it wants one
    # off: a web process does not log the UNVERIFIED lines (`sparky up` printed them once for all)
    startup_warnings: bool = True
    # Not from the environment: the clock used for signature freshness, injectable in tests.
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if env is None else env
        tokens = tuple(t.strip() for t in _str(env, "SPARKY_HOOK_TOKENS").split(",") if t.strip())
        return cls(
            redis_url=_redis_url(env),
            redis_ack_replicas=_count(env, "SPARKY_REDIS_ACK_REPLICAS"),
            data_dir=Path(_str(env, "SPARKY_DATA_DIR")),
            rules_dir=Path(_str(env, "SPARKY_RULES_DIR")),
            rules_poll=_float(env, "SPARKY_RULES_POLL"),
            port=_int(env, "SPARKY_PORT"),
            web_workers=_positive(env, "SPARKY_WEB_WORKERS"),
            web_threads=_positive(env, "SPARKY_WEB_THREADS"),
            workers=_positive(env, "SPARKY_WORKERS"),
            max_body=_int(env, "SPARKY_MAX_BODY"),
            max_backlog=_int(env, "SPARKY_MAX_BACKLOG"),
            max_signals=_int(env, "SPARKY_MAX_SIGNALS"),
            source_share=_fraction(env, "SPARKY_SOURCE_SHARE"),
            ready_worker_age=_worker_age(env),
            ready_pending_age=_seconds(env, "SPARKY_READY_PENDING_AGE"),
            signal_ttl=_int(env, "SPARKY_SIGNAL_TTL"),
            dedup_ttl=_int(env, "SPARKY_DEDUP_TTL"),
            resolve_timeout=_seconds(env, "SPARKY_RESOLVE_TIMEOUT"),
            slack_rate=_float(env, "SPARKY_SLACK_RATE"),
            slack_timeout=_float(env, "SPARKY_SLACK_TIMEOUT"),
            webhook_timeout=_float(env, "SPARKY_WEBHOOK_TIMEOUT"),
            hook_tokens=tokens,
            admin_token=_str(env, "SPARKY_ADMIN_TOKEN"),
            slack_bot_token=_str(env, "SLACK_BOT_TOKEN"),
            slack_signing_secret=_str(env, "SLACK_SIGNING_SECRET"),
            slack_api_url=_str(env, "SLACK_API_URL"),
            xmpp_jid=_xmpp_jid(env),
            xmpp_password=_str(env, "XMPP_PASSWORD"),
            xmpp_rooms=_xmpp_rooms(env),
            xmpp_nick=_str(env, "XMPP_NICK").strip(),
            xmpp_server=_str(env, "XMPP_SERVER").strip(),
            xmpp_port=_int(env, "XMPP_PORT"),
            xmpp_tls=_choice(env, "XMPP_TLS", XMPP_TLS_MODES),
            xmpp_ca_certs=_str(env, "XMPP_CA_CERTS").strip(),
            xmpp_rate=_float(env, "SPARKY_XMPP_RATE"),
            xmpp_timeout=_float(env, "SPARKY_XMPP_TIMEOUT"),
            github_webhook_secret=_str(env, "GITHUB_WEBHOOK_SECRET"),
            github_api_url=_str(env, "GITHUB_API_URL"),
            github_token=_str(env, "GITHUB_TOKEN"),
            jenkins_url=_str(env, "JENKINS_URL"),
            jenkins_user=_str(env, "JENKINS_USER"),
            jenkins_token=_str(env, "JENKINS_TOKEN"),
            chef_server_url=_str(env, "CHEF_SERVER_URL"),
            chef_client_name=_str(env, "CHEF_CLIENT_NAME"),
            chef_client_key=_str(env, "CHEF_CLIENT_KEY"),
            artifactory_url=_str(env, "ARTIFACTORY_URL"),
            artifactory_token=_str(env, "ARTIFACTORY_TOKEN"),
            alertmanager_url=_str(env, "ALERTMANAGER_URL").strip().rstrip("/"),
            alertmanager_token=_str(env, "ALERTMANAGER_TOKEN"),
            startup_warnings=_on_off(env, "SPARKY_STARTUP_WARNINGS"),
        )

    def with_(self, **changes) -> "Config":
        return replace(self, **changes)

    @property
    def nick(self) -> str:
        """Sparky's nick in XMPP rooms: XMPP_NICK, else its JID's local part."""
        return self.xmpp_nick or self.xmpp_jid.partition("@")[0] or "sparky"

    def unverified_sources(self) -> list[str]:
        """Sources whose authenticity check is off, for the start-up warnings."""
        off = []
        if not self.github_webhook_secret:
            off.append("github (GITHUB_WEBHOOK_SECRET unset)")
        if not self.slack_signing_secret:
            off.append("slack (SLACK_SIGNING_SECRET unset)")
        if not self.hook_tokens:
            off.append("nagios, alertmanager, jenkins, runscope, generic (SPARKY_HOOK_TOKENS unset)")
        return off


def describe(env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(variable, value) for every variable, secrets shown only as set/unset."""
    env = os.environ if env is None else env
    rows = []
    for name, default in DEFAULTS.items():
        value = env.get(name, "")
        if name in SECRET_VARS:
            shown = "(set)" if value else "(unset)"
        elif name == "SPARKY_REDIS_URL" and value:
            shown = connections.redact(value)   # a Redis password may ride in the URL
        else:
            shown = value or f"{default} (default)" if default else value or "(unset)"
        rows.append((name, shown))
    return rows
