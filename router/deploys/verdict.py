"""What the deploy ruleset decided for one evaluation of a request: go, wait, or refused.

Each matching rule of the `deploy` ruleset carries a `deploy` action:

    deploy: {refuse: "CI is red for {labels.short_sha}"}              # refused, naming this rule
    deploy: {wait: "CI to finish on {labels.short_sha}"}             # wait for something else to change
    deploy: {approvals: 2, approvers: deployers, expire: 4h}        # wait for N approvals from a group
    deploy: {allow: [release-managers]}                              # who may ask for this deploy at all
    deploy: {}                                                       # go
    deploy: {..., room: "#deploys"}                                  # news also goes to this room

Usually one rule matches (the first match stops the ruleset). When rules say `continue: true`,
their deploy actions are combined in rule order: the first refusal (a `refuse`, or a requester
outside `allow`) wins; otherwise every `wait` and every approval requirement must be met. The
first deploy action carries the combined verdict out; the others only say so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from router.core import durations
from router.core.templates import render
from router.deploys import records as reqs

RULESET = "deploy"


@dataclass
class Verdict:
    outcome: str                       # go | wait | refused
    rule: str                          # the rule that decided (the refusing one, else the first)
    reason: str = ""                   # refused: why
    waits: list[str] = field(default_factory=list)            # wait: for what, besides approvals
    requirements: list[dict] = field(default_factory=list)   # {approvals, approvers, expire, rule}
    rooms: list[str] = field(default_factory=list)
    first: tuple[str, str, int] = ("", "", 0)                # (ruleset, rule, index) that carries it out


def planned(decision: dict) -> list[dict]:
    """The deploy ruleset's deploy actions of a decision, in rule order."""
    return [a for a in decision.get("actions", []) if a["ruleset"] == RULESET and a["action"] == "deploy"]


def _names(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def combine(decision: dict, signal: dict, groups: dict) -> Verdict | None:
    """The combined verdict, or None when no deploy action of the deploy ruleset matched."""
    actions = planned(decision)
    if not actions:
        return None
    requester = (signal.get("labels") or {}).get("requester", "")
    first = (actions[0]["ruleset"], actions[0]["rule"], actions[0]["index"])
    rooms: list[str] = []
    waits: list[str] = []
    requirements: list[dict] = []
    for action in actions:
        params, rule = action.get("params") or {}, action["rule"]
        if params.get("room"):
            rooms.append(render(params["room"], signal))
        if params.get("refuse"):
            return Verdict("refused", rule, render(params["refuse"], signal), rooms=rooms, first=first)
        allow = _names(params.get("allow"))
        if allow and not reqs.is_member(requester, allow, groups):
            env = (signal.get("labels") or {}).get("env", "")
            return Verdict("refused", rule, f"{requester} may not deploy to {env} (allowed: {', '.join(allow)})",
                           rooms=rooms, first=first)
        if params.get("wait"):
            waits.append(render(params["wait"], signal))
        if params.get("approvals"):
            expire = durations.parse(params["expire"]) if params.get("expire") else reqs.DEFAULT_EXPIRE
            requirements.append({"approvals": int(params["approvals"]), "approvers": params.get("approvers", ""),
                                 "expire": expire, "rule": rule})
    waiting = bool(waits or requirements)
    return Verdict("wait" if waiting else "go", actions[0]["rule"], waits=waits, requirements=requirements,
                   rooms=rooms, first=first)
