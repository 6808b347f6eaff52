"""What the room is told about a deploy, and the job that tells it.

Every message goes out through `post_job` (router/chat/send.py's `send`: Slack or the built-in rooms,
one post per delivery key), queued rather than sent in place: the chat commands that change a
request cannot wait for Slack's pacing, and a retried job never posts twice. A request's news goes
to the room it was asked from, plus any room its rules name (`deploy: {room: ...}`); a request
from a terminal goes to the app's `room`, else #deploys.
"""
from __future__ import annotations

import dataclasses

from redis import Redis
from rq import Retry, get_current_job

from router.chat import send as chat
from router.core.brain import digest
from router.core.config import Config
from router.core.outcomes import Later
from router.deploys.apps import DEFAULT_ROOM
from router.jobs import policy


def head(request: dict) -> str:
    """`dp-4k7q2x` web-api main@abc1234 → production"""
    ref = f"{request['ref']}@{request['sha'][:7]}" if request["ref"] != request["sha"] else request["sha"][:7]
    return f"`{request['id']}` {request['app']} {ref} → {request['env']}"


def rooms(request: dict, app_room: str = "") -> list[str]:
    return list(dict.fromkeys(request.get("rooms") or [])) or [app_room or DEFAULT_ROOM]


def buttons(request: dict) -> tuple[chat.Button, ...]:
    return (chat.Button("Approve", "sparky_deploy_approve", f"approve {request['id']}", "primary"),
            chat.Button("Deny", "sparky_deploy_deny", f"deny {request['id']}", "danger"))


def post(conn: Redis, request: dict, event: str, text: str, emoji: str = "", context: str = "", url: str = "",
         mention: str = "", with_buttons: bool = False, app_room: str = "") -> None:
    """Queue the message about `event` of a request for each of its rooms (once per event)."""
    with conn.pipeline() as pipe:
        for room in rooms(request, app_room):
            key = f"deploy/{request['id']}/{event}/{room}"
            message = chat.Message(room=room, key=key, text=text, mention=mention, emoji=emoji,
                                   context=context or f"deploy {request['id']}", url=url,
                                   buttons=buttons(request) if with_buttons else (),
                                   meta={"deploy": request["id"], "event": event})
            fields = dataclasses.asdict(message)
            fields["buttons"] = [dataclasses.asdict(b) for b in message.buttons]
            policy.enqueue(conn, post_job, fields, policy=policy.DEPLOY, job_id=f"sparky-deploy-post-{_safe(key)}",
                           pipeline=pipe, description=f"deploy {request['id']}: {event} to {room}")
        pipe.execute()


def _safe(key: str) -> str:
    return digest(key)


def post_job(fields: dict) -> str | Retry:
    """RQ job: send one deploy message (at most once per its key)."""
    job = get_current_job()
    message = chat.Message(**{**fields, "buttons": tuple(chat.Button(**b) for b in fields.get("buttons") or ())})
    try:
        return chat.send(job.connection, Config.from_env(), message).describe()
    except Later as later:
        return policy.waited(later, job)
