"""Jenkins Notification plugin (JSON) → one `build` signal per phase.

The plugin posts up to four times per build (corpus README quirk 6): QUEUED and STARTED without
`build.status`, then the outcome in COMPLETED and again in FINALIZED (old plugins: FINISHED). The
three outcome phases share one delivery key, `<full_url>:outcome`, so reception keeps the first
and answers the other as a duplicate.

Choices where SPEC is silent:
- job: the `job/<a>/job/<b>/` segments of the job's relative `url` (so a multibranch branch job is
  `web-api/master` while `name` says only `master`); else of `build.full_url`; else `name`. Each
  segment is URL-decoded once, which gives Jenkins' own full name: a branch `feature/x` is the job
  `web-api/feature%2Fx` (its `branch` label says `feature/x`).
- branch: `build.scm.branch` without `origin/` or `refs/heads/`; when the plugin sends none (as
  multibranch pipelines' notifications often do), the last part of a job path of two or more
  parts, URL-decoded once more: `web-api/master` → `master`,
  `web-api/feature%2Fx` → `feature/x`. The payload cannot tell a multibranch project from a plain
  folder, so a job in a folder (`team/deploy`) gets its own name as `branch` too; a top-level
  freestyle job gets none.
- duration_s: whole seconds (rounded) of `build.duration` ms, only for outcome phases (the plugin
  sends 0 while the build runs).
- actor: the SCM culprits, comma-separated; text: the build log tail the plugin sends.
- An outcome phase without `build.status`, an unknown phase or status, or no build number → 400.
- Label `phase` (the plugin's phase name) is added; it lets rules tell COMPLETED from FINALIZED.
"""
from __future__ import annotations

from typing import Mapping
from urllib.parse import unquote

from router.core.signal import Signal
from sources.common import Refused, epoch_iso, first_line, json_object, require, seq, string

NAME = "jenkins"
AUTH = "token"

PHASE_STATUS = {"QUEUED": "queued", "STARTED": "started"}
OUTCOME_PHASES = frozenset({"COMPLETED", "FINALIZED", "FINISHED"})

BUILD_STATUS = {
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "UNSTABLE": "unstable",
    "ABORTED": "aborted",
    "NOT_BUILT": "aborted",
}

SEVERITY = {"failed": "warning"}

BRANCH_PREFIXES = ("origin/", "refs/heads/")


def load(raw: bytes, headers: Mapping[str, str]) -> dict:
    """Decode the plugin's JSON body (its XML format is refused with 415)."""
    return json_object(raw, headers)


def job_path(url: str) -> str:
    """`job/web-api/job/master/` (or a full build URL) → `web-api/master`."""
    if "://" in url:  # drop scheme and host: a Jenkins under /ci/ still has job/ pairs after it
        url = url.split("://", 1)[1].partition("/")[2]
    parts = [p for p in url.split("?", 1)[0].split("/") if p]
    names = [unquote(parts[i + 1]) for i in range(len(parts) - 1) if parts[i] == "job"]
    return "/".join(names)


def branch_of(job: str) -> str:
    """A multibranch branch job's branch: `web-api/feature%2Fx` → `feature/x`; "" for a top-level job."""
    if "/" not in job:
        return ""
    return unquote(job.rsplit("/", 1)[1])


def parse(payload: object, headers: Mapping[str, str]) -> list[Signal]:
    """One signal for one notification."""
    if not isinstance(payload, dict):
        raise Refused(400, f"expected a JSON object, got {type(payload).__name__}")
    build = payload.get("build")
    if not isinstance(build, dict):
        raise Refused(400, "build: missing")
    phase = require(string(build, "phase").upper(), "build.phase")
    if phase in OUTCOME_PHASES:
        raw_status = require(string(build, "status").upper(), "build.status")
        status = BUILD_STATUS.get(raw_status)
        if status is None:
            raise Refused(400, f"build.status: unknown {raw_status!r}")
    elif phase in PHASE_STATUS:
        status = PHASE_STATUS[phase]
    else:
        raise Refused(400, f"build.phase: unknown {phase!r}")

    full_url = string(build, "full_url")
    job = job_path(string(payload, "url")) or job_path(full_url) or string(payload, "name")
    job = require(job, "name")
    number = require(string(build, "number"), "build.number")
    branch = string(build, "scm", "branch")
    for prefix in BRANCH_PREFIXES:
        if branch.startswith(prefix):
            branch = branch[len(prefix):]
            break
    branch = branch or branch_of(job)
    labels = {
        "job": job,
        "build": number,
        "branch": branch,
        "sha": string(build, "scm", "commit"),
        "phase": phase,
    }
    duration = build.get("duration")
    if phase in OUTCOME_PHASES and isinstance(duration, (int, float)) and not isinstance(duration, bool) \
            and 0 <= duration < 10**15:
        labels["duration_s"] = str(round(duration / 1000))

    subject = f"{job} #{number}"
    base = full_url or subject
    culprits = [c for c in seq(build, "scm", "culprits") if isinstance(c, str) and c]
    return [Signal(
        source=NAME,
        kind="build",
        status=status,
        severity=SEVERITY.get(status, "info"),
        subject=subject,
        fingerprint=job,
        labels={k: v for k, v in labels.items() if v},
        summary=first_line(f"{subject} {status}" + (f" ({branch})" if branch else "")),
        text=string(build, "log"),
        url=full_url,
        actor=", ".join(culprits),
        occurred_at=epoch_iso(build.get("timestamp"), per_second=1000),
        dedup=f"{base}:outcome" if phase in OUTCOME_PHASES else f"{base}:{phase}",
    )]

