"""What the rules being loaded may name, for the checks deep in loading to read.

The catalogue, the brain-derived fields, the chat commands and the extra file keys come from the
registry (router/core/registry.py `Vocabulary`): the engine imports no feature. `load` sets the
vocabulary for the duration of one load (a context variable, so concurrent loads in threads do
not see each other's); without one, the process's registry is used.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from router.core.registry import Vocabulary, current

_active: ContextVar[Vocabulary | None] = ContextVar("vocabulary", default=None)


def active() -> Vocabulary:
    return _active.get() or current().vocabulary()


@contextmanager
def using(vocabulary: Vocabulary | None) -> Iterator[Vocabulary]:
    """Load with `vocabulary` (default: the registry's, or the one already set)."""
    chosen = vocabulary or active()
    token = _active.set(chosen)
    try:
        yield chosen
    finally:
        _active.reset(token)
