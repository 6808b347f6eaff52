"""Redis commands packed in C: `hiredis.pack_command` over the arguments as they are.

Why: redis-py's own serializer runs every argument through Python first (`Encoder.encode`, and
checks for memoryviews — some 3 µs an argument), and Sparky's per-alert path sends many
arguments: ~35 for a one-alert POST, hundreds for a drain batch. Packing was 16 % of the web
tier's CPU per request and 23 % of a drain job's (bench/RESULTS.md). hiredis packs str (UTF-8),
bytes, int and float (as `repr`, which is what redis-py sends) itself; anything else — a
memoryview, a bool, None — goes to redis-py's own serializer, which packs it or raises DataError
exactly as before. redis-py takes a packer per connection (`command_packer`); connections.py
passes this one to every connection Sparky makes.
"""
from __future__ import annotations

import hiredis
from redis._parsers.encoders import Encoder
from redis.connection import PythonRespSerializer

_CUTOFF = 6000   # redis-py's own buffer cut-off for large values


class Packer:
    """A redis-py command packer: `pack(*args) -> [bytes]`."""

    def __init__(self):
        self._fallback = PythonRespSerializer(_CUTOFF, Encoder("utf-8", "strict", False).encode).pack

    def pack(self, *args):
        first = args[0]
        # A command name with a space ("CLIENT SETNAME") is sent as its words, as redis-py does.
        if isinstance(first, str):
            if " " in first:
                args = (*first.split(), *args[1:])
        elif b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            return self._fallback(*args)


PACKER = Packer()
