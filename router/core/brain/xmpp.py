"""The XMPP hand-over: workers queue posts for the one `sparky xmpp` process and wait for receipts."""
from __future__ import annotations

from router.core.brain.base import PREFIX

XMPP_RECEIPT_TTL = 120      # a receipt nobody waits for any more (the worker timed out) expires
XMPP_HOLDER_TTL = 10        # the holder refreshes every few seconds; a dead one's claim runs out


def key_xmpp_outbox() -> str:
    """List of posts (JSON) for `sparky xmpp` to send: workers RPUSH, the holder BLPOPs."""
    return f"{PREFIX}xmpp:outbox"


def key_xmpp_receipt(nonce: str) -> str:
    """List per post attempt: the holder's one receipt (sent, failed, expired), BLPOPed by the worker."""
    return f"{PREFIX}xmpp:receipt:{nonce}"


def key_xmpp_holder() -> str:
    """JSON: which `sparky xmpp` holds the bot's connection (pid, host, online, rooms); the lock
    that keeps a second one from answering every command twice."""
    return f"{PREFIX}xmpp:holder"
