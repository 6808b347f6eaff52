"""SPARKY_REDIS_ACK_REPLICAS: a 2xx only once a replica has the signal (docs/ha.md), a 503 +
Retry-After otherwise, and the sender's retry answered as a duplicate — against a real primary
and replica."""
from __future__ import annotations

import pytest

from router.app import create_app
from router.core import brain
from router.core.config import Config
from tests.conftest import payload
from tests.sentinels import SentinelRedis, wait_until

pytestmark = pytest.mark.slow   # two redis-server processes and a 1 s WAIT


def test_intake_waits_for_the_replica_and_a_retry_is_a_duplicate(tmp_path):
    body, headers = payload("alertmanager/webhook.v4.firing.json")
    pair = SentinelRedis(tmp_path, replicas=1, sentinels=0).start()
    replica = pair.replicas[0]
    try:
        url = f"redis://127.0.0.1:{pair.primary.port}/0"
        client = create_app(Config(redis_url=url, data_dir=tmp_path / "var", redis_ack_replicas=1)).test_client()
        assert client.post("/hooks/alertmanager", data=body, headers=headers).status_code == 202

        replica.kill()
        refused = client.post("/hooks/alertmanager", data=body.replace(b"firing", b"resolved"), headers=headers)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert "not yet on 1 replica" in refused.get_json()["error"]
        # ...but stored on the primary all the same, so the retry is known
        stored = pair.primary.client.zcard(brain.key_pending())
        assert stored == 4

        replica.start()
        wait_until(lambda: replica.client.info("replication").get("master_link_status") == "up", 20, "resync")
        retried = client.post("/hooks/alertmanager", data=body.replace(b"firing", b"resolved"), headers=headers)
        assert retried.status_code == 202
        assert retried.get_json()["accepted"] == 0 and len(retried.get_json()["duplicate_of"]) == 2
        assert replica.client.zcard(brain.key_pending()) == 4
    finally:
        pair.stop()


def test_without_replicas_asked_for_nothing_waits(tmp_path, redis_url, redis):
    body, headers = payload("alertmanager/webhook.v4.firing.json")
    client = create_app(Config(redis_url=redis_url, data_dir=tmp_path / "var")).test_client()
    assert client.post("/hooks/alertmanager", data=body, headers=headers).status_code == 202


def test_a_read_only_brain_is_503_with_retry_after_never_500(tmp_path):
    """Pointed at a replica — what a client still connected to a demoted primary meets — every
    write is refused with READONLY: hooks and the API answer it as the outage it is."""
    body, headers = payload("alertmanager/webhook.v4.firing.json")
    pair = SentinelRedis(tmp_path, replicas=1, sentinels=0).start()
    try:
        url = f"redis://127.0.0.1:{pair.replicas[0].port}/0"
        client = create_app(Config(redis_url=url, data_dir=tmp_path / "var")).test_client()
        hook = client.post("/hooks/alertmanager", data=body, headers=headers)
        said = client.post("/api/rooms/ops/messages", json={"text": "anyone?", "user": "alice"})
        for answer in (hook, said):
            assert answer.status_code == 503, answer.get_json()
            assert answer.headers["Retry-After"] and "unreachable" in answer.get_json()["error"]
    finally:
        pair.stop()
