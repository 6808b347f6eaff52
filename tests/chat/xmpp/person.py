"""A person on the test Prosody: a second slixmpp client driven from the test's (synchronous) code.

Each person runs its own asyncio loop in a daemon thread; the test calls into it with `call()` and
waits on its `Sink`, a thread-safe log of what it received. Like a real chat client, a person who
drops out rejoins the room asking for the history since then, so a message posted while they were
away still reaches them (as a delayed copy): counting unique stanza-ids per message then tells
"posted once" from "posted twice".
"""
from __future__ import annotations

import asyncio
import inspect
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import slixmpp
from slixmpp import JID


@dataclass
class Item:
    kind: str
    data: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.data.get(key)


class Sink:
    """Thread-safe event log: the person's loop puts, the test waits."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.cond = threading.Condition()

    def put(self, kind: str, **data: Any) -> None:
        with self.cond:
            self.items.append(Item(kind, data))
            self.cond.notify_all()

    def mark(self) -> int:
        with self.cond:
            return len(self.items)

    def find(self, pred: Callable[[Item], bool], since: int = 0) -> list[Item]:
        with self.cond:
            return [i for i in self.items[since:] if pred(i)]

    def wait_for(self, pred: Callable[[Item], bool], timeout: float, since: int = 0) -> Item | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for item in self.items[since:]:
                    if pred(item):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


class Client(slixmpp.ClientXMPP):
    def __init__(self, srv, user: str, password: str, rooms: list[str], sink: Sink,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(f"{srv.jid(user)}/laptop", password, loop=loop)
        self.srv, self.nick, self.rooms, self.sink = srv, user, [JID(r) for r in rooms], sink
        self.want_connected = True
        self.last_disconnect: datetime | None = None
        for plugin in ("xep_0030", "xep_0045", "xep_0059", "xep_0071", "xep_0203", "xep_0297", "xep_0313",
                       "xep_0359"):
            self.register_plugin(plugin)
        self.ca_certs = srv.ca_cert
        self.enable_direct_tls = False
        self.add_event_handler("session_start", self._session_start)
        self.add_event_handler("disconnected", self._disconnected)
        self.add_event_handler("message", self._message)

    def reschedule_connection_attempt(self):
        if self._current_connection_attempt is None:
            return None
        self._connect_loop_wait = 0.3   # a person's client retries briskly; the bot's backoff is tested
        self._current_connection_attempt = asyncio.ensure_future(self._connect_loop(), loop=self.loop)
        return self._current_connection_attempt

    async def _session_start(self, _event) -> None:
        self.send_presence()
        for room in self.rooms:
            history = (dict(since=self.last_disconnect - timedelta(seconds=1)) if self.last_disconnect
                       else dict(maxstanzas=0))
            await self.plugin["xep_0045"].join_muc_wait(room, self.nick, timeout=15, **history)
        self.sink.put("ready")

    def _disconnected(self, _reason) -> None:
        self.last_disconnect = datetime.now(timezone.utc)
        self.sink.put("disconnected")
        if self.want_connected:
            self.connect(*self.srv.address)

    def _message(self, msg) -> None:
        if not msg["body"]:
            return
        html = msg.get_plugin("html", check=True)
        sid = msg.get_plugin("stanza_id", check=True)
        self.sink.put(msg["type"], frm=str(msg["from"]), bare=msg["from"].bare, nick=msg["mucnick"],
                      body=msg["body"], html=html["body"] if html is not None else "", id=msg["id"],
                      stanza_id=sid["id"] if sid is not None else "",
                      delayed=msg.get_plugin("delay", check=True) is not None)

    def say(self, to: str, text: str, groupchat: bool) -> None:
        self.send_message(mto=JID(to), mbody=text, mtype="groupchat" if groupchat else "chat")

    async def origin_ids(self, room: str) -> list[str]:
        """The origin-ids of every message in the room's archive, oldest first."""
        found = []
        async for result in self.plugin["xep_0313"].iterate(jid=JID(room), rsm={"max": 100}):
            inner = result["mam_result"]["forwarded"]["stanza"]
            origin = inner.get_plugin("origin_id", check=True)
            found.append(origin["id"] if origin is not None else "")
        return found


class Person:
    """A person connected to the test server, in `rooms`; `close()` when done."""

    def __init__(self, srv, user: str, rooms: list[str] = (), timeout: float = 20.0) -> None:
        self.user, self.jid, self.sink = user, srv.jid(user), Sink()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"xmpp-{user}", daemon=True)
        self.thread.start()
        self.client: Client = self.call(lambda: Client(srv, user, f"{user}-pw", list(rooms), self.sink, self.loop))
        mark = self.sink.mark()
        self.call(lambda: self.client.connect(*srv.address))
        if self.sink.wait_for(lambda i: i.kind == "ready", timeout, since=mark) is None:
            self.close()
            raise TimeoutError(f"{user} did not get online in {timeout}s")

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 20.0) -> Any:
        async def runner() -> Any:
            result = fn(*args)
            return await result if inspect.isawaitable(result) else result
        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(timeout)

    def say(self, to: str, text: str, groupchat: bool = False) -> int:
        """Send; returns the sink's mark before it, to wait for the answer from."""
        mark = self.sink.mark()
        self.call(self.client.say, to, text, groupchat)
        return mark

    def wait(self, pred: Callable[[Item], bool], timeout: float = 15.0, since: int = 0) -> Item:
        found = self.sink.wait_for(pred, timeout, since)
        assert found is not None, f"{self.user} saw nothing matching in {timeout}s: " + repr(
            [(i.kind, i["body"]) for i in self.sink.items[since:]][-10:])
        return found

    def close(self) -> None:
        async def shutdown() -> None:
            self.client.want_connected = False
            self.client.cancel_connection_attempt()
            if self.client.is_connected():
                await self.client.disconnect(wait=1.0)
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            self.call(shutdown, timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()
