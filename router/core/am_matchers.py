"""Alertmanager's matchers as Sparky's, and back: the API v2's `{name, value, isRegex, isEqual}`
objects, its `filter=` strings (`name="value"`, `name=~"re"`) and its config's matcher strings.

Both sides mean the same four operators, regexes anchored at both ends (`=`, `!=`, `=~`, `!~`;
router/core/matchers.py). What differs is the name: an Alertmanager matcher always names a
*label*, where Sparky's bare `severity` or `source` names the signal's field. So an Alertmanager
name that is also a signal field is kept as `labels.<name>` (`label_name`), and `holds` reads the
label; every other name is a label in both. The way back drops the prefix (`api_name`); a Sparky
matcher on a signal field (`fingerprint=…`, what `snooze <alert id>` stores) is shown under the
field's name, which Alertmanager takes for a label of that name.

Choices where Alertmanager 0.25 is the reference:
- `filter=` strings are parsed as its `labels.ParseMatcher` does: a label name, an operator, a
  value that may be double-quoted (`\\"`, `\\\\` and `\\n` escapes); no `{...}`, no lists. Anything
  else is `bad matcher format: <text>`, its words.
- Regexes are Python's (`re.fullmatch`), Alertmanager's are Go's RE2: the common syntax is the
  same; lookarounds and backreferences are Python's only (`go_compatible` tells them apart).
"""
from __future__ import annotations

import json
import re

from router.core.matchers import LABELS, Matcher, MatcherError
from router.core.signal import SIGNAL_FIELDS

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")      # Prometheus' label names
_FILTER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)
# (isEqual, isRegex) ↔ operator, as Alertmanager's API encodes them
OPS = {(True, False): "=", (False, False): "!=", (True, True): "=~", (False, True): "!~"}
FLAGS = {op: flags for flags, op in OPS.items()}
# Python-only regex syntax RE2 refuses: lookarounds, named groups the Python way, backreferences.
_NOT_RE2 = re.compile(r"\(\?[=!<]|\(\?P[=<]|\\[1-9]|[*+?}][+]")


def label_name(name: str) -> str:
    """How an Alertmanager label name is kept in a Sparky matcher (see the module docstring)."""
    return LABELS + name if name in SIGNAL_FIELDS else name


def api_name(name: str) -> str:
    """A Sparky matcher's name as Alertmanager shows it: `labels.severity` is `severity`."""
    return name[len(LABELS):] if name.startswith(LABELS) else name


def _checked(name: str, op: str, value: str, shown: str) -> Matcher:
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise MatcherError(f"{shown}: bad regex: {exc}") from None
    return Matcher(label_name(name), op, value)


def from_api(given: object, where: str = "matcher") -> Matcher:
    """An API v2 matcher object as Sparky's; MatcherError names the field that is wrong."""
    if not isinstance(given, dict):
        raise MatcherError(f"{where}: expected an object with name, value, isRegex, isEqual")
    name, value = given.get("name"), given.get("value")
    is_regex, is_equal = given.get("isRegex"), given.get("isEqual", True)
    if not isinstance(name, str) or not LABEL_NAME.match(name):
        raise MatcherError(f"{where}.name: {json.dumps(name)} is not a label name")
    if not isinstance(value, str):
        raise MatcherError(f"{where}.value: missing, or not a string")
    if not isinstance(is_regex, bool):
        raise MatcherError(f"{where}.isRegex: missing, or not true/false")
    if not isinstance(is_equal, bool):
        raise MatcherError(f"{where}.isEqual: not true/false")
    return _checked(name, OPS[(is_equal, is_regex)], value, where)


def to_api(matcher: Matcher | dict) -> dict:
    """Sparky's matcher as an API v2 matcher object (`isEqual` always given, as Alertmanager does)."""
    m = matcher if isinstance(matcher, Matcher) else Matcher(matcher["name"], matcher["op"], matcher["value"])
    is_equal, is_regex = FLAGS[m.op]
    return {"name": api_name(m.name), "value": m.value, "isRegex": is_regex, "isEqual": is_equal}


def _unquote(raw: str) -> str:
    """A filter's value as Alertmanager reads it: optional quotes, `\\"`, `\\\\`, `\\n` escapes."""
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i < len(body) - 1:
            nxt = body[i + 1]
            out.append("\n" if nxt == "n" else nxt if nxt in '"\\' else "\\" + nxt)
            i += 2
            continue
        if ch == '"':
            if not quoted or i < len(body) - 1:
                raise MatcherError(f"matcher value contains unescaped double quote: {raw}")
            quoted = False
        else:
            out.append(ch)
        i += 1
    if quoted:
        raise MatcherError(f"matcher value contains unescaped double quote: {raw}")
    return "".join(out)


def parse_filter(text: str) -> Matcher:
    """One `filter=` value (`alertname=DiskFull`, `job=~"api.*"`) as Sparky's matcher."""
    found = _FILTER.match(text)
    if not found or ":" in found.group(1):
        raise MatcherError(f"bad matcher format: {text}")
    name, op, raw = found.groups()
    return _checked(name, op, _unquote(raw), f"bad matcher format: {text}")


def from_config(text: object) -> Matcher:
    """A matcher as a rule file writes one in Alertmanager's config syntax (suppression.yml's
    `inhibit_rules`): `alertname="NodeDown"`, `severity=~"warning|info"`. Unlike `parse_filter`, a
    bare name that is a signal field (`severity`) reads the field, as Sparky's own matchers do, and
    `labels.severity` reads the label. MatcherError says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise MatcherError('a matcher is text, e.g. alertname="NodeDown"')
    body = text.strip()
    label = body.startswith(LABELS)
    found = parse_filter(body[len(LABELS):] if label else body)
    name = api_name(found.name)
    return Matcher(LABELS + name if label else name, found.op, found.value)


def as_text(matcher: Matcher | dict) -> str:
    """A matcher as Alertmanager's config and amtool write it: `name="value"`, `name=~"re"`."""
    m = matcher if isinstance(matcher, Matcher) else Matcher(matcher["name"], matcher["op"], matcher["value"])
    return f"{api_name(m.name)}{m.op}{json.dumps(m.value, ensure_ascii=False)}"


def matches_empty(matcher: Matcher | dict) -> bool:
    """Does the matcher hold for a missing label (the empty string)?"""
    m = matcher if isinstance(matcher, Matcher) else Matcher(matcher["name"], matcher["op"], matcher["value"])
    if m.op in ("=", "!="):
        return (m.value == "") == (m.op == "=")
    try:
        hit = re.fullmatch(m.value, "") is not None
    except re.error:
        return False
    return hit == (m.op == "=~")


def go_compatible(matcher: Matcher | dict) -> bool:
    """Can Alertmanager (Go, RE2) read this matcher: a label name it accepts and a regex it compiles?"""
    m = matcher if isinstance(matcher, Matcher) else Matcher(matcher["name"], matcher["op"], matcher["value"])
    if not LABEL_NAME.match(api_name(m.name)):
        return False
    return m.op in ("=", "!=") or not _NOT_RE2.search(m.value)
