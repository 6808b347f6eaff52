"""router/core/connections.py: the Redis URL forms, and a client that follows the primary."""
from __future__ import annotations

import pytest
from redis.sentinel import SentinelConnectionPool

from router.core import connections
from router.core.config import Config, ConfigError
from router.core.connections import BadRedisURL, SentinelAddress, parse_sentinel_url
from tests.sentinels import SentinelRedis, wait_until


def test_the_sentinel_url_names_the_sentinels_the_service_and_the_db():
    assert parse_sentinel_url("redis+sentinel://s1:26379,s2:26380,[::1]:26381/mymaster/3") == SentinelAddress(
        sentinels=(("s1", 26379), ("s2", 26380), ("::1", 26381)), service="mymaster", db=3)


def test_the_sentinel_url_defaults_port_and_db_and_carries_passwords():
    address = parse_sentinel_url("rediss+sentinel://app:p%40ss@s1,s2:1/svc?sentinel_password=x")
    assert address.sentinels == (("s1", 26379), ("s2", 1))
    assert (address.db, address.username, address.password, address.sentinel_password) == (0, "app", "p@ss", "x")
    assert address.ssl


@pytest.mark.parametrize("url, says", [
    ("redis+sentinel://s1:26379", "service_name"),
    ("redis+sentinel://s1:26379/svc/zero", "must be a number"),
    ("redis+sentinel://s1:26379/svc/0/extra", "service_name"),
    ("redis+sentinel:///svc", "no sentinel"),
    ("redis+sentinel://s1:port/svc", "not host:port"),
    ("redis+sentinel://s1/svc?sentinel_pasword=x", "sentinel_pasword"),
])
def test_a_bad_sentinel_url_says_what_is_wrong(url, says):
    with pytest.raises(BadRedisURL, match=says):
        parse_sentinel_url(url)


def test_errors_and_logs_do_not_show_the_password():
    assert connections.redact("redis+sentinel://app:secret@s1/svc") == "redis+sentinel://app:***@s1/svc"
    assert connections.redact("redis+sentinel://s1/svc?sentinel_password=secret") == \
        "redis+sentinel://s1/svc?sentinel_password=***"
    assert connections.redact("redis://h:6379/0") == "redis://h:6379/0"
    with pytest.raises(BadRedisURL) as caught:
        parse_sentinel_url("redis+sentinel://:secret@s1/svc/x")
    assert "secret" not in str(caught.value)


def test_the_environment_pair_is_the_url_form():
    config = Config.from_env({"SPARKY_REDIS_SENTINELS": "10.0.0.1:26379, 10.0.0.2:26379",
                              "SPARKY_REDIS_SERVICE": "sparky"})
    assert config.redis_url == "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/sparky"
    assert Config.from_env({"SPARKY_REDIS_URL": "redis://h:6379/0"}).redis_url == "redis://h:6379/0"


@pytest.mark.parametrize("env, says", [
    ({"SPARKY_REDIS_SENTINELS": "s1:26379"}, "SPARKY_REDIS_SERVICE"),
    ({"SPARKY_REDIS_SERVICE": "sparky"}, "SPARKY_REDIS_SENTINELS"),
    ({"SPARKY_REDIS_SENTINELS": "s1:26379", "SPARKY_REDIS_SERVICE": "x", "SPARKY_REDIS_URL": "redis://h"},
     "not both"),
    ({"SPARKY_REDIS_URL": "redis+sentinel://s1:26379"}, "service_name"),
])
def test_a_half_or_double_configuration_is_refused_at_start(env, says):
    with pytest.raises(ConfigError, match=says):
        Config.from_env(env)


def test_a_plain_url_is_a_plain_client(redis_url):
    conn = connections.connect(redis_url, socket_timeout=5)
    assert conn.ping()
    assert not isinstance(conn.connection_pool, SentinelConnectionPool)


@pytest.mark.slow   # ~12 s: the sentinel demotes the old primary on its next 10 s INFO round
def test_a_sentinel_client_finds_the_primary_and_follows_it_through_a_failover(tmp_path):
    cluster = SentinelRedis(tmp_path, replicas=1, sentinels=1, quorum=1).start()
    try:
        conn = connections.connect(cluster.url, socket_timeout=5)
        conn.set("k", "before")
        assert cluster.primary.client.get("k") == "before"
        old = cluster.primary.port
        # A planned switch (no waiting for a down-after): once the old primary has turned replica,
        # the client's next write meets READONLY (or a closed connection), asks the sentinels
        # again and lands on the new primary — in the same call, no retry by the caller.
        cluster.sentinels[0].client.execute_command("SENTINEL", "FAILOVER", "sparky")
        wait_until(lambda: cluster.master_port() not in (0, old), 20, "the switch")
        wait_until(lambda: cluster.primary.client.info("replication")["role"] == "slave", 20, "the demotion")
        assert conn.set("k", "after")
        assert conn.connection_pool.get_master_address()[1] == cluster.replicas[0].port
        wait_until(lambda: cluster.primary.client.get("k") == "after", 10, "the write replicated back")
        assert cluster.replicas[0].client.get("k") == "after"
        assert cluster.replicas[0].client.info("replication")["role"] == "master"
    finally:
        cluster.stop()


def test_failover_refusals_are_outages_and_bad_commands_are_not():
    from redis.exceptions import ReadOnlyError, ResponseError
    from redis.sentinel import MasterNotFoundError

    assert connections.is_outage(ReadOnlyError("You can't write against a read only replica."))
    assert connections.is_outage(MasterNotFoundError("No master found for 'sparky'"))
    assert connections.is_outage(ResponseError("NOREPLICAS Not enough good replicas to write."))
    assert not connections.is_outage(ResponseError("ERR Invalid stream ID specified as stream command argument"))
    # a Lua script's refused write arrives wrapped in the script's error
    assert connections.is_outage(ResponseError(
        "Error running script (call to f_4eab): @user_script:24: @user_script: 24: -READONLY You can't write "
        "against a read only replica."))
    assert not connections.is_outage(ResponseError(
        "Error running script (call to f_4eab): @user_script:3: @user_script: 3: -ERR wrong number of arguments"))


def test_sparky_config_shows_the_redis_url_without_its_password():
    from router.core.config import describe

    shown = dict(describe({"SPARKY_REDIS_URL": "redis+sentinel://app:hunter2@s1:26379/sparky"}))
    assert shown["SPARKY_REDIS_URL"] == "redis+sentinel://app:***@s1:26379/sparky"
