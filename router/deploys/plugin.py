"""The deploys feature's registration: the gate facts kept as signals are evaluated and the
`deploying` fact; deploy.yml's `apps`, `calendar` and `bypass`, and the names they reference.
"""
from __future__ import annotations

import logging

from redis import Redis

from router.core.registry import Facts, Registry
from router.deploys import facts, lifecycle, progress, schema
from router.engine.loader import Problem, did_you_mean
from router.jobs import policy

log = logging.getLogger("sparky.deploys")


def register(registry: Registry) -> None:
    registry.add_facts(Facts("deploys", facts.FIELDS, record=_record_safely, gather=facts.gather))
    registry.add_extras("deploy", schema.EXTRAS)
    registry.add_check(references)


def _record_safely(conn: Redis, data: dict, signals: list[dict]) -> dict[str, str]:
    """Gate facts must never stop routing: a failure here is logged and the batch goes on."""
    try:
        return record(conn, data, signals)
    except Exception:  # noqa: BLE001
        log.exception("deploy facts of this batch not recorded")
        return {}


def record(conn: Redis, data: dict, signals: list[dict]) -> dict[str, str]:
    """Keep a batch's gate facts (facts.py) and queue a job for each deploy request they move."""
    todo = facts.record(conn, data, signals)
    if todo:
        _enqueue(conn, todo)
    return {}   # every signal goes on to the rules


def _enqueue(conn: Redis, todo: list[tuple[dict, str, str]]) -> None:
    with conn.pipeline() as pipe:
        for signal, kind, request_id in todo:
            if kind in ("jenkins", "github"):
                func, what = progress.progress_job, "progress"
            elif kind == "ref":
                func, what = lifecycle.push_job, "push"
            else:
                func, what = lifecycle.reconsider_job, "reconsider"
            policy.enqueue(conn, func, request_id, signal["id"], policy=policy.DEPLOY, pipeline=pipe,
                           job_id=f"sparky-deploy-{what}-{request_id}-{signal['id']}",
                           description=f"deploy {request_id}: {what} ({signal.get('kind')} {signal['id']})")
        pipe.execute()




def references(data: dict, docs: dict, rulesets: list, known: set[str]) -> list[Problem]:
    """People and groups deploy.yml names (a `deploy` action's approvers, `bypass.allow`) exist."""
    groups = set(data.get("groups", {}))
    out: list[Problem] = []
    for ruleset in rulesets:
        for rule in ruleset.rules:
            for action in rule.actions:
                approvers = action.params.get("approvers") if action.name == "deploy" else None
                if approvers and approvers not in known:
                    out.append(Problem(ruleset.display, action.line,
                                       f'rule "{rule.name}": action "deploy": unknown group "{approvers}"'
                                       f'{did_you_mean(approvers, groups)}'))
        for name in (ruleset.extras.get("bypass") or {}).get("allow", []):
            if name not in known:
                out.append(Problem(ruleset.display, ruleset.line,
                                   f'bypass: unknown person or group "{name}"{did_you_mean(name, known)}'))
    return out
