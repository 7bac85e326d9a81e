"""Bad input gets a 4xx with a machine-readable code, never a 500, and nothing stored is touched."""

from __future__ import annotations

import pytest

from accounts.models import ApiKey
from tests.conftest import PartnerActor

pytestmark = pytest.mark.django_db


def _error(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "request_id"} <= set(body["error"])
    assert body["error"]["request_id"] == response["X-Request-ID"]
    return body["error"]


def test_malformed_json_is_400(alice: PartnerActor) -> None:
    response = alice.client.generic("POST", "/v1/keys", b'{"name": "x", ', content_type="application/json")
    assert response.status_code == 400 and _error(response)["code"] == "malformed_request"


def test_json_that_is_not_an_object_is_400(alice: PartnerActor) -> None:
    for body in (b"[1, 2]", b'"text"', b"null", b"42"):
        response = alice.client.generic("POST", "/v1/keys", body, content_type="application/json")
        assert response.status_code == 400, body
        assert _error(response)["code"] == "validation_error"


def test_wrong_content_type_is_415(alice: PartnerActor) -> None:
    response = alice.client.generic("POST", "/v1/keys", b"<key/>", content_type="application/xml")
    assert response.status_code == 415 and _error(response)["code"] == "unsupported_media_type"


def test_unknown_fields_are_refused_by_name(alice: PartnerActor) -> None:
    response = alice.client.post("/v1/keys", {"name": "x", "scopes": ["read"], "admin": True}, format="json")
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "unknown_field" and "admin" in error["details"]
    assert ApiKey.objects.count() == 1


def test_oversized_body_is_413_before_parsing(alice: PartnerActor, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_MAX_REQUEST_BYTES = 4096
    response = alice.client.generic("POST", "/v1/keys", b"a" * 10_000, content_type="multipart/form-data; boundary=zzz")
    assert response.status_code == 413 and _error(response)["code"] == "request_too_large"


def test_bad_content_length_is_400(alice: PartnerActor) -> None:
    response = alice.client.generic("POST", "/v1/keys", b"{}", content_type="application/json", CONTENT_LENGTH="abc")
    assert response.status_code == 400 and _error(response)["code"] == "bad_content_length"


def test_unknown_endpoint_and_wrong_method_are_json(alice: PartnerActor) -> None:
    missing = alice.client.get("/v1/nothing-here")
    assert missing.status_code == 404 and _error(missing)["code"] == "not_found"
    wrong = alice.client.put("/v1/keys", {}, format="json")
    assert wrong.status_code == 405 and _error(wrong)["code"] == "method_not_allowed"


def test_non_uuid_ids_are_404_not_500(alice: PartnerActor) -> None:
    assert alice.client.get("/v1/keys/1%27%20OR%201=1").status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "x\x00y", "scopes": ["read"]},
        {"name": "x" * 10_000, "scopes": ["read"]},
        {"name": {"$gt": ""}, "scopes": ["read"]},
        {"name": "ok", "scopes": "read"},
        {"name": "ok", "scopes": [["read"]]},
        {"name": "ok", "scopes": ["read"], "expires_at": "tomorrow"},
        {"name": "ok", "scopes": ["read"] * 50},
    ],
)
def test_hostile_values_are_400_and_nothing_is_stored(alice: PartnerActor, payload: dict) -> None:
    response = alice.client.post("/v1/keys", payload, format="json")
    assert response.status_code == 400, response.content
    assert _error(response)["code"] == "validation_error"
    assert ApiKey.objects.count() == 1


def test_non_ascii_authorization_header_is_401(db: None, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/v1/partner", HTTP_AUTHORIZATION="Bearer t\u00e9st.s\u00e9cret")
    assert response.status_code == 401 and _error(response)["code"] in {"api_key_malformed", "api_key_invalid"}


def test_internal_errors_are_json_500(alice: PartnerActor, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from accounts import apis

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(apis.selectors, "api_key_list", boom)
    alice.client.raise_request_exception = False
    response = alice.client.get("/v1/keys")
    assert response.status_code == 500 and _error(response)["code"] == "internal_error"
