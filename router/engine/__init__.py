"""The rules engine: rule files (SPEC §4) compiled to durable-rules, checked, tested, explained.

Modules, in the order a signal meets them:
    loader     YAML with line numbers, `Problem`, "did you mean"
    schema     strict marshmallow schemas for rule files and data files
    conditions `when:` → condition tree, and its plain-Python meaning
    ruleset    one file → `Ruleset` (rules, actions, inline tests)
    compile    `Ruleset` → durable-rules JSON + fields computed in Python
    limits     engine limits checked at load time
    rules      a whole rules dir → `Rules` (one version)
    check      `sparky rules check`: load + engine build + inline tests (in a child process)
    store      versions in the brain, publish, hot reload
    facts      signal → context, brain-derived fields and count windows in one round trip
    evaluate   the durable-rules wrapper (lock, sessions, fork safety)
    explain    rule order, `continue`, first failing condition; the plain-Python reference
    results    `evaluate()`: SPEC §4's result JSON per signal
    decisions  the evaluation job: decisions + action jobs, exactly once
    explained  a stored decision's `not_matched`, computed when it is read (`why`, the API)
"""
from router.engine.check import CheckResult, check_dir, check_files
from router.engine.decisions import decide
from router.engine.loader import Problem, RulesError
from router.engine.results import evaluate as evaluate_signals
from router.engine.rules import Rules, load, version_of
from router.engine.store import RulesUnavailable, current, in_force, publish, reload, reload_files

__all__ = ["CheckResult", "Problem", "Rules", "RulesError", "RulesUnavailable", "check_dir", "check_files",
           "current", "decide", "evaluate_signals", "in_force", "load", "publish", "reload", "reload_files",
           "version_of"]
