"""API keys: hashed at rest, refused when revoked/expired/suspended, scoped, per-partner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import ApiKey, AuditEntry, PartnerStatus, Scope
from core.errors import Forbidden
from tests.conftest import PartnerActor, bearer_client, make_actor

pytestmark = pytest.mark.django_db


def _table_dump() -> str:
    """Every column of every row of the key and audit tables, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in (ApiKey._meta.db_table, AuditEntry._meta.db_table):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_key_is_shown_once_as_prefix_dot_secret_and_only_a_hash_is_stored(alice: PartnerActor) -> None:
    response = alice.client.post("/v1/keys", {"name": "ci", "scopes": ["read"]}, format="json")
    assert response.status_code == 201
    token = response.json()["key"]
    prefix, _, secret = token.partition(".")
    assert prefix == response.json()["prefix"] and len(secret) >= 40
    dump = _table_dump()
    assert secret not in dump, "the secret must not be stored anywhere, audit log included"
    assert prefix in dump
    # Listing and reading back never show the secret again.
    listed = alice.client.get("/v1/keys").json()["results"]
    assert all("key" not in item for item in listed)
    assert secret not in alice.client.get(f"/v1/keys/{response.json()['id']}").content.decode()
    # ...and the key works.
    assert bearer_client(token).get("/v1/partner").status_code == 200


def test_wrong_secret_with_a_real_prefix_is_refused(alice: PartnerActor) -> None:
    forged = f"{alice.key.prefix}.{'x' * 43}"
    response = bearer_client(forged).get("/v1/partner")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_invalid"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("token", ["nodot", ".secretonly", "prefix.", "a" * 40 + ".b"])
def test_malformed_tokens_are_refused_with_a_code(db: None, token: str) -> None:
    response = bearer_client(token).get("/v1/partner")
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"api_key_malformed", "api_key_invalid"}


def test_missing_credentials_get_401_not_authenticated(anon) -> None:  # type: ignore[no-untyped-def]
    response = anon.get("/v1/partner")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_revoked_key_is_refused(alice: PartnerActor) -> None:
    response = alice.client.post(f"/v1/keys/{alice.key.id}/revoke", {"reason": "rotated"}, format="json")
    assert response.status_code == 200 and response.json()["revoked_at"]
    refused = alice.client.get("/v1/partner")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_revoked"


def test_expired_key_is_refused(alice: PartnerActor) -> None:
    ApiKey.objects.filter(id=alice.key.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = alice.client.get("/v1/partner")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_expired"


def test_key_with_future_expiry_works_and_past_expiry_cannot_be_created(alice: PartnerActor) -> None:
    future = (timezone.now() + timedelta(days=1)).isoformat()
    ok = alice.client.post("/v1/keys", {"name": "short", "scopes": ["read"], "expires_at": future}, format="json")
    assert ok.status_code == 201
    assert bearer_client(ok.json()["key"]).get("/v1/partner").status_code == 200
    past = (timezone.now() - timedelta(days=1)).isoformat()
    bad = alice.client.post("/v1/keys", {"name": "old", "scopes": ["read"], "expires_at": past}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_expiry"


@pytest.mark.parametrize("status", [PartnerStatus.SUSPENDED, PartnerStatus.APPLIED, PartnerStatus.REJECTED])
def test_keys_of_a_partner_that_is_not_approved_are_refused(db: None, status: str) -> None:
    actor = make_actor("Carol Media")
    actor.partner.status = status
    actor.partner.save()
    response = actor.client.get("/v1/partner")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == f"partner_{status}"


def test_scope_is_enforced(db: None) -> None:
    reader = make_actor("Dana Reads", scopes=[Scope.READ])
    response = reader.client.get("/v1/keys")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_missing"
    assert "keys" in response.json()["error"]["message"]
    # The read scope still gets the partner's own account.
    assert reader.client.get("/v1/partner").status_code == 200


def test_a_key_cannot_mint_a_key_with_scopes_it_lacks(db: None) -> None:
    manager = make_actor("Erin Keys", scopes=[Scope.KEYS, Scope.READ])
    response = manager.client.post("/v1/keys", {"name": "x", "scopes": ["generate"]}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_escalation"
    ok = manager.client.post("/v1/keys", {"name": "x", "scopes": ["read"]}, format="json")
    assert ok.status_code == 201


def test_the_service_refuses_scope_escalation_whoever_calls_it(db: None) -> None:
    manager = make_actor("Erin Keys", scopes=[Scope.KEYS, Scope.READ])
    with pytest.raises(Forbidden) as refused:
        services.api_key_create(partner=manager.partner, name="x", scopes=["read", "webhooks"], granted_by=manager.key)
    assert refused.value.code == "scope_escalation" and refused.value.details == ["webhooks"]
    assert not ApiKey.objects.filter(name="x").exists()


def test_unknown_scope_is_a_validation_error(alice: PartnerActor) -> None:
    response = alice.client.post("/v1/keys", {"name": "x", "scopes": ["admin"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "scopes" in response.json()["error"]["details"]


def test_last_used_at_is_recorded(alice: PartnerActor) -> None:
    ApiKey.objects.filter(id=alice.key.id).update(last_used_at=None)
    before = timezone.now()
    assert alice.client.get("/v1/partner").status_code == 200
    alice.key.refresh_from_db()
    assert alice.key.last_used_at is not None and alice.key.last_used_at >= before


def test_reviewer_key_cannot_carry_partner_scopes(reviewer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.DomainError) as raised:
        services.api_key_create(user=reviewer.user, name="x", scopes=[Scope.GENERATE])
    assert raised.value.code == "invalid_scopes"


def test_revoking_twice_keeps_the_first_revocation(alice: PartnerActor) -> None:
    first = alice.client.post(f"/v1/keys/{alice.key.id}/revoke", {}, format="json")
    assert first.status_code == 200
    other = make_actor("Alice Learning 2")
    # The revoked key no longer authenticates, so a second revoke must come from another key of the partner.
    _, token = services.api_key_create(partner=alice.partner, name="second", scopes=["keys"])
    again = bearer_client(token).post(f"/v1/keys/{alice.key.id}/revoke", {"reason": "again"}, format="json")
    assert again.status_code == 200
    assert again.json()["revoked_at"] == first.json()["revoked_at"]
    assert other.client.get("/v1/partner").status_code == 200
