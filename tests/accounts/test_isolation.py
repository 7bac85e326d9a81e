"""Tenant isolation: Alice's partner never sees or touches anything of Bob's partner."""

from __future__ import annotations

import pytest

from accounts.models import ApiKey
from tests.conftest import PartnerActor

pytestmark = pytest.mark.django_db


def test_key_listing_shows_only_the_callers_keys(alice: PartnerActor, bob: PartnerActor) -> None:
    ids = {item["id"] for item in alice.client.get("/v1/keys").json()["results"]}
    assert ids == {str(alice.key.id)}
    assert str(bob.key.id) not in ids


def test_alice_cannot_read_bobs_key(alice: PartnerActor, bob: PartnerActor) -> None:
    response = alice.client.get(f"/v1/keys/{bob.key.id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "api_key_not_found"


def test_alice_cannot_revoke_bobs_key(alice: PartnerActor, bob: PartnerActor) -> None:
    response = alice.client.post(f"/v1/keys/{bob.key.id}/revoke", {"reason": "mine now"}, format="json")
    assert response.status_code == 404
    assert ApiKey.objects.get(id=bob.key.id).revoked_at is None
    assert bob.client.get("/v1/partner").status_code == 200


def test_partner_endpoint_answers_with_the_callers_partner_only(alice: PartnerActor, bob: PartnerActor) -> None:
    assert alice.client.get("/v1/partner").json()["partner"]["id"] == str(alice.partner.id)
    assert bob.client.get("/v1/partner").json()["partner"]["id"] == str(bob.partner.id)


def test_partners_cannot_read_the_audit_log_about_each_other(alice: PartnerActor, bob: PartnerActor) -> None:
    bob.client.get("/v1/keys")
    response = alice.client.get(f"/v1/review/audit?partner={bob.partner.id}")
    assert response.status_code == 403
    assert str(bob.partner.id) not in response.content.decode()
