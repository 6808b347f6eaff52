"""The bot's XMPP connection (slixmpp): rooms, commands in, posts out, reconnects, the archive.

Runs on the asyncio loop of `sparky xmpp` (service.py); nothing here touches Redis. What it does
that slixmpp does not do by itself:
- Reconnects after the server closes the stream or the connection dies (slixmpp stays offline),
  with a capped, jittered exponential backoff (BACKOFF) instead of slixmpp's 3, 9, 21 … 300 s.
  That overrides `reschedule_connection_attempt` and sets slixmpp's `_connect_loop_wait`, which is
  why setup.cfg pins slixmpp to the minor version the suite runs (tests/chat/xmpp/ guard it).
- Joins XMPP_ROOMS after every (re)connection without history (an old `sparky: …` must not run
  again), and posts to a room only while it is in it: a room message slixmpp held while offline
  would be flushed before the rejoin and bounced by the room (lost).
- Confirms each post: a room echoes the message back to its sender (matched by our id); for a
  direct message the server's answer to a ping sent right behind it (the stream is ordered, and a
  refusal, such as an unknown local user, comes back before the pong).
- Looks a delivery up in the archive (XEP-0313: the room's, or the bot's own for direct messages)
  before posting again something whose first attempt went unconfirmed.
- Commands: a room message that starts with the nick (`sparky: alerts`, `sparky, alerts`) or any
  direct message; delayed ones (history, offline storage) and its own are ignored, so a command
  typed while Sparky was away is not run later by surprise.
"""
from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections import deque
from typing import Awaitable, Callable

import slixmpp
from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout, XMPPError

from router.chat.xmpp import render
from router.chat.xmpp.outbox import stanza_id
from router.core.config import Config

log = logging.getLogger("sparky.xmpp")

PLUGINS = ("xep_0030", "xep_0004", "xep_0045", "xep_0059", "xep_0071", "xep_0199", "xep_0203",
           "xep_0297", "xep_0313", "xep_0359")
BACKOFF = (1.0, 60.0)       # seconds: first wait after a failed connection attempt, and the cap
JOIN_TIMEOUT = 15.0
REJOIN_EVERY = 30.0         # a room that refused the join (or timed out) is tried again this often
ARCHIVE_LOOKBACK = 100      # messages of the archive searched for an unconfirmed delivery
PING_TIMEOUT = 10.0
CONFIRM_WAIT = 10.0         # seconds a sent message waits at least for its echo or pong
SEEN = 500                  # stanza ids of received commands kept to drop a re-delivered one
RESOURCE = "sparky"

# on_command(room JID or "" for a direct message, sender's bare JID or "", nick, text, reply-to JID)
OnCommand = Callable[[str, str, str, str, str], Awaitable[None]]


class Dropped(Exception):
    """The connection dropped while a post waited for its confirmation."""


def addressed(body: str, nick: str) -> str | None:
    """The command in a room message addressed to `nick` (`sparky: alerts`), else None."""
    found = re.match(rf"^\s*@?{re.escape(nick)}\s*[:,]\s*(.*)$", body, re.IGNORECASE | re.DOTALL)
    return found.group(1).strip() if found else None


