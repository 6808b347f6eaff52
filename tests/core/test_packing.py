"""Commands packed by hiredis (router/core/packing.py) are byte for byte what redis-py sends, and
what it refuses is still refused the same way."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis._parsers.encoders import Encoder
from redis.connection import PythonRespSerializer
from redis.exceptions import DataError

from router.core import connections
from router.core.packing import PACKER

REDIS_PY = PythonRespSerializer(6000, Encoder("utf-8", "strict", False).encode).pack
ARGS = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",))), st.binary(),
                 st.integers(min_value=-2**63, max_value=2**63), st.floats(allow_nan=False))


@given(st.lists(ARGS, max_size=12))
def test_same_bytes_as_redis_py(args):
    assert b"".join(PACKER.pack("EVALSHA", *args)) == b"".join(REDIS_PY("EVALSHA", *args))


@pytest.mark.parametrize("command", ["CLIENT SETNAME", b"CLIENT SETNAME"])
def test_a_command_of_two_words_is_sent_as_two(command):
    assert b"".join(PACKER.pack(command, "me")) == b"".join(REDIS_PY(command, "me")) \
        == b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$2\r\nme\r\n"


def test_other_types_go_to_redis_py():
    assert b"".join(PACKER.pack("SET", "k", memoryview(b"abc"))) == b"".join(REDIS_PY("SET", "k", memoryview(b"abc")))
    for bad in (None, True, {"a": 1}):
        with pytest.raises(DataError):
            PACKER.pack("SET", "k", bad)


def test_every_connection_sparky_makes_uses_it(redis_url):
    conn = connections.connect(redis_url)
    conn.set("packing:k", "é")
    assert conn.get("packing:k") == "é".encode()
    assert conn.eval("return {ARGV[1], ARGV[2], ARGV[3]}", 0, 1.5, 7, b"x") == [b"1.5", b"7", b"x"]
    assert conn.connection_pool.get_connection()._command_packer is PACKER
