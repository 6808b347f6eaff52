"""The key prefix and the digest used to keep keys short: the only "sparky:" in the code."""
from __future__ import annotations

import hashlib

from router.core.times import utcnow

PREFIX = "sparky:"


def digest(value: str, length: int = 40) -> str:
    """A short stable digest for values (fingerprints, delivery keys) that go into key names and
    job ids (which allow only letters, digits, "-" and "_")."""
    return hashlib.sha1(value.encode("utf-8")).hexdigest()[:length]


def now_iso() -> str:
    return utcnow()


_SCRIPTS: dict[str, object] = {}


def script(conn, text: str, keys: list, args: list, client=None):
    """Run a Lua script by its SHA (EVALSHA; loaded once per server), not by sending its text."""
    registered = _SCRIPTS.get(text)
    if registered is None:
        registered = _SCRIPTS[text] = conn.register_script(text)
    return registered(keys=keys, args=args, client=client if client is not None else conn)
