"""`sparky xmpp`: the one process that holds the bot's XMPP connection (router/cli/xmpp.py runs it).

Why one process: every connected client of the bot's account sees every command in its rooms, so
two would answer twice; a room post needs the sender to be in the room; and RQ's workers come and
go. So the connection lives here, in one asyncio loop, and the rest of Sparky talks to it through
Redis: workers on any host queue posts (outbox.py) and this process sends them, one pump reading
the outbox; commands said to the bot become chat signals through `take_in` (given by the caller:
reception is a layer above the chat seam), taken in as any hook's, and their replies come back
through the outbox like every other post.

The holder lock (holder.py) keeps a second `sparky xmpp` waiting until the first is gone.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Callable

from redis import Redis

from router.chat.xmpp import holder, outbox
from router.chat.xmpp.client import BACKOFF, Bot
from router.core.config import Config

log = logging.getLogger("sparky.xmpp")

PUMP_WAIT = 1.0     # seconds one BLPOP on the outbox waits: how soon a stop is noticed

# take_in(room name `xmpp:…`, sender's bare JID or "", nick, text) → a text to say back at once
# when the command could not even be queued (the backlog is full), else None.
TakeIn = Callable[[str, str, str, str], "str | None"]


class Service:
    """Holds the connection until `stop()` (from any thread or a signal handler)."""

    def __init__(self, config: Config, conn: Redis, take_in: TakeIn, backoff: tuple[float, float] = BACKOFF):
        self.config, self.conn, self.take_in, self.backoff = config, conn, take_in, backoff
        self.loop: asyncio.AbstractEventLoop | None = None
        self.bot: Bot | None = None
        self.record = holder.me()
        self.error = ""
        self.ready = threading.Event()      # online and in every room of XMPP_ROOMS (tests wait on it)
        self._stop = asyncio.Event()
        self._busy: dict[str, tuple[asyncio.Lock, int]] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- from other threads -----------------------------------------------------------------------

    def stop(self) -> None:
        if self.loop is not None and self.loop.is_running():
            self.loop.call_soon_threadsafe(self._stop.set)
        else:
            self._stop.set()

    def run(self) -> int:
        """Connect, join, pump posts until stopped; 0, or 1 with `error` said (a refused password)."""
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        finally:
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for task in pending:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.close()
        return 1 if self.error else 0

    # -- on the loop ------------------------------------------------------------------------------

    async def _main(self) -> None:
        if not await self._claim():
            return
        self.bot = Bot(self.config, self._on_command, self.loop, on_change=self._on_change, backoff=self.backoff)
        self.bot.start()
        pump = self._spawn(self._pump())
        beat = self._spawn(self._heartbeat())
        try:
            await self._stop.wait()
        finally:
            pump.cancel()
            beat.cancel()
            self.ready.clear()
            await self.bot.stop()
            await asyncio.to_thread(holder.release, self.conn, self.record)
            log.info("XMPP: stopped")

    async def _claim(self) -> bool:
        said = False
        while not await asyncio.to_thread(holder.claim, self.conn, self.record):
            if not said:
                other = await asyncio.to_thread(holder.current, self.conn) or {}
                log.warning("XMPP: another `sparky xmpp` (pid %s on %s) holds the connection; waiting for it",
                            other.get("pid", "?"), other.get("host", "?"))
                said = True
            try:
                await asyncio.wait_for(self._stop.wait(), holder.REFRESH)
                return False
            except asyncio.TimeoutError:
                continue
        return True

    def _spawn(self, coro) -> asyncio.Task:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_change(self) -> None:
        bot = self.bot
        if bot is None:
            return
        if bot.fatal:
            self.error = bot.fatal
            self._stop.set()
        rooms = {str(r) for r in bot.rooms}
        if bot.online and rooms <= bot.joined:
            self.ready.set()
        else:
            self.ready.clear()
        self._spawn(self._refresh())

    async def _heartbeat(self) -> None:
        while True:
            await self._refresh()
            await asyncio.sleep(holder.REFRESH)

    async def _refresh(self) -> None:
        bot = self.bot
        self.record.update(online=bool(bot and bot.online), rooms=sorted(bot.joined) if bot else [],
                           at=time.time())
        if not await asyncio.to_thread(holder.refresh, self.conn, self.record):
            self.error = "another `sparky xmpp` took the XMPP connection over"
            log.error("XMPP: %s; stopping", self.error)
            self._stop.set()

    async def _pump(self) -> None:
        while True:
            try:
                post = await asyncio.to_thread(outbox.take, self.conn, PUMP_WAIT)
            except Exception:  # noqa: BLE001  Redis away for a moment: the workers retry too
                log.exception("XMPP: could not read the outbox")
                await asyncio.sleep(PUMP_WAIT)
                continue
            if post is not None:
                self._spawn(self._deliver(post))

    async def _deliver(self, post: dict) -> None:
        """One post, one receipt; posts of the same delivery key one after the other."""
        key = post["key"]
        lock, users = self._busy.get(key, (asyncio.Lock(), 0))
        self._busy[key] = (lock, users + 1)
        try:
            async with lock:
                await self._deliver_one(post)
        finally:
            lock, users = self._busy[key]
            if users <= 1:
                del self._busy[key]
            else:
                self._busy[key] = (lock, users - 1)

    async def _deliver_one(self, post: dict) -> None:
        try:
            before = await asyncio.to_thread(outbox.sent_before, self.conn, post)
            if before is not None:
                await asyncio.to_thread(outbox.answer, self.conn, post, "sent", id=before, duplicate=True)
                return
            outcome = await self.bot.deliver(post)
            if outcome[0] == "sent":
                await asyncio.to_thread(outbox.mark_sent, self.conn, post, outcome[1], outcome[2])
            elif outcome[0] == "failed":
                log.warning("XMPP: %s refused the post %s: %s", post["to"], post["key"], outcome[1])
                await asyncio.to_thread(outbox.answer, self.conn, post, "failed", condition=outcome[1],
                                        reason=outcome[2])
            else:
                await asyncio.to_thread(outbox.answer, self.conn, post, "expired", reason=outcome[1])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  not sent (as far as we know): the worker retries
            log.exception("XMPP: post %s failed", post.get("key"))
            await asyncio.to_thread(outbox.answer, self.conn, post, "expired", reason=type(exc).__name__)

    async def _on_command(self, room: str, sender: str, nick: str, text: str, reply_to: str) -> None:
        name = f"xmpp:{room or sender}"
        try:
            say_back = await asyncio.to_thread(self.take_in, name, sender, nick, text)
        except Exception:  # noqa: BLE001  never a traceback to the person; the log has it
            log.exception("XMPP: could not take in a command from %s in %s", sender or nick, name)
            say_back = "Sorry, Sparky could not take that command in (logged); try again in a minute."
        if say_back:
            await self.bot.say(reply_to, say_back, room=bool(room))
