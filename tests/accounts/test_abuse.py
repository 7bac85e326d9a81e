"""Regression tests for the abuse review: secrets out of the audit log, ordinary input never a 500, hostile JSON,
throttling without a valid key, request ids and the actor of a refused request."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts import audit
from accounts.models import AuditEntry, Role
from accounts.services import reviewer_create
from moderation.models import ConsentStatus
from tests.conftest import PartnerActor, ReviewerActor, bearer_client, make_actor, make_consent

pytestmark = pytest.mark.django_db

EMOJI = "\U0001f600"


def _entry_for(response) -> AuditEntry:  # type: ignore[no-untyped-def]
    return AuditEntry.objects.get(kind="request", request_id=response["X-Request-ID"])


def _code(response) -> str:  # type: ignore[no-untyped-def]
    return response.json()["error"]["code"]


# --- 3. Secrets in the audit log -------------------------------------------------------------------------------


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            yield from _patterns(item, prefix + str(item.pattern))
        else:
            yield prefix + str(item.pattern), item


def _secret_routes() -> dict[str, list[str]]:
    """Every URL pattern with a parameter whose name says it carries a secret, and those parameter names."""
    found: dict[str, list[str]] = {}
    for route, _ in _patterns(get_resolver()):
        names = [n for n in re.findall(r"<(?:\w+:)?(\w+)>", route) if audit._SECRET_KEY_PATTERN.search(n)]
        if names:
            found[route] = names
    return found


def test_the_known_secret_carrying_routes_are_exactly_these() -> None:
    # A new route with a secret in its path shows up here, and the walk below then checks it.
    assert set(_secret_routes()) == {
        "v1/media/videos/<str:token>",
        "revoke/<str:token>",
        "capture/<str:token>",
        "capture/<str:token>/start",
        "capture/<str:token>/chunks/<int:seq>",
        "capture/<str:token>/finish",
        "capture/<str:token>/decline",
    }


@pytest.mark.parametrize("route", sorted(_secret_routes()))
@pytest.mark.parametrize("method", ["get", "post"])
def test_no_secret_from_a_url_reaches_the_audit_log(route: str, method: str) -> None:
    secret = "Zx9" + signing.dumps({"j": "not-a-job"}, salt="probe")
    fill = lambda m: secret if audit._SECRET_KEY_PATTERN.search(m.group(1)) else "1"  # noqa: E731
    path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", fill, route)
    response = getattr(Client(), method)(path)
    assert response.status_code < 500
    entry = _entry_for(response)
    assert secret not in entry.path and secret not in json.dumps(entry.payload)
    marker = audit.redact_path(path)
    assert entry.path == marker and "[redacted:" in marker
    # The same secret always gives the same marker, so entries about one link can be linked.
    assert audit.redact_path(path) == marker != audit.redact_path(path + "x")


def test_a_secret_in_a_path_that_routes_nowhere_is_still_redacted() -> None:
    secret = "Zx9" + signing.dumps({"c": "probe"}, salt="probe")
    response = Client().post(f"/capture/{secret}/chunks/not-a-number")
    assert response.status_code == 404
    entry = _entry_for(response)
    assert secret not in entry.path and entry.path.endswith("/chunks/not-a-number") and "[redacted:" in entry.path


def test_a_secret_route_refused_before_routing_is_still_redacted(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_MAX_REQUEST_BYTES = 2048
    token = "subject-secret-token-value-1234567890"
    response = Client().generic("POST", f"/revoke/{token}", b"x", content_type="text/plain", CONTENT_LENGTH="999999")
    assert response.status_code == 413
    assert token not in _entry_for(response).path


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abcdefghijklmnopqrstuvwxyz0123456789",
        "Bearer nodot-but-long-secret-value",
        "Bearer a b c",
        "Bearer ab.cd",
    ],
)
def test_a_malformed_credential_logs_only_its_length(db: None, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/v1/partner")
    assert response.status_code == 401
    payload = _entry_for(response).payload
    assert "key_prefix" not in payload
    assert payload["credential_length"] == len(header.split(" ", 1)[1])
    assert all(part not in json.dumps(payload) for part in header.split()[1:] if len(part) > 4)


# --- 4. Ordinary-length input never fails on the audit payload -------------------------------------------------


def test_a_partner_can_revoke_with_a_long_emoji_reason(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner, status="pending")
    response = alice.client.post(f"/v1/consents/{consent.id}/revoke", {"reason": EMOJI * 500}, format="json")
    assert response.status_code == 200, response.content
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.REVOKED
    event = AuditEntry.objects.get(event_type="consent.revoked", target_id=str(consent.id))
    assert len(json.dumps(event.payload).encode()) <= audit.MAX_PAYLOAD_BYTES


def test_long_reviewer_reasons_and_comments_are_accepted(alice: PartnerActor, reviewer: ReviewerActor) -> None:
    suspended = reviewer.client.post(
        f"/v1/review/partners/{alice.partner.id}/suspend", {"reason": EMOJI * 1000}, format="json"
    )
    assert suspended.status_code == 200, suspended.content
    consent = make_consent(make_actor("Carol").partner, status="needs_review")
    decided = reviewer.client.post(
        f"/v1/review/consents/{consent.id}/decide", {"decision": "approve", "comment": "c" * 5000}, format="json"
    )
    assert decided.status_code == 200, decided.content
    too_long = reviewer.client.post(
        f"/v1/review/consents/{consent.id}/decide", {"decision": "approve", "comment": "c" * 5001}, format="json"
    )
    assert too_long.status_code == 400 and _code(too_long) == "validation_error"


def test_audit_filters_of_any_accepted_length_export(reviewer: ReviewerActor) -> None:
    assert reviewer.client.get("/v1/review/audit", {"path": EMOJI * 499}).status_code == 200
    export = reviewer.client.get("/v1/review/audit/export", {"path": EMOJI * 499})
    assert export.status_code == 200
    b"".join(export.streaming_content)
    for url in ("/v1/review/audit", "/v1/review/audit/export"):
        response = reviewer.client.get(url, {"cursor": "a" * 5000})
        assert response.status_code == 400 and _code(response) == "validation_error"


def test_a_long_non_ascii_webhook_url_is_stored(alice: PartnerActor, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_WEBHOOK_ALLOW_PRIVATE = True
    url = "https://example.com/" + "\u00e9" * 1880
    response = alice.client.post("/v1/webhooks", {"url": url}, format="json")
    assert response.status_code == 201, response.content


def test_a_transcript_up_to_the_documented_maximum_is_accepted(
    alice: PartnerActor,
    settings,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from tests.generation.conftest import post_job

    settings.MEDIA_ROOT = tmp_path / "media"
    assert post_job(alice, transcript="a" * 4000).status_code == 202
    over = post_job(alice, transcript="a" * 5001)
    assert over.status_code == 400 and _code(over) == "validation_error"


# --- 5. Hostile JSON -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 940, 5000])
def test_deeply_nested_json_is_400_on_public_and_partner_endpoints(alice: PartnerActor, depth: int) -> None:
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        public = APIClient().post("/v1/partner-applications", body, content_type="application/json")
        assert public.status_code == 400 and _code(public) == "malformed_request"
        partner = alice.client.post("/v1/webhooks", body, content_type="application/json")
        assert partner.status_code == 400 and _code(partner) == "malformed_request"


@pytest.mark.parametrize("body", ["[]", '"x"', "null", "42", "[{}]"])
def test_json_bodies_that_are_not_objects_are_400(alice: PartnerActor, reviewer: ReviewerActor, body: str) -> None:
    for client, url in ((alice.client, "/v1/subjects"), (reviewer.client, "/v1/review/protected-persons")):
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400, (url, body, response.content)
        assert _code(response) == "validation_error"


# --- 7. Throttling without a valid key -------------------------------------------------------------------------


def test_requests_without_a_valid_key_are_throttled_per_address(alice: PartnerActor, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from accounts.throttling import TalkgateRateThrottle

    monkeypatch.setitem(TalkgateRateThrottle.THROTTLE_RATES, "anon", "4/min")
    statuses = [APIClient().get("/v1/partner").status_code for _ in range(2)]
    statuses += [bearer_client("zzzz.wrong").get("/v1/partner").status_code for _ in range(3)]
    assert statuses == [401, 401, 401, 401, 429]
    throttled = bearer_client("zzzz.wrong").get("/v1/partner")
    assert _code(throttled) == "throttled" and int(throttled["Retry-After"]) >= 1
    # Another address has its own budget, and a valid key from the throttled address still works.
    assert APIClient().get("/v1/partner", REMOTE_ADDR="198.51.100.9").status_code == 401
    assert alice.client.get("/v1/partner").status_code == 200


def test_the_revocation_page_is_throttled_per_address(db: None, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from accounts.throttling import AddressRateThrottle

    monkeypatch.setitem(AddressRateThrottle.THROTTLE_RATES, "revoke", "3/min")
    statuses = [Client().get(f"/revoke/guess-{i}").status_code for i in range(4)]
    assert statuses == [404, 404, 404, 429]
    assert Client(REMOTE_ADDR="198.51.100.9").get("/revoke/guess-x").status_code == 404


# --- 8. Who a refused request came from --------------------------------------------------------------------------


def test_a_413_names_the_key_that_sent_it(alice: PartnerActor) -> None:
    response = alice.client.generic(
        "POST", "/v1/webhooks", b"{}", content_type="application/json", CONTENT_LENGTH=str(10**8)
    )
    assert response.status_code == 413
    entry = _entry_for(response)
    assert entry.actor == f"key:{alice.key.id}" and entry.partner_id == alice.partner.id


def test_a_413_with_a_wrong_key_stays_anonymous(db: None) -> None:
    response = bearer_client("zzzz.wrong").generic(
        "POST", "/v1/webhooks", b"{}", content_type="application/json", CONTENT_LENGTH=str(10**8)
    )
    assert response.status_code == 413 and _entry_for(response).actor == "anonymous"


def test_reviewer_names_are_unique_in_their_normal_form(db: None) -> None:
    from core.errors import Conflict

    reviewer_create(username="rita", email="r@x.example", password=None, role=Role.REVIEWER)
    for look_alike in ("Rita", "\uff52ita"):
        with pytest.raises(Conflict):
            reviewer_create(username=look_alike, email="r2@x.example", password=None, role=Role.REVIEWER)
