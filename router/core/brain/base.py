"""The key prefix and the digest used to keep keys short: the only "sparky:" in the code."""
from __future__ import annotations

import hashlib

from router.core.times import utcnow

PREFIX = "sparky:"


def digest(value: str) -> str:
    """A short stable digest for values (fingerprints, delivery keys) that go into key names."""
    return hashlib.sha1(value.encode("utf-8")).hexdigest()


def now_iso() -> str:
    return utcnow()
