"""Matchers as chat writes them (`host=web-01 service=~HTTP.*`), and finding alerts by reference.

One syntax, Alertmanager's: `name=value`, `name!=value`, `name=~regex`, `name!~regex`, where a
regex must match the whole value. `name` is a label (`host`, `env`, ...; `labels.host` works too)
or a signal field (`source`, `severity`, `subject`, `fingerprint`, ...). A matcher is stored in a
snooze as `{"name", "op", "value"}` (router/core/brain/engine.py), and tested with the rules engine's own
`snooze_matches`, so the preview a person sees is exactly what the engine will suppress.

An alert reference is what `ack` and `snooze` take instead of matchers: the short id `alerts`
shows, a fingerprint (`web-01/HTTP`), a subject, or the id of any signal of the alert.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from redis import Redis

from router.core import brain
from router.engine.conditions import SIGNAL_FIELDS
from router.engine.facts import context, snooze_matches

OPS = ("!=", "=~", "!~", "=")          # longest first: `a!=b` is not `a!` = `b`
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
# Fields that say what kind of thing an alert is, not which one: no snooze may rest on them alone.
BROAD_FIELDS = frozenset({"source", "kind", "status", "severity", "id", "occurred_at", "received_at",
                          "actor", "text", "summary", "url"})
# Probes for "does this regex match anything at all?"
PROBES = ("", "x", "web-01", "zz9-plural-Z-alpha", "production", "0", "a b c", "Q_Q.Q/Q")
SIGNAL_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
SHORT_ID = re.compile(r"^[0-9a-f]{4,7}$")  # a prefix of the id `alerts` shows


class MatcherError(ValueError):
    """A word that is not a usable matcher; the message names it."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def as_dict(self) -> dict:
        return {"name": self.name, "op": self.op, "value": self.value}

    def __str__(self) -> str:
        value = self.value if self.value and not re.search(r"\s", self.value) else json.dumps(self.value)
        return f"{self.name}{self.op}{value}"

    @property
    def is_label(self) -> bool:
        return self.name not in SIGNAL_FIELDS

    def constrains(self) -> bool:
        """Does this matcher pick out particular alerts (not all, not a whole kind of them)?"""
        if self.name in BROAD_FIELDS or self.op in ("!=", "!~") or not self.value:
            return False
        if self.op == "=~":
            # A regex that takes any non-empty value (`.*`, `.+`, `x|.*`) picks out nothing.
            pattern = re.compile(self.value)
            return not all(pattern.fullmatch(p) for p in PROBES if p)
        return True


def looks_like_matcher(word: str) -> bool:
    return any(op in word for op in ("=", "!~"))


def parse_one(word: str) -> Matcher:
    # The first operator in the word splits it (the longer one where two start at the same place):
    # `url=http://x?a=b` is url = `http://x?a=b`, `host=~web-.*` is a regex.
    spots = [(word.find(op), -len(op), op) for op in OPS if word.find(op) > 0]
    if not spots:
        raise MatcherError(f'"{word}" is not a matcher: write label=value, label!=value, label=~regex or label!~regex')
    at, _, op = min(spots)
    name, value = word[:at], word[at + len(op):]
    name = name.strip()
    if name.startswith("labels."):
        name = name[len("labels."):]
    if not NAME.match(name):
        raise MatcherError(f'"{word}": "{name}" is not a label name')
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise MatcherError(f'"{word}": bad regex: {exc}') from None
    return Matcher(name, op, value)


def parse(words: list[str]) -> list[Matcher]:
    """Every word must be a matcher; `MatcherError` names the first that is not."""
    if not words:
        raise MatcherError("no matcher given: write e.g. host=web-01 service=HTTP, or an alert id")
    return [parse_one(w) for w in words]


def render(matchers: list[dict] | list[Matcher]) -> str:
    return " ".join(str(m if isinstance(m, Matcher) else Matcher(m["name"], m["op"], m["value"]))
                    for m in matchers)


def as_signal(alert: dict) -> dict:
    """An alert's state (router/alerts/state.py) as the signal fields the rules and snoozes read."""
    return {"id": alert.get("signal", ""), "source": alert.get("source", ""), "kind": "alert",
            "status": alert.get("status", ""), "severity": alert.get("severity", ""),
            "subject": alert.get("subject", ""), "fingerprint": alert.get("fingerprint", ""),
            "summary": alert.get("summary", ""), "labels": alert.get("labels") or {},
            "received_at": alert.get("last_seen", ""), "occurred_at": alert.get("last_seen", "")}


def matches(matchers: list[dict], alert_or_signal: dict, now: float) -> bool:
    """The engine's own test (router/engine/facts.snooze_matches) on an alert state or a signal."""
    signal = alert_or_signal if "kind" in alert_or_signal else as_signal(alert_or_signal)
    return snooze_matches({"matchers": matchers}, context(signal, now))


# -- alerts in the brain ------------------------------------------------------------------------------

def _decode(raw: dict) -> dict:
    alert = {k.decode(): v.decode() for k, v in raw.items()}
    try:
        alert["labels"] = json.loads(alert.get("labels") or "{}")
    except ValueError:
        alert["labels"] = {}
    if alert.get("fingerprint"):
        alert["id"] = brain.alert_id(alert["fingerprint"])
    return alert


def firing(conn: Redis) -> list[dict]:
    """Every alert now firing (state per fingerprint, see router/alerts/state.py), most severe first."""
    fingerprints = sorted(m.decode() for m in conn.smembers(brain.key_firing()))
    pipe = conn.pipeline(transaction=False)
    for fp in fingerprints:
        pipe.hgetall(brain.key_alert(fp))
    alerts = []
    for fp, raw in zip(fingerprints, pipe.execute()):
        if raw:
            alert = _decode(raw)
            alert.setdefault("fingerprint", fp)
            alert["id"] = brain.alert_id(fp)
            alerts.append(alert)
    rank = {"critical": 0, "warning": 1, "info": 2}
    return sorted(alerts, key=lambda a: (rank.get(a.get("severity", ""), 3), a.get("firing_since", ""),
                                         a["fingerprint"]))


def state(conn: Redis, fingerprint: str) -> dict:
    raw = conn.hgetall(brain.key_alert(fingerprint))
    return _decode(raw) if raw else {}


def find(conn: Redis, ref: str, alerts: list[dict] | None = None) -> list[dict]:
    """Alerts a reference names: exactly one when it is unambiguous, [] when none, several if not."""
    ref = ref.strip()
    if not ref:
        return []
    if SIGNAL_ID.match(ref.upper()):
        signal = brain.load_signal(conn, ref.upper())
        if signal and signal.get("fingerprint"):
            found = state(conn, signal["fingerprint"])
            if found:
                return [found]
    exact = state(conn, ref)
    if exact:
        return [exact]
    alerts = firing(conn) if alerts is None else alerts
    lowered = ref.lower().lstrip("#")
    if SHORT_ID.match(lowered):
        by_id = [a for a in alerts if a["id"].startswith(lowered)]
        if by_id:
            return by_id
    return [a for a in alerts if lowered in (a["fingerprint"].lower(), a.get("subject", "").lower())]
