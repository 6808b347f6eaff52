"""`sparky brain export|import`: every type of key round-trips with its TTL, through the real CLI."""
from __future__ import annotations

import json

from click.testing import CliRunner

from router.cli.main import main
from router.core import brain


def fill(redis):
    redis.set(brain.key_signal("s1"), json.dumps({"id": "s1"}), ex=3600)
    redis.hset(brain.key_alert("web-01/HTTP"), mapping={"status": "firing", "acked_by": "alice"})
    redis.rpush(brain.key_dead_letters(), "b", "a")
    redis.sadd(brain.key_firing(), "fp1", "fp2")
    redis.zadd(brain.key_snoozes(), {"z1": 10.5})
    redis.set(brain.key_lock("bin"), b"\xff\x00")
    brain.audit(redis, "snooze", user="alice", reason="maintenance")
    redis.set("rq:not-ours", "x")


def test_export_import_round_trip(redis, redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKY_REDIS_URL", redis_url)
    fill(redis)
    runner = CliRunner()
    out = tmp_path / "brain.json"
    result = runner.invoke(main, ["brain", "export", str(out)])
    assert result.exit_code == 0, result.output
    assert "exported 7 keys" in result.output
    data = json.loads(out.read_text())
    assert "rq:not-ours" not in data["keys"]
    before = {k: data["keys"][k]["value"] for k in data["keys"]}

    redis.flushdb()
    result = runner.invoke(main, ["brain", "import", str(out)])
    assert result.exit_code == 0 and "imported 7 keys" in result.output
    again = json.loads(json.dumps(__import__("router.core.backup", fromlist=["x"]).export(redis)))
    assert {k: again["keys"][k]["value"] for k in again["keys"]} == before
    assert 3500 < redis.ttl(brain.key_signal("s1")) <= 3600
    assert redis.get(brain.key_lock("bin")) == b"\xff\x00"
    assert redis.xlen(brain.key_audit()) == 1


def test_import_keeps_existing_unless_replace(redis, redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKY_REDIS_URL", redis_url)
    redis.set(brain.key_lock("x"), "old")
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"format": "sparky-brain/1",
                                "keys": {brain.key_lock("x"): {"type": "string", "ttl_ms": None, "value": "new"}}}))
    assert CliRunner().invoke(main, ["brain", "import", str(path)]).exit_code == 0
    assert redis.get(brain.key_lock("x")) == b"old"
    assert CliRunner().invoke(main, ["brain", "import", "--replace", str(path)]).exit_code == 0
    assert redis.get(brain.key_lock("x")) == b"new"


def test_import_refuses_foreign_files(redis, redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKY_REDIS_URL", redis_url)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "sparky-brain/1", "keys": {"rq:queue:x": {"type": "list", "value": []}}}))
    result = CliRunner().invoke(main, ["brain", "import", str(path)])
    assert result.exit_code == 1
    assert "rq:queue:x: outside the 'sparky:' prefix" in result.output
