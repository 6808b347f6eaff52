"""`sparky rules check`: everything wrong with a rules dir, one `file:line: message` per problem.

Three stages, each only when the one before found nothing:
1. load (rules.py): YAML, schemas, conditions, actions, order, references, engine limits;
2. the engine build and the inline `tests:`, in a child process with a timeout (validate.py),
   because a ruleset shape durable-rules cannot handle hangs or crashes instead of raising;
3. nothing else: a ruleset that passes is safe to publish.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from router.core.config import PROJECT_ROOT
from router.core.registry import current
from router.core.signal import SignalSchema, ValidationError
from router.engine.loader import Problem, did_you_mean, display_path, read_dir
from router.engine.results import evaluate
from router.engine.rules import Rules, load
from router.engine.schema import problems as schema_problems

CHECK_TIMEOUT = 30.0  # seconds for the child process to build every ruleset and run the tests


@dataclass
class CheckResult:
    rules: Rules | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_dir(path: Path | str, engine: bool = True) -> CheckResult:
    path = Path(path)
    display = display_path(path)
    if not path.is_dir():
        return CheckResult(None, [Problem(display, 0, "not a directory")])
    return check_files(read_dir(path), display, engine=engine)


def check_files(files: dict[str, str], display_dir: str, engine: bool = True,
                timeout: float = CHECK_TIMEOUT) -> CheckResult:
    if not files:
        return CheckResult(None, [Problem(display_dir, 0, "no rule files (*.yml) here")])
    rules, problems = load(files, display_dir)
    if problems:
        return CheckResult(None, problems)
    problems = validate_in_child(files, display_dir, timeout) if engine else run_inline_tests(rules)
    return CheckResult(None if problems else rules, problems)


def validate_in_child(files: dict[str, str], display_dir: str, timeout: float = CHECK_TIMEOUT) -> list[Problem]:
    """Build the rulesets and run the inline tests in a child process; a hang or crash is a problem.

    In a worker this runs in the scan cron's thread while RQ may fork its scheduler from the main
    thread, and a fork that lands while a pipe to the child is open keeps a copy of its ends: the
    child then never sees the end of its input, and Popen's own exec-status pipe never closes, so
    the parent hangs for good (both seen in tests/jobs/test_worker_process.py). Hence no pipes
    at all: the request and the answers go through temporary files, and the child is started with
    posix_spawn (what subprocess uses when close_fds is off, no cwd is given and stdio are not fds
    0-2), which reports a failed exec without a pipe. Sparky opens no inheritable descriptors
    (PEP 446), so close_fds=False passes the child nothing else.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    with tempfile.TemporaryFile("w+") as request, tempfile.TemporaryFile("w+") as out, \
            tempfile.TemporaryFile("w+") as err:
        request.write(json.dumps({"files": files, "display_dir": display_dir}))
        request.seek(0)
        # The child must know the same actions, facts and commands: the composition root says how
        # to start a process assembled like this one (router/assembly.py); validate.py is its body.
        proc = subprocess.Popen(list(current().child), stdin=request, stdout=out,
                                stderr=err, text=True, env=env, close_fds=False)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            out.seek(0)
            where = _last_step(out.read())
            return [Problem(where or display_dir, 0, f"the rules engine did not finish building and testing "
                                                     f"this within {timeout:g}s (a ruleset shape it hangs on)")]
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        where = _last_step(stdout)
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
        tail = (stderr.strip().splitlines() or [""])[-1]
        return [Problem(where or display_dir, 0, f"the rules engine crashed ({how}) on this file"
                                                 + (f": {tail}" if tail else ""))]
    answer = json.loads(stdout.strip().splitlines()[-1])
    return [Problem(*p) for p in answer["problems"]]


def _last_step(stdout: str | bytes | None) -> str:
    if isinstance(stdout, bytes):
        stdout = stdout.decode("utf-8", "replace")
    steps = [line[len("step "):] for line in (stdout or "").splitlines() if line.startswith("step ")]
    return steps[-1] if steps else ""


def run_inline_tests(rules: Rules, progress=None) -> list[Problem]:
    """Run every ruleset's `tests:` with the real engine and no brain (brain fields from `brain:`)."""

    problems = []
    for compiled in rules.rulesets:
        ruleset = compiled.ruleset
        if progress:
            progress(ruleset.display)
        names = [r.name for r in ruleset.rules]
        for test in ruleset.tests:
            label = f"test {test.number}" + (f' ("{test.name}")' if test.name else "")
            unknown = [n for n in test.expect if n not in names]
            if unknown:
                problems += [Problem(ruleset.display, test.line, f'{label}: expects unknown rule "{n}"'
                                                                 f'{did_you_mean(n, names)}') for n in unknown]
                continue
            signal_data = dict(test.signal)
            if test.at and "received_at" not in signal_data:
                signal_data["received_at"] = _iso(test.at)
            try:
                signal = SignalSchema().make(signal_data).to_dict()
            except ValidationError as exc:
                found = schema_problems(exc.messages, test.signal, ruleset.display, f"{label}: signal: ",
                                        SignalSchema(), test.line)
                problems += [Problem(p.file, p.line or test.line, p.message) for p in found]
                continue
            now = _epoch(test.at) if test.at else None
            result = evaluate(None, _only(rules, compiled), [signal], now=now, brain=[test.brain])[0]
            outcome = result["rulesets"][ruleset.name]
            got = [m["rule"] for m in outcome["matched"]]
            if got != list(test.expect):
                why = ""
                missing = [n for n in test.expect if n not in got]
                if missing:
                    failed = next((m["failed"] for m in outcome["not_matched"] if m["rule"] == missing[0]), "")
                    why = f'; rule "{missing[0]}" failed at {failed}' if failed else ""
                if outcome.get("error"):
                    why = f"; engine error: {outcome['error']}"
                problems.append(Problem(ruleset.display, test.line,
                                        f"{label}: expected {json.dumps(list(test.expect))}, got {json.dumps(got)}{why}"))
    return problems


def _only(rules: Rules, compiled) -> Rules:
    return Rules(version=rules.version, files=rules.files, rulesets=[compiled], data=rules.data,
                 display_dir=rules.display_dir)


def _iso(text: str) -> str:
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.isoformat()


def _epoch(text: str) -> float:
    return dt.datetime.fromisoformat(_iso(text)).timestamp()