class Bot(slixmpp.ClientXMPP):
    """Sparky's account: call `start()` on the loop; `deliver(post)` for each queued post."""

    def __init__(self, config: Config, on_command: OnCommand, loop: asyncio.AbstractEventLoop,
                 on_change: Callable[[], None] = lambda: None, backoff: tuple[float, float] = BACKOFF):
        plugin_config = {}
        if config.xmpp_tls == "off":   # slixmpp refuses SASL on a plaintext stream unless told
            plugin_config["feature_mechanisms"] = {"unencrypted_scram": True, "unencrypted_plain": True}
        super().__init__(f"{config.xmpp_jid}/{RESOURCE}", config.xmpp_password, plugin_config=plugin_config,
                         loop=loop)
        self.config = config
        self.nick = config.nick
        self.rooms = [JID(r) for r in config.xmpp_rooms]
        self.on_command = on_command
        self.on_change = on_change
        self.backoff = backoff
        self.online = False
        self.joined: set[str] = set()
        self.stopping = False
        self.fatal = ""                       # why it gave up for good (a refused password)
        self.changed = asyncio.Event()        # set and replaced on every online/joined change
        self.dropped: asyncio.Future = loop.create_future()
        self.waiting: dict[str, asyncio.Future] = {}
        self.seen: deque[str] = deque(maxlen=SEEN)
        self.failures = 0
        self.ready_at = 0.0
        for plugin in PLUGINS:
            self.register_plugin(plugin)
        self.enable_direct_tls = config.xmpp_tls == "direct"
        self.enable_starttls = config.xmpp_tls == "starttls"
        self.enable_plaintext = config.xmpp_tls == "off"
        if config.xmpp_ca_certs:
            self.ca_certs = config.xmpp_ca_certs
        self.add_event_handler("session_start", self._session_start)
        self.add_event_handler("disconnected", self._disconnected)
        self.add_event_handler("failed_auth", self._failed_auth)
        self.add_event_handler("groupchat_message", self._groupchat)
        self.add_event_handler("message", self._message)
        self.add_event_handler("message_error", self._message_error)

    # -- connection -------------------------------------------------------------------------------

    def start(self) -> None:
        if self.config.xmpp_server:
            self.connect(self.config.xmpp_server, self.config.xmpp_port)
        else:
            self.connect()   # the JID's domain, through its DNS SRV records

    def reschedule_connection_attempt(self):
        """Capped exponential backoff with jitter between failed connection attempts."""
        if self._current_connection_attempt is None:
            return None
        base, cap = self.backoff
        self.failures += 1
        self._connect_loop_wait = min(cap, base * 2 ** (self.failures - 1)) * random.uniform(0.8, 1.2)
        self._current_connection_attempt = asyncio.ensure_future(self._connect_loop(), loop=self.loop)
        return self._current_connection_attempt

    def _changed(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()
        self.on_change()

    async def _session_start(self, _event) -> None:
        self.failures = 0
        self.dropped = self.loop.create_future()
        # Initial presence, or messages to the bare JID go to offline storage, not to us.
        self.send_presence()
        self.online = True
        self._changed()
        await asyncio.gather(*(self.join(room) for room in self.rooms))
        self.ready_at = time.time()
        log.info("XMPP: online as %s, in %s", self.boundjid, ", ".join(sorted(self.joined)) or "no room")

    async def join(self, room: JID) -> None:
        try:
            await self.plugin["xep_0045"].join_muc_wait(room, self.nick, maxstanzas=0, timeout=JOIN_TIMEOUT)
        except (asyncio.TimeoutError, XMPPError) as exc:
            log.warning("XMPP: could not join %s (%s); trying again in %gs", room, type(exc).__name__, REJOIN_EVERY)
            self.loop.call_later(REJOIN_EVERY, self._rejoin, room)
            return
        if self.online:
            self.joined.add(str(room.bare))
            self._changed()

    def _rejoin(self, room: JID) -> None:
        if self.online and str(room.bare) not in self.joined and not self.stopping:
            asyncio.ensure_future(self.join(room), loop=self.loop)

    def _disconnected(self, reason) -> None:
        was_online = self.online
        self.online = False
        self.joined.clear()
        if not self.dropped.done():
            self.dropped.set_result(True)
        if was_online and not self.stopping:
            log.warning("XMPP: disconnected (%s)", reason or "connection lost")
            self._changed()
        if not self.stopping and not self.fatal:
            self.start()   # slixmpp does not reconnect by itself; `connect` retries with backoff

    def _failed_auth(self, _event) -> None:
        self.fatal = f"the server refused {self.config.xmpp_jid}'s password (XMPP_JID, XMPP_PASSWORD)"
        log.error("XMPP: %s", self.fatal)
        self.stopping = True
        self._changed()

    # -- commands in ------------------------------------------------------------------------------

    def _fresh(self, msg) -> bool:
        """Not history, not offline storage, not a copy of one already taken."""
        if msg.get_plugin("delay", check=True) is not None:
            return False
        sid = msg.get_plugin("stanza_id", check=True)
        ident = sid["id"] if sid is not None else ""
        if ident:
            if ident in self.seen:
                return False
            self.seen.append(ident)
        return True

    def _groupchat(self, msg) -> None:
        if msg["type"] != "groupchat" or not msg["body"]:
            return
        room, nick = msg["from"].bare, msg["mucnick"]
        if nick == self.nick:
            waiter = self.waiting.get(msg["id"])
            if waiter is not None and not waiter.done():
                sid = msg.get_plugin("stanza_id", check=True)
                waiter.set_result(("sent", sid["id"] if sid is not None else msg["id"]))
            return
        if room not in self.joined or not self._fresh(msg):
            return
        text = addressed(msg["body"], self.nick)
        if text is None:
            return
        real = self.plugin["xep_0045"].get_jid_property(JID(room), nick, "jid")
        sender = JID(real).bare if real else ""
        asyncio.ensure_future(self.on_command(room, sender, nick, text, room), loop=self.loop)

    def _message(self, msg) -> None:
        if msg["type"] not in ("chat", "normal") or not msg["body"]:
            return
        sender = msg["from"].bare
        if sender in {str(r) for r in self.rooms} or sender == self.boundjid.bare or not self._fresh(msg):
            return   # a private message through a room (its sender's JID is not vouched for), or ours
        # directly, the nick in front is optional
        text = addressed(msg["body"], self.nick)
        text = msg["body"].strip() if text is None else text
        asyncio.ensure_future(self.on_command("", sender, msg["from"].user, text, sender), loop=self.loop)

    def _message_error(self, msg) -> None:
        waiter = self.waiting.get(msg["id"])
        if waiter is not None and not waiter.done():
            waiter.set_result(("failed", msg["error"]["condition"], msg["error"]["text"] or ""))

    # -- posts out --------------------------------------------------------------------------------

    def nicks(self, room: str) -> dict[str, str]:
        """Real bare JID → nick of the occupants of `room` (as far as the room shows them)."""
        muc, found = self.plugin["xep_0045"], {}
        for nick in muc.get_roster(JID(room)) or []:
            real = muc.get_jid_property(JID(room), nick, "jid")
            if real:
                found[JID(real).bare] = nick
        return found

    async def ready(self, room: str | None, deadline: float) -> bool:
        """Wait until connected (and in `room`); False when the deadline comes first or it stops."""
        while not (self.online and (room is None or room in self.joined)):
            left = deadline - time.time()
            if left <= 0 or self.stopping:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                return False
        return True

    async def deliver(self, post: dict) -> tuple:
        """Post once: ("sent", id, duplicate) | ("failed", condition, text) | ("expired", reason)."""
        sid, to, room = stanza_id(post), JID(post["to"]), post["groupchat"]
        verify = bool(post.get("verify"))
        while True:
            if not await self.ready(post["to"] if room else None, post["deadline"]):
                return ("expired", "not connected to the server" if not self.online else f"not in {post['to']}")
            if verify:
                found = await self.archived(post["to"], room, sid)
                if found:
                    return ("sent", found, True)
            if time.time() >= post["deadline"]:
                return ("expired", "the worker stopped waiting before it could be sent")
            plain, html = render.compose(post["parts"], self.nicks(post["to"]) if room else {})
            msg = self.make_message(mto=to, mbody=plain, mtype="groupchat" if room else "chat", mhtml=html)
            msg["id"] = sid
            msg["origin_id"]["id"] = sid
            waiter = self.loop.create_future()
            self.waiting[sid] = waiter
            dropped, confirm = self.dropped, None
            try:
                msg.send()
                confirm = waiter if room else asyncio.ensure_future(self._pinged(waiter, sid), loop=self.loop)
                # Sent: wait for the confirmation even past the worker's deadline, so that the
                # marker says "sent" for the retry of a worker that stopped waiting.
                done, _ = await asyncio.wait({confirm, dropped}, return_when=asyncio.FIRST_COMPLETED,
                                             timeout=max(CONFIRM_WAIT, post["deadline"] - time.time()))
                if confirm in done:
                    outcome = confirm.result()
                    return outcome if outcome[0] != "sent" else ("sent", outcome[1], False)
                if dropped in done:
                    verify = True   # sent or not? the archive will tell once connected again
                    continue
                return ("expired", "no confirmation from the server")
            finally:
                self.waiting.pop(sid, None)
                if confirm is not None and not room and not confirm.done():
                    confirm.cancel()

    async def _pinged(self, waiter: asyncio.Future, sid: str) -> tuple:
        """A direct message's confirmation: the server answered the ping queued behind it."""
        try:
            await self.plugin["xep_0199"].ping(timeout=PING_TIMEOUT)
        except IqError:
            pass   # an error answer is an answer: everything before it was read
        except IqTimeout:
            return ("expired", "the server did not answer a ping")
        if waiter.done():
            return waiter.result()      # the server bounced the message before answering
        return ("sent", sid)

    async def archived(self, jid: str, room: bool, sid: str) -> str | None:
        """The archive id of our message `sid` to `jid`, if the archive has it (None: not found,
        or no archive to ask: the caller posts again, at least once)."""
        mam = self.plugin["xep_0313"]
        where = dict(jid=JID(jid)) if room else dict(with_jid=JID(jid))
        try:
            async for result in mam.iterate(reverse=True, rsm={"max": 50}, total=ARCHIVE_LOOKBACK, **where):
                inner = result["mam_result"]["forwarded"]["stanza"]
                origin = inner.get_plugin("origin_id", check=True)
                if inner["id"] == sid or (origin is not None and origin["id"] == sid):
                    return result["mam_result"]["id"] or sid
        except (IqError, IqTimeout) as exc:
            log.info("XMPP: no archive to check %s in (%s); posting again", jid, type(exc).__name__)
        return None

    async def say(self, to: str, text: str, room: bool) -> None:
        """A plain message now, not through the outbox (the backlog is full: nothing can queue)."""
        if self.online and (not room or to in self.joined):
            self.send_message(mto=JID(to), mbody=text, mtype="groupchat" if room else "chat")

    async def stop(self) -> None:
        self.stopping = True
        self.cancel_connection_attempt()
        if self.is_connected():
            await self.disconnect(wait=1.0)
