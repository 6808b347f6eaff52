"""Matchers, Alertmanager's one syntax: `name=value`, `name!=value`, `name=~regex`, `name!~regex`.

A regex must match the whole value. `name` is a label (`host`, `env`, ...; `labels.host` works
too) or a signal field (`source`, `severity`, `subject`, `fingerprint`, ...). Chat writes them as
words (`host=web-01 service=~HTTP.*`), a snooze stores them as `{"name", "op", "value"}`, and
`holds` is the one test of them: the rules engine's `snoozed`, a snooze's preview, `alerts
<matcher>` and the HTTP API all use it, so what a person is shown is what the engine suppresses.
A label named like a signal field (an Alertmanager `severity` label) is written `labels.severity`
and stored so: `severity` alone is the signal's field (router/core/am_matchers.py makes every
Alertmanager matcher a label matcher this way).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from router.core.signal import SIGNAL_FIELDS

OPS = ("!=", "=~", "!~", "=")          # longest first: `a!=b` is not `a!` = `b`
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
LABELS = "labels."

# Fields that say what kind of thing an alert is, not which one: no snooze may rest on them alone.
BROAD_FIELDS = frozenset({"source", "kind", "status", "severity", "id", "occurred_at", "received_at",
                          "actor", "text", "summary", "url"})
# Probes for "does this regex match anything at all?"
PROBES = ("", "x", "web-01", "zz9-plural-Z-alpha", "production", "0", "a b c", "Q_Q.Q/Q")


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
        # A `labels.severity` label says no more than the signal's severity does.
        if self.name.removeprefix(LABELS) in BROAD_FIELDS or self.op in ("!=", "!~") or not self.value:
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
    if name.startswith(LABELS) and name[len(LABELS):] not in SIGNAL_FIELDS:
        name = name[len(LABELS):]        # `labels.host` is `host`; `labels.severity` stays the label
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


def holds(matchers: list[dict], ctx: dict) -> bool:
    """Every matcher holds for a flat signal view (router/core/signal.py `flat`); none → False,
    since a snooze must constrain something (guardrails refuse empty ones anyway)."""
    if not matchers:
        return False
    for m in matchers:
        name, op, want = str(m.get("name", "")), m.get("op", "="), str(m.get("value", ""))
        value = ctx.get(name if name in SIGNAL_FIELDS or name.startswith(LABELS) else LABELS + name)
        value = "" if value is None else str(value)
        if op == "=":
            ok = value == want
        elif op == "!=":
            ok = value != want
        elif op in ("=~", "!~"):
            try:
                ok = re.fullmatch(want, value) is not None
            except re.error:
                return False
            ok = ok if op == "=~" else not ok
        else:
            return False
        if not ok:
            return False
    return True
