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


def test_each_operation_lists_the_statuses_it_answers(client):
    """No catch-all `default`: what an operation answers is listed, so a client (and schemathesis,
    tests/api/test_schemathesis.py) can hold the server to it."""
    paths = client.get("/openapi.json").json["paths"]
    assert all("default" not in op["responses"] for ops in paths.values() for op in ops.values())
    codes = lambda path, method: set(paths[path][method]["responses"])  # noqa: E731
    assert codes("/api/snoozes", "post") == {"201", "400", "401", "403", "404", "409", "413", "414", "422", "502", "503"}
    assert codes("/api/snoozes/{snooze_id}", "get") == {"200", "401", "404", "414", "503"}
    assert codes("/hooks/generic", "post") == {"202", "400", "401", "413", "414", "415", "503"}
    assert codes("/healthz", "get") == {"200", "414"}                 # touches no Redis: never a 503
    assert codes("/api/v2/alerts", "post") == {"200", "400", "401", "413", "414", "415", "503"}

    error = paths["/api/audit"]["get"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert error["required"] == ["error", "status"]
    am_error = paths["/api/v2/silences"]["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert am_error == {"type": "string"}                                # Alertmanager's error shape
    assert "content" not in paths["/api/v2/silence/{silence_id}"]["get"]["responses"]["404"]   # a bare 404
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
