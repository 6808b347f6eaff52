"""XMPP (Jabber) as a chat platform: multi-user chat rooms (XEP-0045) and direct messages.

One process, `sparky xmpp` (router/cli/xmpp.py, started by `sparky up` when XMPP_JID is set),
holds the bot's connection: it joins XMPP_ROOMS, takes the commands addressed to it in as chat
signals, and sends what the workers queue for it. Workers on any host never connect to the server
themselves: they queue a post in Redis and wait for its receipt (outbox.py). The modules:

- address.py: `xmpp:…` room names → a room JID or a person's JID
- render.py:  a chat.Message → plain body + XHTML-IM, buttons as reply hints (pure)
- outbox.py:  the Redis hand-over, both sides: pace, queue, receipt, delivery marker
- holder.py:  the lock that keeps to one `sparky xmpp`, with its state (online, rooms) for the workers
- client.py:  the slixmpp client (imported by `sparky xmpp` only): reconnects, rooms, archive
- service.py: the `sparky xmpp` process: the client, the outbox pump, the holder lock
"""
