"""The new endpoints are in `/openapi.json` with their schemas: bodies, query parameters, answers."""
from __future__ import annotations


def test_the_write_api_is_documented_from_its_schemas(client, env):
    spec = client.get("/openapi.json").json
    paths = spec["paths"]
    assert set(paths["/api/snoozes"]) == {"get", "post"} and set(paths["/api/snoozes/{snooze_id}"]) == {"get", "delete"}
    assert set(paths["/api/deploys"]) == {"get", "post"}
    assert {"post"} == set(paths["/api/deploys/{request_id}/approve"]) == set(paths["/api/deploys/{request_id}/deny"])

    alerts = paths["/api/alerts"]["get"]
    assert alerts["tags"] == ["alerts"] and alerts["summary"].startswith("What is firing now")
    assert {p["name"] for p in alerts["parameters"]} == {"filter", "acked", "snoozed", "inhibited", "limit"}

    create = paths["/api/snoozes"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(spec["components"]["schemas"][body]["properties"]) == {
        "user", "room", "matchers", "alert", "duration", "ends_at", "reason"}
    assert spec["components"]["schemas"][body]["required"] == ["user"]
    assert "422" in create["description"]

    ask = paths["/api/deploys"]["post"]
    body = ask["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(spec["components"]["schemas"][body]["required"]) == {"user", "app", "env"}
    approve = paths["/api/deploys/{request_id}/approve"]["post"]
    assert approve["tags"] == ["deploys"] and "(their own\napproval does not count)" in approve["description"]
    assert {"Alert", "Snooze", "Deploy"} <= set(spec["components"]["schemas"])
