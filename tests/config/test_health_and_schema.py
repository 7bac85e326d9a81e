"""Health probes and the OpenAPI schema/docs."""

from __future__ import annotations

import re

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok(anon) -> None:  # type: ignore[no-untyped-def]
    response = anon.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(anon) -> None:  # type: ignore[no-untyped-def]
    response = anon.get("/readyz")
    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"]


def test_readyz_is_503_when_the_broker_is_unreachable(anon, settings) -> None:  # type: ignore[no-untyped-def]
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = anon.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert response.json()["checks"]["database"]["ok"] is True


EXPECTED_PATHS = {
    "/healthz": {"get"},
    "/readyz": {"get"},
    "/v1/partner-applications": {"post"},
    "/v1/partner-applications/{partner_id}/claim": {"post"},
    "/v1/partner": {"get"},
    "/v1/keys": {"get", "post"},
    "/v1/keys/{key_id}": {"get"},
    "/v1/keys/{key_id}/revoke": {"post"},
    "/v1/review/partners": {"get"},
    "/v1/review/partners/{partner_id}": {"get"},
    "/v1/review/partners/{partner_id}/approve": {"post"},
    "/v1/review/partners/{partner_id}/reject": {"post"},
    "/v1/review/partners/{partner_id}/suspend": {"post"},
    "/v1/review/partners/{partner_id}/reinstate": {"post"},
    "/v1/review/partners/{partner_id}/limits": {"patch"},
    "/v1/review/audit": {"get"},
    "/v1/review/audit/export": {"get"},
    "/v1/review/audit/verify": {"post"},
    "/v1/generations": {"get", "post"},
    "/v1/generations/{job_id}": {"get"},
    "/v1/generations/{job_id}/cancel": {"post"},
    "/v1/generations/{job_id}/video": {"get"},
    "/v1/media/videos/{token}": {"get"},
    "/v1/uploads": {"post"},
    "/v1/usage": {"get"},
    "/v1/webhooks": {"get", "post"},
    "/v1/webhooks/{endpoint_id}": {"get", "delete"},
    "/v1/webhooks/{endpoint_id}/rotate-secret": {"post"},
    "/v1/webhooks/{endpoint_id}/deliveries": {"get"},
    "/v1/consents/{consent_id}/capture-sessions": {"post"},
    "/v1/capture-sessions/{session_id}": {"get"},
}


def test_schema_lists_every_endpoint(anon) -> None:  # type: ignore[no-untyped-def]
    response = anon.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    paths = {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()}
    for path, methods in EXPECTED_PATHS.items():
        assert path in paths, path
        assert methods <= paths[path], (path, paths[path])
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["scheme"] == "bearer"


def test_bodiless_actions_advertise_no_request_body(anon) -> None:  # type: ignore[no-untyped-def]
    paths = yaml.safe_load(anon.get("/api/schema/").content)["paths"]
    for path in (
        "/v1/webhooks/{endpoint_id}/rotate-secret",
        "/v1/generations/{job_id}/cancel",
        "/v1/review/audit/verify",
    ):
        assert "requestBody" not in paths[path]["post"], path


def test_docs_page_loads_its_assets_locally(anon) -> None:  # type: ignore[no-untyped-def]
    page = anon.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'src="([^"]+\.js)"', html)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    for asset in assets:
        assert anon.get(asset).status_code == 200, asset


def test_lists_are_documented_as_envelopes_and_errors_with_the_error_body(anon) -> None:  # type: ignore[no-untyped-def]
    schema = yaml.safe_load(anon.get("/api/schema/").content)
    components = schema["components"]["schemas"]

    def resolve(node: dict) -> dict:
        return components[node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node

    lists: set[tuple[str, str]] = set()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for code, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    body = resolve(media.get("schema", {}))
                    # No endpoint answers a bare JSON array: lists come in {results, next?, previous?}.
                    assert body.get("type") != "array", (method, path, code)
                    if code.startswith("2") and "results" in body.get("properties", {}):
                        lists.add((method, path))
                    if code[0] == "4" and media is response["content"].get("application/json"):
                        assert media["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path, code)
            codes = set(operation["responses"])
            assert {"400", "413"} <= codes, (method, path)
            if path not in ("/healthz", "/readyz"):
                assert "429" in codes, (method, path)
            if path.startswith(("/v1/review/", "/v1/keys", "/v1/generations", "/v1/subjects", "/v1/webhooks")):
                assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
    assert len(lists) == 11, sorted(lists)  # 8 cursor-paginated, 3 short lists in {"results": [...]}
    assert set(components["Error"]["properties"]["error"]["required"]) == {"code", "message", "request_id"}
