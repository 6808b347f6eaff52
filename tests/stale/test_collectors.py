"""The collectors' pure parts on the captured inventory files (tests/payloads/inventory)."""

from __future__ import annotations

import json

import pytest

from router.core.http import Client
from router.stale import artifactory, chef, inventory
from tests.conftest import PAYLOADS

INVENTORY = PAYLOADS / "inventory"


def test_knife_search_attributes_and_status_text_and_json_read_alike():
    mtime = 1772546690.0  # when knife_status.txt was written: web-01 14 minutes before
    search = chef.parse_knife((INVENTORY / "chef" / "knife_search_node.attributes.json").read_text(), mtime)
    status = chef.parse_knife((INVENTORY / "chef" / "knife_status.json").read_text(), mtime)
    text = chef.parse_knife((INVENTORY / "chef" / "knife_status.txt").read_text(), mtime)
    assert (
        set(search) == set(status) == set(text) == {"web-01", "web-02", "db-01", "batch-03", "build-agent-07"}
    )
    assert search["batch-03"]["ohai_time"] == status["batch-03"]["ohai_time"] == 1764564500.7741241
    assert (
        text["batch-03"]["ohai_time"] == mtime - 2217 * 3600 and text["build-agent-07"]["ohai_time"] is None
    )
    items = {name: chef.node_item(name, attrs) for name, attrs in status.items()}
    assert (
        items["build-agent-07"].last_activity is None
        and items["build-agent-07"].labels["converged"] == "false"
    )
    assert items["db-01"].labels == {
        "node": "db-01",
        "env": "production",
        "platform": "ubuntu 22.04",
        "fqdn": "db-01.acme.example",
        "ip": "10.20.40.11",
        "converged": "true",
        "tags": "",
    }
    tagged = chef.node_item("x", {"ohai_time": 1.0, "tags": ["web", "owner:alice"]})
    assert tagged.owner == "alice"


def test_artifactory_aql_and_usage_rows_become_the_same_items():
    aql = json.loads((INVENTORY / "artifactory" / "aql_items_not_downloaded_since.json").read_text())[
        "results"
    ]
    usage = json.loads((INVENTORY / "artifactory" / "search_usage_not_used_since.json").read_text())[
        "results"
    ]
    by_aql = [artifactory.item_from_aql(r) for r in aql]
    by_usage = [artifactory.item_from_usage(r) for r in usage]
    assert (
        [i.fingerprint for i in by_aql]
        == [i.fingerprint for i in by_usage]
        == [
            "artifact:libs-release-local/com/acme/web-api/1.1.0/web-api-1.1.0.jar",
            "artifact:libs-release-local/com/acme/legacy-batch/0.9.3/legacy-batch-0.9.3.jar",
        ]
    )
    assert [i.last_activity for i in by_aql] == [i.last_activity for i in by_usage]
    assert by_aql[1].labels["downloads"] == "3" and by_aql[1].activity_by == "anonymous"
    legacy = inventory.to_signal(
        by_aql[1], "artifacts", "r1", by_aql[1].last_activity + 400 * 86400, 90 * 86400
    )
    assert legacy.status == "idle" and legacy.labels["idle_days"] == "400"
    assert legacy.summary == (
        "libs-release-local/com/acme/legacy-batch/0.9.3/legacy-batch-0.9.3.jar: "
        "not downloaded for 400 days"
    )
    assert artifactory.criteria(["libs-*", "docker-local"], 90) == (
        'items.find({"$and":[{"type":"file"},{"created":{"$before":"90d"}},{"$or":[{"stat.downloaded":'
        '{"$before":"90d"}},{"stat.downloads":{"$eq":null}}]},{"$or":[{"repo":{"$match":"libs-*"}},'
        '{"repo":"docker-local"}]}]})'
    )


def test_a_client_never_puts_its_token_in_an_error():
    from router.core.outcomes import Retryable

    secret = "ghp_0123456789abcdef"
    client = Client(
        "github", "http://127.0.0.1:9", {"Authorization": f"Bearer {secret}"}, timeout=0.5, secrets=(secret,)
    )
    with pytest.raises(Retryable) as failed:
        client.request("GET", f"/repos/x/y?access_token={secret}")
    assert secret not in str(failed.value) and str(failed.value).startswith(
        "github: GET /repos/x/y: cannot connect"
    )
