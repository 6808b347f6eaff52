"""Command signals on the worker: the `run_command` job, and how evaluation hands commands to it.

`enqueue_commands(conn, signal_ids)` is called by the evaluation job (router/jobs/queues.py) for
every batch; it queues one `run_command` job per chat command signal (source "chat", kind
"command"). The job runs the command once and delivers its reply once, whatever retries or
re-runs happen: a record per signal (`brain.key_command`) goes running → answered → delivered.
Slack has had its 200 long before: the hooks acknowledge at once.

A command whose job keeps failing (its reply cannot be delivered, its stored signal does not
load) is retried RETRY's bounded number of times; the last failure moves it to the dead letters
(router/pipeline/quarantine.py, stage "command"), marks its record "failed" so nothing runs it again, and
tells the person, in the room, that it could not be answered: never a traceback.
"""
from __future__ import annotations

import json
import logging
import time

from redis import Redis
from rq import get_current_job

from router.commands.channels import deliver
from router.commands.declare import Reply
from router.commands.execute import execute
from router.core import brain
from router.core.config import Config
from router.core.outcomes import Later
from router.jobs import policy
from router.jobs.guard import attempts_of, last_attempt
from router.pipeline import quarantine

log = logging.getLogger("sparky.commands")



def is_command(signal: dict) -> bool:
    return signal.get("source") == "chat" and signal.get("kind") == "command"


def enqueue_commands(conn: Redis, signal_ids: list[str]) -> list[str]:
    """Queue `run_command` for the chat command signals among `signal_ids`; returns their ids."""
    if not signal_ids:
        return []
    raws = conn.mget([brain.key_signal(sid) for sid in signal_ids])
    # Cheap byte test first: most batches hold no command at all.
    found = [sid for sid, raw in zip(signal_ids, raws)
             if raw and b'"command"' in raw and is_command(json.loads(raw))]
    if found:
        with conn.pipeline() as pipe:
            for sid in found:
                # A fixed job id: the same command queued twice (a retried evaluation) is one job.
                policy.enqueue(conn, run_command, sid, policy=policy.COMMAND, job_id=f"sparky-command-{sid}",
                               pipeline=pipe, description=f"chat command {sid}")
            pipe.execute()
    return found


def run_command(signal_id: str) -> object:
    """RQ job: run one chat command and send its reply where the command came from."""
    job = get_current_job()
    config = Config.from_env()
    try:
        return run_with(job.connection, config, signal_id)
    except Later as later:  # Slack pacing: come back when the channel's slot is due
        return policy.waited(later, job)
    except Exception as exc:  # noqa: BLE001  the command's own failure: bounded, then dead-lettered
        # The brain's or the job's own trouble is not blamed on the command: RQ retries it.
        if not quarantine.signals_fault(exc) or not last_attempt(job):
            raise
        return give_up(job.connection, config, signal_id, exc, attempts_of(job))


def give_up(conn: Redis, config: Config, signal_id: str, exc: BaseException, attempts: int) -> str:
    """The last attempt failed: dead letter, a "failed" record, and an apology where one can go."""
    letter = quarantine.dead_letter(conn, "command", signal_id, exc, attempts)
    _save(conn, signal_id, {"state": "failed", "dead_letter": letter["id"], "reason": letter["reason"]})
    apology = Reply(f"Sorry, your command could not be answered (dead letter {letter['id']}, logged).",
                    outcome="error", error_id=letter["id"])
    try:
        signal = brain.load_signal(conn, signal_id)
        if signal is not None:
            # In the room, not at response_url: that may be what keeps failing.
            labels = {k: v for k, v in (signal.get("labels") or {}).items() if k != "response_url"}
            deliver(conn, config, {**signal, "labels": labels}, apology)
    except Exception:  # noqa: BLE001  the apology is a courtesy; the dead letter is the record
        log.exception("could not tell the sender that command %s failed", signal_id)
    return f"failed after {attempts} attempts: {letter['reason']}"


def _record(conn: Redis, signal_id: str) -> dict | None:
    raw = conn.get(brain.key_command(signal_id))
    return json.loads(raw) if raw else None


def _save(conn: Redis, signal_id: str, record: dict) -> None:
    conn.set(brain.key_command(signal_id), json.dumps(record), ex=brain.COMMAND_TTL)


def run_with(conn: Redis, config: Config, signal_id: str) -> str:
    key = brain.key_command(signal_id)
    if conn.set(key, json.dumps({"state": "running", "at": time.time()}), nx=True, ex=brain.COMMAND_CLAIM_TTL):
        try:
            signal = brain.load_signal(conn, signal_id)
        except Exception:
            conn.delete(key)  # a retry must find it unclaimed, not "being run by another worker"
            raise
        if signal is None:
            conn.delete(key)
            return f"signal {signal_id} is gone"
        reply = execute(conn, config, signal)
        record = {"state": "answered", "reply": reply.as_dict()}
        _save(conn, signal_id, record)
    else:
        record = _record(conn, signal_id) or {"state": "running"}
        if record["state"] == "running":
            raise RuntimeError(f"command {signal_id} is being run by another worker; retrying later")
        if record["state"] == "delivered":
            return f"already answered: {record.get('where', '')}"
        if record["state"] == "failed":
            return f"already given up: dead letter {record.get('dead_letter', '')}"
        signal = brain.load_signal(conn, signal_id)
        if signal is None:
            return f"signal {signal_id} is gone"
    reply = Reply.from_dict(record["reply"])
    where = deliver(conn, config, signal, reply)
    _save(conn, signal_id, {**record, "state": "delivered", "where": where})
    return f"{reply.outcome}: {where}"


def run_here(conn: Redis, config: Config, signal: dict) -> Reply:
    """Run a command in this process (the CLI): same execution, reply returned, nothing queued."""
    reply = execute(conn, config, signal)
    _save(conn, signal["id"], {"state": "delivered", "reply": reply.as_dict(), "where": "printed"})
    return reply
